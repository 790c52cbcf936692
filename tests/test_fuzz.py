"""Every registered env under 2,000 fuzzed actions (StepSciWorld-v0: 300): no exception, and an
action the env calls invalid pays nothing, ends nothing and changes no state. The fuzzer itself
must catch an env that breaks either rule."""

from __future__ import annotations

import gymnasium as gym
import pytest

import stepagent_envs  # noqa: F401  (registers the env ids)
from stepagent_envs.fuzz import fuzz_text_env
from stepagent_envs.testing import TextEnvCheckError

from word_envs import WordCorridor

CASES = [
    pytest.param("StepShop-v0", {}, 2000, id="shop"),
    pytest.param("StepHotpot-v0", {}, 2000, id="hotpot"),
    pytest.param("StepGrid-v0", {}, 2000, id="grid"),
    pytest.param("StepTextWorld-v0", {"num_games": 5}, 2000, id="textworld-valid-actions"),
    pytest.param("StepTextWorld-v0", {"num_games": 5, "valid_actions": False}, 2000, id="textworld-free-text"),
    pytest.param("StepMath-v0", {"tool_timeout": 1.0}, 1000, id="math"),
    pytest.param("StepSciWorld-v0", {"task": "find-plant", "valid_actions": False}, 300, id="sciworld",
                 marks=pytest.mark.slow),
]
_EXTRA = {"StepGrid-v0": "minigrid", "StepTextWorld-v0": "textworld", "StepSciWorld-v0": "scienceworld"}


@pytest.mark.parametrize("env_id, kwargs, actions", CASES)
def test_fuzzed_actions_never_raise_and_invalid_ones_change_nothing(env_id, kwargs, actions):
    if env_id in _EXTRA:
        pytest.importorskip(_EXTRA[env_id], reason=f"{env_id} needs its extra: pip install -e '.[...]'")
    env = gym.make(env_id, **kwargs)
    try:
        report = fuzz_text_env(env, actions, seed=0)  # raises TextEnvCheckError with the action trace
    finally:
        env.close()
    assert report.actions >= actions and not report.failures
    assert report.invalid > actions // 4  # the mix really was hostile
    if env_id != "StepSciWorld-v0":  # the JVM cannot be deep-copied: state keys only
        assert report.next_checks > 20


class LeakyCorridor(WordCorridor):
    """Marks a shout invalid yet remembers it: the next observation says so."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.shouts = 0

    def step(self, action):
        if isinstance(action, str) and action.isupper():
            self.shouts += 1
            return "No shouting.", 0.0, False, False, self._info(invalid=True)
        obs, *rest = super().step(action)
        return obs + "!" * self.shouts, *rest


class FragileCorridor(WordCorridor):
    def step(self, action):
        return super().step(action.strip())  # AttributeError on a non-string


@pytest.mark.parametrize("env, message", [
    (LeakyCorridor(), "differs from the same step on a copy taken before it"),
    (FragileCorridor(), "raised AttributeError"),
])
def test_the_fuzzer_catches_an_env_that_breaks_the_contract(env, message):
    with pytest.raises(TextEnvCheckError, match=message):
        fuzz_text_env(gym.wrappers.TimeLimit(env, 8), 2000, next_check_every=1)
    report = fuzz_text_env(gym.wrappers.TimeLimit(env, 8), 500, next_check_every=1, raise_on_failure=False)
    assert report.failures and all(message in line for line in report.failures[:1])
