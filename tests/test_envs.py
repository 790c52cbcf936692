"""Every registered id: the shipped checker (check_env, determinism, pickle,
invalid actions, oracle), two envs from one seed, vector envs."""

import pickle
import shutil

import gymnasium as gym
import pytest

import stepagent_envs
from stepagent_envs.testing import check_text_env

# Keyword arguments that keep each id fast in tests.
FAST_KWARGS = {"StepShop-v0": {"split": "test"}, "StepHotpot-v0": {"split": "test"},
               "StepGrid-v0": {"split": "test", "level": "MiniGrid-DoorKey-5x5"},
               "StepTextWorld-v0": {"split": "test", "difficulty": "easy", "num_games": 2},
               "StepSciWorld-v0": {"task": "lifespan-longest-lived-then-shortest-lived", "split": "test"},
               "StepMath-v0": {"split": "test"}}

# Ids over an optional package (an extra of pyproject.toml): skipped with a reason without it.
REQUIRES = {"StepGrid-v0": "minigrid", "StepTextWorld-v0": "textworld", "StepSciWorld-v0": "scienceworld"}


@pytest.fixture(autouse=True)
def _optional_package(request):
    env_id = request.node.callspec.params.get("env_id") if hasattr(request.node, "callspec") else None
    if env_id in REQUIRES:
        pytest.importorskip(REQUIRES[env_id], reason=f"{env_id} needs the optional package {REQUIRES[env_id]!r}")
    if env_id == "StepSciWorld-v0" and shutil.which("java") is None:
        pytest.skip("StepSciWorld-v0 needs Java 11 or newer on PATH for the ScienceWorld engine")


@pytest.mark.parametrize("env_id", stepagent_envs.ENV_IDS)
def test_check_text_env(env_id):
    kwargs = FAST_KWARGS.get(env_id, {})
    env = gym.make(env_id, **kwargs)
    check_text_env(env, env_fn=lambda: gym.make(env_id, **kwargs), oracle_episodes=5)
    env.close()


@pytest.mark.parametrize("env_id", stepagent_envs.ENV_IDS)
def test_two_envs_from_one_seed_stay_identical(env_id):
    kwargs = FAST_KWARGS.get(env_id, {})
    a, b = gym.make(env_id, **kwargs), gym.make(env_id, **kwargs)
    for seed in (0, 1, 2):
        out_a, out_b = a.reset(seed=seed), b.reset(seed=seed)
        assert out_a == out_b
        for _ in range(8):
            action = a.unwrapped.expert_action()
            assert action == b.unwrapped.expert_action()
            step_a, step_b = a.step(action), b.step(action)
            assert step_a == step_b
            if step_a[2] or step_a[3]:
                break


@pytest.mark.parametrize("env_id", stepagent_envs.ENV_IDS)
def test_pickle_round_trip_mid_episode(env_id):
    env = gym.make(env_id, **FAST_KWARGS.get(env_id, {}))
    env.reset(seed=3)
    env.step(env.unwrapped.expert_action())
    clone = pickle.loads(pickle.dumps(env))
    while True:
        action = env.unwrapped.expert_action()
        out, out_clone = env.step(action), clone.step(action)
        assert out == out_clone
        if out[2] or out[3]:
            break


@pytest.mark.parametrize("vector_cls", [gym.vector.SyncVectorEnv, gym.vector.AsyncVectorEnv])
def test_shop_in_vector_envs(vector_cls):
    fns = [lambda: gym.make("StepShop-v0", split="test") for _ in range(2)]
    # Gymnasium 1.x's shared memory hands back a snapshot taken at construction for Text spaces,
    # so text envs run AsyncVectorEnv with shared_memory=False (observations go through the pipes).
    kwargs = {"shared_memory": False} if vector_cls is gym.vector.AsyncVectorEnv else {}
    envs = vector_cls(fns, **kwargs)
    obs, infos = envs.reset(seed=[0, 1])
    assert len(obs) == 2 and all(isinstance(o, str) for o in obs)
    assert list(infos["task"]) != [] and "valid_actions" in infos
    actions = [f"search[{t}]" for t in infos["task"]]
    obs, rewards, terminated, truncated, infos = envs.step(actions)
    assert all("Page 1 (Total results:" in o for o in obs)
    assert list(rewards) == [0.0, 0.0]
    envs.close()
