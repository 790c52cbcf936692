"""StepSciWorld-v0 over the real ScienceWorld engine: gold paths, invalid input, determinism,
valid-action listing, the JVM's lifecycle, vector envs, the off-path expert.

The generic contract checks (check_text_env, two envs from one seed, pickle) run in test_envs.py.
Skipped with the reason when the scienceworld package or a Java runtime is missing.
"""

import os
import random
import signal
import threading
import time

import gymnasium as gym
import pytest

pytest.importorskip("scienceworld", reason="scienceworld is not installed: pip install 'scienceworld>=1.2'")

from stepagent_envs.sciworld.engine import (  # noqa: E402
    NO_MATCH, Engine, EngineDiedError, EngineError, EngineUnavailableError, _read_whole, child_jvm_pids,
    java_executable,
)
from stepagent_envs.sciworld.env import NO_MATCH_HINT, StepSciWorldEnv  # noqa: E402
from stepagent_envs.sciworld.tasks import task_names  # noqa: E402

try:
    java_executable()
except EngineUnavailableError as missing:
    pytest.skip(str(missing), allow_module_level=True)

# Tasks whose gold paths are short and quick to generate.
QUICK_TASKS = ("lifespan-longest-lived", "power-component", "use-thermometer")


@pytest.fixture(scope="module")
def env():
    """One env over every task, valid actions off (one JVM for the module)."""
    env = StepSciWorldEnv(task="all", split="train", valid_actions=False)
    yield env
    env.close()


@pytest.fixture(scope="module")
def listing_env():
    """One env over every task with valid actions on."""
    env = StepSciWorldEnv(task="all", split="train", valid_actions=True)
    yield env
    env.close()


def first_variation(env, task):
    """The task id of ``task``'s first variation in ``env``'s split."""
    return next(task_id for task_id in env.task_ids() if task_id.rpartition("/")[0] == task)


def play_gold(env, task_id):
    """Reset to ``task_id`` and follow the expert; returns the infos and the summed reward."""
    _, info = env.reset(options={"task_id": task_id})
    infos, total = [info], 0.0
    for _ in range(len(env.unwrapped.gold_path().actions)):
        _, reward, terminated, truncated, info = env.step(env.unwrapped.expert_action())
        infos.append(info)
        total += reward
        if terminated or truncated:
            break
    return infos, total


@pytest.mark.parametrize("task", QUICK_TASKS)
def test_gold_path_reaches_full_score(env, task):
    infos, total = play_gold(env, first_variation(env, task))
    assert infos[-1]["won"] is True and infos[-1]["score"] == 1.0 and infos[-1]["engine_score"] == 100
    assert total == pytest.approx(1.0)  # the rewards sum to the final score
    assert all(info["expert_exact"] is True for info in infos[1:])


def test_reset_shows_the_task_then_the_room_without_a_move(env):
    obs, info = env.reset(options={"task_id": first_variation(env, "find-plant")})
    task, room = obs.split("\n\n", 1)
    assert task == info["task"] and room.startswith("This room is called the ") and "You also see:" in room
    assert info["moves"] == 0 and info["score"] == 0.0


def test_reset_draws_split_variations_with_the_seed(env):
    ids = [env.reset(seed=seed)[1]["task_id"] for seed in range(6)]
    assert ids == [env.reset(seed=seed)[1]["task_id"] for seed in range(6)]
    assert set(ids) <= set(env.task_ids()) and len(set(ids)) > 1
    assert {task_id.rpartition("/")[0] for task_id in env.task_ids()} == set(task_names())
    with pytest.raises(ValueError, match="variation '150' is not in split 'train'"):
        env.reset(options={"task_id": "boil/150"})
    with pytest.raises(ValueError, match="names no task of this env"):
        env.reset(options={"task_id": "boiling/1"})


def test_unparsable_input_changes_nothing(listing_env):
    env = listing_env
    task_id = first_variation(env, "use-thermometer")
    env.reset(options={"task_id": task_id})
    gold = env.gold_path().actions
    direct = [env.step(action) for action in gold[:4]]
    _, before = env.reset(options={"task_id": task_id})
    env.gold_path()  # as in the first pass, so that info["expert_exact"] is known
    state = ("task_id", "valid_actions", "won", "score", "engine_score", "moves")
    for k, action in enumerate(gold[:4]):
        obs, reward, terminated, _, info = env.step("xyzzy the thermometer")
        assert obs == NO_MATCH_HINT and obs.startswith(NO_MATCH) and reward == 0.0 and not terminated
        assert info["invalid"] is True
        assert [info[key] for key in state] == [before[key] for key in state]
        after = env.step(action)
        assert after == direct[k]  # as if the invalid input never happened
        before = after[4]


def test_ambiguity_waits_for_an_option_number_or_a_blank(env):
    env.reset(options={"task_id": "grow-plant/1"})  # its gold path resolves an ambiguity with "0"
    gold = env.gold_path().actions
    infos, asked = [], None
    for index, action in enumerate(gold):
        obs, _, terminated, _, info = env.step(action)
        infos.append(info)
        if obs.startswith("Ambiguous request:"):
            asked, options, moves = index, obs.count(":\t"), info["moves"]
            obs, reward, _, _, info = env.step("look around")
            assert info["invalid"] is True and reward == 0.0 and f"one of 0 to {options - 1}" in obs
            obs, *_, info = env.step(str(options))  # out of range: refused too
            assert info["invalid"] is True and info["moves"] == moves
        if terminated:
            break
    assert asked is not None and infos[-1]["won"] is True
    env.reset(options={"task_id": "grow-plant/1"})
    for action in gold[: asked + 1]:
        env.step(action)
    info = env.step("")[4]  # the blank cancels the question (the engine lets a time step pass)
    assert info["invalid"] is False and info["moves"] == moves + 1
    assert env.step("0")[0] == NO_MATCH_HINT  # commands again, not answers


def test_listing_valid_actions_does_not_change_the_episode(env, listing_env):
    """Random valid actions played with listing on, replayed with it off, give the same episode."""
    rng = random.Random(0)
    task_id = first_variation(env, "lifespan-longest-lived")
    _, info = listing_env.reset(options={"task_id": task_id})
    env.reset(options={"task_id": task_id})
    assert info["valid_actions"] and info["valid_actions"] == sorted(info["valid_actions"])
    for _ in range(15):
        action = rng.choice([a for a in info["valid_actions"] if not a.startswith("focus on")])
        listed = listing_env.step(action)
        bare = env.step(action)
        info = listed[4]
        assert listed[:4] == bare[:4] and bare[4]["valid_actions"] == []
        assert {k: v for k, v in listed[4].items() if k != "valid_actions"} == \
               {k: v for k, v in bare[4].items() if k != "valid_actions"}


def test_engine_step_matches_the_engines_own_step():
    """Engine.step (one round trip: the parser, then AgentInterface.step runs the parsed action) answers
    what the engine's PythonInterface.step answers, step by step, with the same score, completion and
    moves, on gold actions, random valid actions, rejected and ambiguous input, teleports and the
    special inputs; and lists the same valid actions."""
    rng = random.Random(3)
    odd = ["xyzzy", "look at", "teleport to kitchen", "TELEPORT  to the Kitchen ", "go to", "0", "", "help",
           " Task ", "objects", "caf\u00e9", "pick up", "wait", "inventory"]
    ours, reference = Engine(), Engine()
    try:
        for task in ("use-thermometer", "power-component", "grow-plant", "lifespan-longest-lived"):
            variation = ours.variations(task)["train"][1]
            gold = ours.gold_path(task, variation, "easy")
            ours.load(task, variation, "easy")
            reference.load(task, variation, "easy")
            server, ran = reference._server, False
            for index in range(30):
                draw = rng.random()
                if draw < 0.5 and index < len(gold):
                    action = gold[index]
                elif draw < 0.65:
                    action = rng.choice(odd)
                else:
                    listed = reference.valid_actions()
                    if index % 3 == 0:
                        assert ours.valid_actions() == listed
                    action = rng.choice([a for a in listed if not a.startswith("focus on")] or listed)
                got = ours.step(action)
                expected = server.step(action)
                special = action.strip().lower() in ("help", "task", "objects")
                ran = ran or not special  # PythonInterface keeps its score of the last episode until a step
                assert got.observation == expected, (task, index, action)
                if ran:
                    assert (got.score, got.completed, got.moves) == \
                           (server.getScore(), server.getCompleted(), server.getNumMoves()), (task, index, action)
                if got.completed or got.score < 0:
                    break
    finally:
        ours.close()
        reference.close()


def test_wrong_focus_fails_the_task(listing_env):
    env = listing_env
    _, info = env.reset(options={"task_id": first_variation(env, "lifespan-longest-lived")})
    gold = env.gold_path().actions
    info = env.step(gold[0])[4]
    right = [a for a in gold if a.startswith("focus on")]
    wrong = next(a for a in info["valid_actions"] if a.startswith("focus on") and a not in right and "agent" not in a)
    obs, reward, terminated, _, info = env.step(wrong)
    assert terminated and info["won"] is False and info["engine_score"] < 0 and info["score"] == 0.0
    with pytest.raises(RuntimeError, match="episode has ended"):
        env.step("look around")


def test_off_path_expert_says_so_and_still_wins(env):
    _, info = env.reset(options={"task_id": first_variation(env, "find-plant")})
    assert info["expert_exact"] is None  # the gold path is loaded by the first expert_action()
    info = env.step(env.expert_action())[4]
    assert info["expert_exact"] is True and env.expert_exact() is True
    env.step("inventory")  # not on the gold path
    assert env.expert_exact() is False
    action = env.expert_action()
    assert action == env.gold_path().actions[1]
    info = env.step(action)[4]
    assert info["expert_exact"] is False
    gold = env.gold_path().actions
    for _ in range(3 * len(gold)):
        _, _, terminated, _, info = env.step(env.expert_action())
        if terminated:
            break
    assert info["won"] is True


def test_heap_cap_death_and_close():
    """The heap cap is on the JVM's command line; a dead JVM makes step raise and reset start a
    fresh one; close ends the JVM and leaves no Python thread behind."""
    threads, jvms = threading.active_count(), child_jvm_pids()
    env = StepSciWorldEnv(task="lifespan-shortest-lived", valid_actions=False, heap_mb=256)
    try:
        env.reset(seed=0)
        dead = env.engine_pid
        with open(f"/proc/{dead}/cmdline", "rb") as f:
            assert b"-Xmx256m" in f.read().split(b"\0")
        token = env.unwrapped._engine._token
        os.kill(dead, signal.SIGKILL)
        with pytest.raises(EngineDiedError, match=r"exited with code -9 .*Call reset\(\)") as died:
            env.step("look around")
        assert token and token not in str(died.value)  # py4j's auth token is a secret
        obs, info = env.reset(seed=0)
        assert env.engine_pid != dead and info["task_id"].startswith("lifespan-shortest-lived/")
        assert env.step("look around")[4]["invalid"] is False
        fresh = env.engine_pid
    finally:
        env.close()
    with pytest.raises(ProcessLookupError):
        os.kill(fresh, 0)
    time.sleep(0.1)
    assert child_jvm_pids() == jvms and threading.active_count() == threads


def test_text_utf8_cannot_encode_is_normalised_away_and_never_reaches_the_engine(env):
    """A lone surrogate made py4j fail to send, the engine was declared dead and its JVM killed."""
    env.reset(options={"task_id": first_variation(env, "lifespan-longest-lived")})
    pid, moves = env.engine_pid, env.step("look around")[4]["moves"]
    for action in ("\ud800", "\r\x0c\ud800", "\udfff\udfff"):
        obs, reward, terminated, _, info = env.step(action)
        assert info["invalid"] is True and reward == 0.0 and not terminated and info["moves"] == moves
    # Mapped into the charset as observations are: the rest of the action is played.
    obs, _, _, _, info = env.step("teleport to greenhouse\ud800\x0c")
    assert info["invalid"] is False and obs == "You teleport to the greenhouse." and info["moves"] == moves + 1
    assert env.step("x" * 513)[4]["invalid"] is True
    with pytest.raises(EngineError, match="UTF-8 cannot encode") as refused:  # the engine refuses it too
        env.unwrapped._engine.step("look\ud800")
    assert not isinstance(refused.value, EngineDiedError)
    assert env.engine_pid == pid and env.step("look around")[4]["invalid"] is False


def test_a_hung_engine_is_killed_at_the_call_deadline_and_reset_recovers():
    env = StepSciWorldEnv(task="lifespan-shortest-lived", valid_actions=False, call_timeout=2)
    try:
        env.reset(seed=0)
        paused, token = env.engine_pid, env.unwrapped._engine._token
        os.kill(paused, signal.SIGSTOP)
        start = time.monotonic()
        with pytest.raises(EngineDiedError, match=r"did not answer within call_timeout=2 s and was killed") as died:
            env.step("look around")
        assert time.monotonic() - start < 10 and token not in str(died.value)
        with pytest.raises(ProcessLookupError):
            for _ in range(100):  # killed: gone once reaped
                os.kill(paused, 0)
                time.sleep(0.05)
        _, info = env.reset(seed=0)
        assert env.engine_pid != paused and env.step("look around")[4]["invalid"] is False
    finally:
        env.close()


def test_argument_errors_name_the_value_and_start_no_jvm():
    jvms = child_jvm_pids()
    with pytest.raises(ValueError, match="unknown task 'boill'; expected one of boil, melt"):
        StepSciWorldEnv(task="boill")
    with pytest.raises(ValueError, match="unknown split 'val'"):
        StepSciWorldEnv(split="val")
    with pytest.raises(ValueError, match="unknown simplification 'easyy'"):
        StepSciWorldEnv(task="boil", simplifications="easyy")
    with pytest.raises(ValueError, match="'noElectricalAction' removes the actions 'power-component' needs"):
        StepSciWorldEnv(task="power-component", simplifications="openDoors,noElectricalAction")
    with pytest.raises(ValueError, match="heap_mb must be an int of at least 64"):
        StepSciWorldEnv(heap_mb=16)
    for bad in (0, -1, "60", float("nan"), True):
        with pytest.raises(ValueError, match="call_timeout must be a positive number of seconds or None"):
            StepSciWorldEnv(call_timeout=bad)
    assert child_jvm_pids() == jvms


def test_async_vector_env_with_two_workers():
    kwargs = dict(task="lifespan-longest-lived", split="test", valid_actions=False)
    fns = [lambda: StepSciWorldEnv(**kwargs) for _ in range(2)]
    # Gymnasium 1.x's shared memory returns a stale snapshot for Text spaces (see test_envs.py).
    envs = gym.vector.AsyncVectorEnv(fns, shared_memory=False)
    try:
        obs, infos = envs.reset(seed=[0, 1])
        assert all(o.startswith("Your task is to") for o in obs)
        actions = envs.call("expert_action")
        obs, rewards, terminated, truncated, infos = envs.step(list(actions))
        assert list(infos["invalid"]) == [False, False]
        workers_jvms = envs.get_attr("engine_pid")
        assert len(set(workers_jvms)) == 2
    finally:
        envs.close()
    for pid in workers_jvms:  # each worker closed its env, and with it its JVM
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


# -- slow: run in CI ------------------------------------------------------------

# One train variation per task: the first, or one whose gold path is quicker to generate and play.
SLOW_VARIATIONS = {"boil": 7, "chemistry-mix-paint-secondary-color": 15, "power-component": 5,
                   "inclined-plane-friction-unnamed-surfaces": 58, "mendelian-genetics-known-plant": 21,
                   "mendelian-genetics-unknown-plant": 130}


@pytest.mark.slow
def test_gold_path_reaches_full_score_on_every_task(env):
    assert len(env.tasks) == 30 and set(env.tasks) == set(task_names())
    for task in env.tasks:
        task_id = f"{task}/{SLOW_VARIATIONS.get(task, env._pools[task][0])}"
        infos, total = play_gold(env, task_id)
        assert infos[-1]["won"] is True and infos[-1]["score"] == 1.0, task_id
        assert total == pytest.approx(1.0), task_id


def test_reading_the_jvm_output_leaves_the_shared_offset_alone(tmp_path):
    # The JVM writes through the same open file: had the reader moved the offset, the JVM's
    # next line (py4j's token after its port) would overwrite the port line (CI once waited
    # 120 s for a port that was gone).
    with open(tmp_path / "log", "w+b") as log:
        log.write(b"40123\n")
        log.flush()
        log.seek(2)
        assert _read_whole(log) == "40123\n" and log.tell() == 2
        log.seek(0, os.SEEK_END)
        log.write(b"token\n")
        log.flush()
        assert _read_whole(log).splitlines() == ["40123", "token"]


@pytest.mark.parametrize("script, expected", [
    ("echo 'Error: no main class'; exit 1", r"exited with code 1; its output: 'Error: no main class'"),
    ("echo 'starting'; read line", r"did not listen within 1 s; its output: 'starting'"),
])
def test_a_jvm_that_does_not_start_is_reported_with_its_output(tmp_path, script, expected):
    java = tmp_path / "java"
    java.write_text(f"#!/bin/sh\n{script}\n")
    java.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(EngineDiedError, match=expected):
        Engine(java=str(java), startup_timeout=1)
    assert time.monotonic() - started < 5


@pytest.mark.slow
def test_create_close_cycles_leave_nothing_behind():
    threads, jvms = threading.active_count(), child_jvm_pids()
    for _ in range(10):  # benchmarks/bench_sciworld.py runs 100
        env = StepSciWorldEnv(task="find-plant", valid_actions=False)
        env.reset(seed=0)
        env.close()
    time.sleep(0.1)
    assert child_jvm_pids() == jvms and threading.active_count() == threads
