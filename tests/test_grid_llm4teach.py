"""LLM4Teach's four levels follow the authors' rules: room, doors, keys, lava, mission, limit,
and the episode is won by opening the door (the expert's plans are checked with every level in
test_grid_expert.py)."""

from __future__ import annotations

import gymnasium as gym
import pytest

pytest.importorskip("minigrid", reason="StepGrid-v0 needs the grid extra: pip install -e '.[grid]'")

import stepagent_envs  # noqa: E402,F401
from stepagent_envs.grid.llm4teach_levels import LLM4TEACH_LEVELS  # noqa: E402


def layout(level: str, seed: int):
    engine = gym.make(f"{level}-v0").unwrapped
    engine.reset(seed=seed)
    cells = {(x, y): engine.grid.get(x, y) for x in range(engine.width) for y in range(engine.height)}
    objects = {pos: obj for pos, obj in cells.items() if obj is not None and obj.type != "wall"}
    walls = [pos for pos, obj in cells.items() if obj is not None and obj.type == "wall"]
    room = (max(x for x, _ in walls) + 1, max(y for _, y in walls) + 1)
    return engine, objects, room


def kinds(objects, kind):
    return {pos: obj for pos, obj in objects.items() if obj.type == kind}


@pytest.mark.parametrize("level", LLM4TEACH_LEVELS)
def test_every_layout_follows_the_authors_rules(level):
    sizes = set()
    for seed in range(150):
        engine, objects, (width, height) = layout(level, seed)
        sizes.add((width, height))
        assert engine.mission == "open the door" and engine.max_steps == engine.width * engine.height
        doors, keys, lava = kinds(objects, "door"), kinds(objects, "key"), kinds(objects, "lava")
        assert all(d.is_locked and (x in (0, width - 1) or y in (0, height - 1)) for (x, y), d in doors.items())
        assert len({d.color for d in doors.values()}) == 1 and all(0 < engine.agent_pos[i] < (width, height)[i] - 1
                                                                    for i in (0, 1))
        color = next(iter(doors.values())).color
        inside = {(min(max(x, 1), width - 2), min(max(y, 1), height - 2)) for x, y in doors}
        if level == "LLM4Teach-TwoDoor":
            (a, b) = doors
            assert (width, height) == (20, 20) and (a[0] + b[0] == 19 or a[1] + b[1] == 19)
            assert [k.color for k in keys.values()] == [color] and set(keys) <= {(9, 9), (9, 10), (10, 9), (10, 10)}
            continue
        assert len(doors) == 1 and 5 <= width <= 10 and 5 <= height <= 10
        if level == "LLM4Teach-ColoredDoorKey":
            assert color == "blue" and 2 <= len(keys) <= 3 and not set(keys) & inside
            assert sorted(k.color for k in keys.values()) == ["blue"] + ["red"] * (len(keys) - 1)
        else:
            assert [k.color for k in keys.values()] == [color]
        assert len(lava) == (level == "LLM4Teach-LavaDoorKey") and not set(lava) & inside
    if level != "LLM4Teach-TwoDoor":
        assert len(sizes) > 20  # room sizes vary as the authors' do


def test_opening_the_door_with_the_matching_key_wins():
    env = gym.make("StepGrid-v0", level="LLM4Teach-ColoredDoorKey", split="test")
    _, info = env.reset(options={"task_id": "LLM4Teach-ColoredDoorKey/3"})
    steps = 0
    while not info["won"]:
        obs, reward, terminated, _, info = env.step(env.unwrapped.expert_action())
        steps += 1
    assert terminated and 0 < reward < 1 and info["score"] == reward and "opened it" in obs
    engine = env.unwrapped.engine
    assert engine.carrying.color == "blue" and engine.step_count == steps
