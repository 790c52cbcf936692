"""StepTextWorld-v0: observations, admissible and bare commands, invalid actions, the lazy expert, copies."""

import copy
import json
import pickle
import random
import re
import subprocess
import sys

import gymnasium as gym
import pytest

pytest.importorskip("textworld", reason="StepTextWorld-v0 needs the textworld package: pip install 'textworld>=1.7'")

from stepagent_envs import ExpertUnavailable  # noqa: E402
from stepagent_envs.testing import check_text_env  # noqa: E402
from stepagent_envs.textworld_env import StepTextWorldEnv  # noqa: E402
from stepagent_envs.textworld_env.engine import TextWorldGame  # noqa: E402
from stepagent_envs.textworld_env.store import ensure_games, game_files  # noqa: E402

# The same two small games as tests/test_envs.py, so a test session generates them once.
FAST = {"split": "test", "difficulty": "easy", "num_games": 2}


@pytest.fixture(scope="module", autouse=True)
def games():
    StepTextWorldEnv(**FAST).prepare()  # both games in one generator process


@pytest.fixture(scope="module")
def env():
    env = gym.make("StepTextWorld-v0", **FAST)
    yield env
    env.close()


@pytest.fixture(scope="module")
def bare():
    env = gym.make("StepTextWorld-v0", valid_actions=False, **FAST)
    yield env
    env.close()


def play_expert(env, info, max_steps=50):
    """Follow the expert to the end; every action it gives must be admissible. Returns (reward sum, last info)."""
    total = 0.0
    for _ in range(max_steps):
        action = env.unwrapped.expert_action()
        assert not info["valid_actions"] or action in info["valid_actions"]
        _, reward, terminated, truncated, info = env.step(action)
        assert not info["invalid"]
        total += reward
        if terminated or truncated:
            break
    return total, info


def test_bare_env_follows_the_contract(bare):
    check_text_env(bare, env_fn=lambda: gym.make("StepTextWorld-v0", valid_actions=False, **FAST), oracle_episodes=2)


def test_reset_shows_the_objective_and_the_room_without_engine_chrome(env):
    obs, info = env.reset(seed=0)
    assert obs.startswith(info["task"][:40]) and "-= " in obs  # objective first, then the room
    for chrome in ("$$", "[", "<score>", "\n>", "RESTART"):
        assert chrome not in obs
    assert info["task_id"] in env.unwrapped.task_ids()
    assert info["valid_actions"] == sorted(info["valid_actions"]) and "look" in info["valid_actions"]
    assert (info["won"], info["lost"], info["score"], info["points"], info["moves"]) == (False, False, 0.0, 0, 0)
    assert info["max_points"] >= 1


def test_the_expert_wins_every_game_from_reset_with_rewards_summing_to_one(env):
    for task_id in env.unwrapped.task_ids():
        _, info = env.reset(options={"task_id": task_id})
        total, info = play_expert(env, info)
        assert info["won"] and info["score"] == 1.0 and total == pytest.approx(1.0)
        assert info["points"] == info["max_points"] and info["valid_actions"] == []
        with pytest.raises(RuntimeError, match="episode has ended"):
            env.step("look")


def test_commands_match_admissible_ones_ignoring_case_and_spacing(env):
    _, info = env.reset(seed=1)
    command = info["valid_actions"][0]
    obs, _, _, _, info2 = env.step("  " + command.upper().replace(" ", "   ") + " ")
    assert not info2["invalid"]


def test_a_non_admissible_command_is_invalid_and_changes_nothing(env):
    _, before = env.reset(seed=1)
    for action in ("xyzzy", "wait", "take the moon", ""):
        obs, reward, terminated, truncated, info = env.step(action)
        assert info["invalid"] and reward == 0.0 and not terminated
        assert obs.startswith("Invalid action: ") and "admissible: " in obs
        assert {k: info[k] for k in ("valid_actions", "moves", "score")} == \
            {k: before[k] for k in ("valid_actions", "moves", "score")}
    _, _, _, _, info = env.step(123)
    assert info["invalid"]


def test_bare_env_plays_any_single_command_the_parser_accepts(bare):
    _, info = bare.reset(seed=1)
    assert info["valid_actions"] == []
    _, _, _, _, info = bare.step("wait")  # not admissible, but the game carries it out
    assert not info["invalid"] and info["moves"] == 1
    obs, _, _, _, info = bare.step("xyzzy")  # the parser's own answer, the state restored
    assert info["invalid"] and "not a verb I recognise" in obs and info["moves"] == 1


@pytest.mark.parametrize("command", ["save", "restore", "restart", "quit", "undo", "again", "g", "oops x",
                                     "script", "tw-trace-actions",
                                     "look. wait", "look then wait", "look, wait", "l\u00f6ok", "x" * 300])
def test_bare_env_refuses_session_and_chained_commands(bare, command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a save or transcript would land here
    bare.reset(seed=1)
    obs, reward, _, _, info = bare.step(command)
    assert info["invalid"] and reward == 0.0 and info["moves"] == 0
    assert list(tmp_path.iterdir()) == []


# Frotz's own commands and key escapes: before the fix "x \\N" killed the process (SIGSEGV) and "\\N",
# "\\help", "\\s", "\\n" never returned.
INTERPRETER_ESCAPES = ["x \\N", "\\N", "\\help", "\\s", "\\n", "\\t", "\\w5", "\\d", "\\set", "\\cn", "\\sf0",
                       "look\\_look", "\\X", "\\U", "\\R", "\\P", "\\S", "\\D", "\\H", "\\1", "\\0", "\\[",
                       "\\?", "\\\\", "\\", "look \\", "take key\\.", "\\<", "\\^", "x\\\\N"]
# What the engine refuses besides (the env's own checks catch these before it).
NOT_ONE_LINE = ["look\nlook", "l\u00f6ok", "x" * 300]

_ESCAPES_CHILD = """
import json, sys
import gymnasium as gym
import stepagent_envs
kwargs, commands, engine_only = json.loads(sys.argv[1])
out = []
for valid_actions in (False, True):
    env = gym.make("StepTextWorld-v0", valid_actions=valid_actions, **kwargs)
    _, before = env.reset(seed=1)
    for command in commands:
        obs, reward, terminated, truncated, info = env.step(command)
        out.append([valid_actions, command, obs, reward, terminated, info["invalid"], info["moves"],
                    info["valid_actions"] == before["valid_actions"]])
    out.append([valid_actions, "look", *env.step("look")[:1]])  # still playable
    env.close()
env = gym.make("StepTextWorld-v0", valid_actions=False, **kwargs)
env.reset(seed=1)
engine = env.unwrapped._engine  # the engine refuses them too, whoever calls it
engine_rows = [[command, *engine.step(command), engine.moves] for command in commands + engine_only]
out.append(["engine", engine_rows])
with open(sys.argv[2], "w") as f:
    json.dump(out, f)
"""


def test_interpreter_escapes_never_reach_the_zmachine(tmp_path):
    """In a child process, so that a crash of the interpreter fails this test instead of killing pytest
    (a hang fails it at the timeout). The interpreter's own output (megabytes for ``\\s``) goes to files."""
    result, log = tmp_path / "result.json", tmp_path / "stderr.txt"
    with open(log, "w") as stderr:
        argument = json.dumps([FAST, INTERPRETER_ESCAPES, NOT_ONE_LINE])
        code = subprocess.run([sys.executable, "-c", _ESCAPES_CHILD, argument, str(result)],
                              stdout=subprocess.DEVNULL, stderr=stderr, timeout=120).returncode
    assert code == 0, f"the child died with {code} (-11: segmentation fault): {log.read_text()[-2000:]}"
    *rows, (_, engine_rows) = json.loads(result.read_text())
    assert len(engine_rows) == len(INTERPRETER_ESCAPES + NOT_ONE_LINE)
    assert all(not accepted and moves == 0 for _, _, accepted, moves in engine_rows), engine_rows
    steps = [row for row in rows if row[1] != "look"]
    assert len(steps) == 2 * len(INTERPRETER_ESCAPES)
    for valid_actions, command, obs, reward, terminated, invalid, moves, same_actions in steps:
        assert invalid and reward == 0.0 and not terminated and moves == 0 and same_actions, command
        if not valid_actions:
            assert obs.startswith("Invalid action: ") and "backslash is an interpreter escape" in obs, (command, obs)
    assert [row[2].startswith("-= ") for row in rows if row[1] == "look"] == [True, True]


def test_steps_never_compute_the_expert_and_bare_steps_no_admissible_commands(env, bare, monkeypatch):
    def forbidden(self):
        raise AssertionError("computed during a step")

    monkeypatch.setattr(TextWorldGame, "policy_commands", forbidden)
    _, info = env.reset(seed=0)
    for _ in range(5):
        *_, terminated, _, info = env.step(info["valid_actions"][0])
        if terminated:
            break
    monkeypatch.setattr(TextWorldGame, "admissible_commands", forbidden)
    bare.reset(seed=0)
    for command in ("look", "inventory", "wait", "xyzzy"):
        bare.step(command)


def test_the_expert_replans_after_detours(env):
    rng = random.Random(0)
    for task_id in env.unwrapped.task_ids() * 2:
        _, info = env.reset(options={"task_id": task_id})
        terminated = False
        for _ in range(8):  # a detour of random commands (eating could make the game unwinnable)
            action = rng.choice([a for a in info["valid_actions"] if not a.startswith("eat ")])
            *_, terminated, _, info = env.step(action)
            if terminated:
                break
        if not terminated:
            assert play_expert(env, info)[1]["won"]


@pytest.mark.filterwarnings("ignore::jericho.UnsupportedGameWarning")  # textworld.start's own Jericho
@pytest.mark.parametrize("valid_actions", [True, False])
def test_admissible_commands_and_expert_plan_are_textworlds_own_for_the_live_state(valid_actions):
    import textworld

    env = StepTextWorldEnv(valid_actions=valid_actions, **FAST)
    rng = random.Random(0)
    for task_id in env.task_ids():
        z8, _ = game_files(env.game_spec, env.split, int(task_id.rpartition("/")[2]))
        reference = textworld.start(str(z8), textworld.EnvInfos(admissible_commands=True, policy_commands=True))
        state = reference.reset()
        _, info = env.reset(options={"task_id": task_id})
        for _ in range(15):
            assert info["valid_actions"] == (state.admissible_commands if valid_actions else [])
            assert env._engine.policy_commands() == state.policy_commands
            command = rng.choice(state.admissible_commands)
            state, _, done = reference.step(command)
            *_, terminated, _, info = env.step(command)
            assert terminated == done
            if done:
                break
        reference.close()
    env.close()


def test_admissible_and_bare_envs_play_the_same_game(env, bare):
    obs_a, _ = env.reset(seed=0)
    obs_b, _ = bare.reset(seed=0)
    assert obs_a == obs_b
    while True:
        action = env.unwrapped.expert_action()
        assert action == bare.unwrapped.expert_action()
        out_a, out_b = env.step(action), bare.step(action)
        assert out_a[:4] == out_b[:4]
        if out_a[2]:
            break


@pytest.mark.parametrize("copier", [copy.deepcopy, lambda e: pickle.loads(pickle.dumps(e))])
def test_copies_replay_the_commands_and_continue_identically(bare, copier):
    bare.reset(seed=0)
    bare.step("wait")
    bare.step("xyzzy")  # invalid: not replayed
    bare.step(bare.unwrapped.expert_action())
    clone = copier(bare)
    assert len(clone.unwrapped._commands) == 2 and clone.unwrapped._commands[0] == "wait"
    while True:
        action = bare.unwrapped.expert_action()
        out, out_clone = bare.step(action), clone.step(action)
        assert out == out_clone
        if out[2]:
            break
    assert clone.reset() == bare.reset()  # the random generator came along too
    clone.close()


def test_games_whose_object_names_clash_are_won():
    # Test games 11 and 31 of custom-medium each have a "chest" beside a "fresh laundry scented chest"
    # or a "type Q chest", and their solutions "take ... from chest" (see generate.without_clashing_words).
    env = StepTextWorldEnv(split="test", difficulty="medium", num_games=32)
    ensure_games(env.game_spec, "test", [2_000_011, 2_000_031])
    for task_id in ("custom-medium/2000011", "custom-medium/2000031"):
        _, info = env.reset(options={"task_id": task_id})
        total, info = play_expert(env, info)
        assert info["won"] and total == pytest.approx(1.0)
    env.close()


def test_eating_the_recipe_ingredient_loses_a_cooking_game():
    env = StepTextWorldEnv(split="test", game="cooking", difficulty="easy", num_games=1)
    _, info = env.reset(seed=0)
    while not any(a.startswith("eat ") for a in info["valid_actions"]):  # the expert fetches the ingredient
        _, _, terminated, _, info = env.step(env.expert_action())
        assert not terminated
    obs, reward, terminated, _, info = env.step(next(a for a in info["valid_actions"] if a.startswith("eat ")))
    assert terminated and info["lost"] and not info["won"] and reward == 0.0 and "You lost" in obs
    with pytest.raises(RuntimeError, match="has ended"):
        env.expert_action()
    env.close()


def test_an_unwinnable_state_raises_expert_unavailable_rather_than_guessing(env, monkeypatch):
    env.reset(seed=0)
    monkeypatch.setattr(TextWorldGame, "policy_commands", lambda self: None)
    with pytest.raises(ExpertUnavailable, match="can no longer be won"):
        env.unwrapped.expert_action()


def test_task_ids_and_reset_by_id(env):
    ids = env.unwrapped.task_ids()
    assert ids == ["custom-easy/2000000", "custom-easy/2000001"]
    _, info = env.reset(options={"task_id": ids[1]})
    assert info["task_id"] == ids[1]
    for wrong in ("custom-easy/2000002", "custom-easy/0", "cooking-easy/2000000", "nonsense"):
        with pytest.raises(ValueError, match="is not in split 'test'"):
            env.reset(options={"task_id": wrong})


@pytest.mark.parametrize("kwargs, message", [
    ({"split": "validation"}, "unknown split 'validation'; expected one of train, dev, test"),
    ({"game": "zork"}, "unknown game 'zork'; expected one of custom, cooking, coin_collector, treasure_hunter"),
    ({"difficulty": "hardd"}, "unknown difficulty 'hardd'; expected one of easy, medium, hard"),
    ({"settings": {"rooms": 3}}, "unknown setting 'rooms' for game 'custom'"),
    ({"settings": {"world_size": "3"}}, "setting 'world_size' must be of type int, like the preset's 6; got '3'"),
    ({"num_games": 0}, "num_games must be an int in 1..1,000,000, got 0"),
    ({"valid_actions": "yes"}, "valid_actions must be True or False"),
    ({"render_mode": "human"}, "unknown render_mode 'human'"),
])
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        StepTextWorldEnv(**kwargs)


def test_step_before_reset_and_expert_before_reset_raise():
    env = StepTextWorldEnv(**FAST)
    with pytest.raises(RuntimeError, match="reset"):
        env.step("look")
    with pytest.raises(RuntimeError, match="reset"):
        env.expert_action()


def test_render_ansi_returns_the_last_observation():
    env = StepTextWorldEnv(render_mode="ansi", **FAST)
    obs, _ = env.reset(seed=0)
    assert env.render() == obs
    env.close()
