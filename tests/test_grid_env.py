"""StepGrid-v0: the contract checker on every level family, splits and task ids, the view in
words, action feedback, invalid actions, rewards and endings."""

import copy
import pickle

import gymnasium as gym
import pytest

pytest.importorskip("minigrid", reason="StepGrid-v0 needs the minigrid package: pip install minigrid")

import stepagent_envs  # noqa: E402,F401
from stepagent_envs.grid.env import StepGridEnv  # noqa: E402
from stepagent_envs.grid.levels import LEVELS, SPLITS  # noqa: E402
from stepagent_envs.grid.text import ACTIONS, view_lines  # noqa: E402
from stepagent_envs.testing import check_text_env  # noqa: E402


def make(level="MiniGrid-DoorKey-5x5", split="test", **kwargs):
    return gym.make("StepGrid-v0", level=level, split=split, **kwargs)


def follow_expert_until(env, action):
    """Follow the expert until its next action is ``action``."""
    while (expert := env.unwrapped.expert_action()) != action:
        env.step(expert)


@pytest.mark.parametrize("level", ["MiniGrid-DoorKey-5x5", "MiniGrid-LavaGapS5", "BabyAI-GoToLocal",
                                   "BabyAI-UnlockPickup"])
def test_check_text_env(level):
    check_text_env(make(level), env_fn=lambda: make(level), oracle_episodes=5)


def test_reset_shows_the_actions_mission_view_and_info():
    env = make()
    obs, info = env.reset(seed=0)
    lines = obs.splitlines()
    assert lines[0] == f"Actions: {', '.join(ACTIONS)}."
    assert lines[1] == "Mission: use the key to open the door and then get to the goal"
    assert lines[2] in {"You face east.", "You face south.", "You face west.", "You face north."}
    assert lines[-1] == "You carry nothing." and lines[-2].startswith("In front of you: ")
    assert info == {"task": "use the key to open the door and then get to the goal", "task_id": info["task_id"],
                    "valid_actions": list(ACTIONS), "won": False, "lost": False, "score": 0.0, "invalid": False,
                    "level": "MiniGrid-DoorKey-5x5"}
    level, seed = info["task_id"].split("/")
    assert level == "MiniGrid-DoorKey-5x5" and int(seed) in SPLITS["test"]
    assert env.spec.max_episode_steps is None and env.unwrapped.engine.max_steps == 250
    assert env.render() is None and make(render_mode="ansi").unwrapped.render() == ""


def test_splits_are_disjoint_seed_ranges_and_resets_draw_from_them():
    assert [(s.start, s.stop) for s in SPLITS.values()] == [(0, 1_000), (1_000, 2_000), (2_000, 102_000)]
    for split, seeds in SPLITS.items():
        env = make(split=split)
        assert env.unwrapped.task_ids()[:2] == [f"MiniGrid-DoorKey-5x5/{seeds[0]}", f"MiniGrid-DoorKey-5x5/{seeds[1]}"]
        assert len(env.unwrapped.task_ids()) == len(seeds)
        drawn = {int(env.reset(seed=seed)[1]["task_id"].split("/")[1]) for seed in range(20)}
        assert len(drawn) > 15 and drawn <= set(seeds)


@pytest.mark.parametrize("level", LEVELS)
def test_a_task_id_is_the_minigrid_layout_of_its_seed(level):
    env = make(level)
    obs, info = env.reset(seed=7)
    again, info_again = make(level).reset(options={"task_id": info["task_id"]})
    assert (again, info_again) == (obs, info)
    engine = gym.make(f"{level}-v0").unwrapped
    engine.reset(seed=int(info["task_id"].split("/")[1]))
    assert engine.hash() == env.unwrapped.engine.hash() and engine.mission == info["task"]


@pytest.mark.parametrize("kwargs, message", [
    ({"level": "doorkey-5"}, "unknown level 'doorkey-5'; expected one of MiniGrid-DoorKey-5x5, "),
    ({"split": "valid"}, "unknown split 'valid'; expected one of test, dev, train"),
    ({"max_steps": 0}, "max_steps must be a positive int or None"),
    ({"render_mode": "human"}, "unknown render_mode 'human'"),
])
def test_bad_arguments_say_what_was_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StepGridEnv(**kwargs)


@pytest.mark.parametrize("task, message", [
    ("MiniGrid-DoorKey-6x6/3", "is a MiniGrid-DoorKey-6x6 task; make the env with level='MiniGrid-DoorKey-6x6'"),
    ("MiniGrid-DoorKey-5x5/5000", "is not in split 'test' \\(seeds 0-999\\)"),
    ("MiniGrid-DoorKey-5x5", "is not '<level>/<seed>'"),
    ("DoorKey-5/3", "unknown level 'DoorKey-5'"),
])
def test_bad_task_ids_say_what_was_wrong(task, message):
    with pytest.raises(ValueError, match=message):
        make().reset(options={"task_id": task})


@pytest.mark.parametrize("alias", ["DoorKey-5x5", "doorkey-5x5", "MiniGrid-DoorKey-5x5-v0", " MiniGrid-DoorKey-5x5 "])
def test_short_names_and_gym_ids_are_level_aliases(alias):
    env = StepGridEnv(level=alias, split="test")
    assert env.level == "MiniGrid-DoorKey-5x5"
    _, info = env.reset(options={"task_id": "DoorKey-5x5/3"})
    assert info["task_id"] == "MiniGrid-DoorKey-5x5/3" and info["level"] == "MiniGrid-DoorKey-5x5"
    assert StepGridEnv(level="GoToObj").level == "BabyAI-GoToObj"


def test_actions_ignore_case_and_spacing():
    env = make()
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("  Turn   LEFT ")
    assert obs.startswith("You turned left.\nMission: ") and not info["invalid"]
    assert env.unwrapped.engine.step_count == 1


@pytest.mark.parametrize("action, why", [
    ("jump", "'jump' is not an action"), ("go forwards", "'go forwards' is not an action"),
    (2, "actions are strings, got int 2"), ("", "'' is not an action"),
])
def test_invalid_actions_give_feedback_take_no_step_and_change_nothing(action, why):
    env = make(render_mode="ansi")
    env.reset(seed=0)
    env.step("turn right")
    engine = env.unwrapped.engine
    state = (engine.hash(), engine.step_count, env.render())
    obs, reward, terminated, truncated, info = env.step(action)
    assert obs.startswith(f"Invalid action: {why}; use one of: turn left, turn right, go forward, pick up, drop, "
                          "toggle, done.\nMission: ")
    assert (reward, terminated, truncated, info["invalid"]) == (0.0, False, False, True)
    assert (engine.hash(), engine.step_count, env.render()) == state and state[1] == 1


def test_the_view_names_objects_by_colour_state_and_relative_position():
    # A hand-made scene: the agent faces north in an empty room (MiniGrid's grid, x east, y south).
    from minigrid.core.world_object import Ball, Door, Key, Lava

    engine = gym.make("MiniGrid-Empty-8x8-v0").unwrapped
    engine.reset(seed=0)
    engine.agent_pos, engine.agent_dir = (3, 5), 3
    engine.put_obj(Ball("blue"), 3, 4)  # in front
    engine.put_obj(Key("red"), 2, 3)  # 2 ahead, 1 left
    engine.put_obj(Door("yellow", is_locked=True), 6, 5)  # 3 right
    engine.put_obj(Lava(), 4, 1)  # 4 ahead, 1 right
    seen, front = view_lines(engine.gen_obs()["image"])
    # Nearest first; the goal square (6, 6) is behind the agent, so unseen; of the walls only
    # the nearest ahead, left and right (the ball does not hide the one ahead).
    assert seen == ["a blue ball 1 step ahead", "a wall 3 steps to the left",
                    "a locked yellow door 3 steps to the right", "a red key 2 steps ahead and 1 to the left",
                    "lava 4 steps ahead and 1 to the right", "a wall 5 steps ahead"]
    assert front == "a blue ball"


def test_feedback_follows_a_door_and_key_episode():
    env = make(render_mode="ansi")
    env.reset(options={"task_id": "MiniGrid-DoorKey-5x5/0"})
    follow_expert_until(env, "pick up")
    obs, *_ = env.step("pick up")
    assert obs.startswith("You picked up the yellow key.\n") and obs.endswith("You carry a yellow key.")
    follow_expert_until(env, "toggle")
    assert "In front of you: a locked yellow door." in env.render()
    assert env.step("drop")[0].startswith(
        "You cannot drop the yellow key here: a locked yellow door is in front of you.")
    assert env.step("pick up")[0].startswith("You cannot pick up a locked yellow door.\n")
    assert env.step("go forward")[0].startswith("You cannot go forward: a locked yellow door is in the way.")
    assert env.step("done")[0].startswith("Nothing happens.")
    branch = copy.deepcopy(env)
    assert env.step("toggle")[0].startswith("You unlocked the yellow door with your key and opened it.")
    assert env.step("toggle")[0].startswith("You closed the yellow door.")
    assert env.step("toggle")[0].startswith("You opened the yellow door.")
    # Without the key the door stays locked: drop it on a free side cell and face the door again.
    turns = 0
    while "In front of you: nothing." not in branch.render():
        branch.step("turn left")
        turns += 1
    assert branch.step("drop")[0].startswith("You dropped the yellow key.\n")
    for _ in range(4 - turns):
        branch.step("turn left")
    assert branch.step("toggle")[0].startswith(
        "The yellow door is locked: you need to carry a yellow key to open it.")
    assert branch.step("drop")[0].startswith("You carry nothing to drop.")


def test_success_pays_minigrids_reward_and_ends_the_episode():
    env = make()
    env.reset(options={"task_id": "MiniGrid-DoorKey-5x5/0"})
    steps = 0
    while True:
        obs, reward, terminated, truncated, info = env.step(env.unwrapped.expert_action())
        steps += 1
        if terminated or truncated:
            break
    assert terminated and not truncated and reward == pytest.approx(1 - 0.9 * steps / 250)
    assert (info["won"], info["lost"], info["score"]) == (True, False, reward)
    assert obs.startswith("You moved forward. You completed the mission.\n")
    with pytest.raises(RuntimeError, match="the episode has ended; call reset"):
        env.step("turn left")
    with pytest.raises(RuntimeError, match="no expert action"):
        env.unwrapped.expert_action()


def test_lava_loses_the_episode():
    env = make("MiniGrid-LavaGapS5")
    task = next(t for t in env.unwrapped.task_ids() if "In front of you: lava." in env.reset(options={"task_id": t})[0])
    obs, reward, terminated, truncated, info = env.step("go forward")
    assert obs.startswith("You stepped into lava. The episode is lost.\n"), task
    assert (reward, terminated, truncated) == (0.0, True, False)
    assert (info["won"], info["lost"], info["score"]) == (False, True, 0.0)


def test_max_steps_replaces_the_levels_limit():
    env = make(max_steps=3, render_mode="ansi")
    env.reset(seed=0)
    assert [env.step("turn left")[3] for _ in range(3)] == [False, False, True]
    assert env.render().startswith("You turned left. You ran out of steps (3).\n")


@pytest.mark.parametrize("level", ["MiniGrid-DoorKey-6x6", "BabyAI-PickupLoc"])
def test_copies_mid_episode_continue_identically_with_the_expert(level):
    env = make(level)
    env.reset(seed=5)
    for action in ("turn left", "go forward", "toggle"):
        env.unwrapped.expert_action()
        env.step(action)
    env.unwrapped.expert_action()
    clones = [copy.deepcopy(env), pickle.loads(pickle.dumps(env))]
    while True:
        action = env.unwrapped.expert_action()
        assert [clone.unwrapped.expert_action() for clone in clones] == [action, action]
        out = env.step(action)
        assert [clone.step(action) for clone in clones] == [out, out]
        if out[2] or out[3]:
            break
    assert out[-1]["won"]
