"""check_text_env passes on a contract-following toy env and names the broken check."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

import gymnasium as gym
import pytest

from stepagent_envs.contract import INFO_KEYS, text_space
from stepagent_envs.testing import TextEnvCheckError, check_text_env

TEST_ENV_ID = "TestOnlyKeyRooms-v0"


class KeyRoomsEnv(gym.Env):
    """A corridor of rooms; the last one is behind a locked door whose key lies in
    an earlier room. Reach the last room to win."""

    metadata = {"render_modes": []}

    def __init__(self):
        self.observation_space = text_space(256)
        self.action_space = text_space(32)
        self._rooms = 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self._rooms = int(self.np_random.integers(3, 6))
        self._key_pos = int(self.np_random.integers(0, self._rooms - 1))
        self._pos = 0
        self._has_key = False
        self._locked = True
        self._won = False
        return self._describe("You wake up in a corridor."), self._info(invalid=False)

    def step(self, action):
        if action not in self._valid_actions():
            return self._invalid(action)
        if action == "go east":
            self._pos += 1
            text = "You walk east."
        elif action == "go west":
            self._pos -= 1
            text = "You walk west."
        elif action == "take key":
            self._has_key = True
            text = self._take_key_text()
        elif action == "open door":
            self._locked = False
            text = "The door swings open."
        else:
            text = "You look around."
        self._won = self._pos == self._rooms - 1
        reward = 1.0 if self._won else 0.0
        return self._describe(text), reward, self._won, False, self._info(invalid=False)

    def expert_action(self):
        door = self._rooms - 2
        if not self._has_key:
            if self._pos == self._key_pos:
                return "take key"
            return "go east" if self._key_pos > self._pos else "go west"
        if self._pos == door and self._locked:
            return "open door"
        return "go east"

    # Hooks the broken variants override.
    def _invalid(self, action):
        text = f"Nothing happens. You can: {', '.join(self._valid_actions())}."
        return self._describe(text), 0.0, False, False, self._info(invalid=True)

    def _take_key_text(self):
        return "You take the brass key."

    def _describe(self, text):
        key = " A key lies here." if self._pos == self._key_pos and not self._has_key else ""
        at_door = self._pos == self._rooms - 2 and self._locked
        door = " A locked door leads east." if at_door else ""
        return f"{text} Room {self._pos} of {self._rooms}.{key}{door}"

    def _valid_actions(self):
        door = self._rooms - 2
        actions = ["look"]
        if self._pos > 0:
            actions.append("go west")
        if self._pos < self._rooms - 1 and not (self._pos == door and self._locked):
            actions.append("go east")
        if self._pos == self._key_pos and not self._has_key:
            actions.append("take key")
        if self._pos == door and self._locked and self._has_key:
            actions.append("open door")
        return actions

    def _info(self, invalid):
        return {
            "task": f"Reach room {self._rooms - 1}.",
            "task_id": f"rooms{self._rooms}-key{self._key_pos}",
            "valid_actions": self._valid_actions(),
            "won": self._won,
            "score": 1.0 if self._won else 0.5 if self._has_key else 0.0,
            "invalid": invalid,
        }


class MissingScore(KeyRoomsEnv):
    def _info(self, invalid):
        info = super()._info(invalid)
        del info["score"]
        return info


@dataclass(frozen=True)
class Room:
    index: int


class ObjectInInfo(KeyRoomsEnv):
    """Equal objects pass Gymnasium's checks; the contract wants JSON-like info."""

    def _info(self, invalid):
        return {**super()._info(invalid), "debug": {"room": Room(self._pos)}}


class GlobalRandomObs(KeyRoomsEnv):
    """Only the reset observation is random: Gymnasium compares it only for envs with a spec."""

    def reset(self, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return f"{obs} A clock reads {random.randrange(10**9)}.", info


class InvalidActionCountsStumbles(KeyRoomsEnv):
    """Invalid actions look right on their own but change hidden state."""

    def reset(self, seed=None, options=None):
        self._stumbles = 0
        return super().reset(seed=seed, options=options)

    def _invalid(self, action):
        self._stumbles += 1
        return super()._invalid(action)

    def _describe(self, text):
        return f"{super()._describe(text)} Stumbles: {self._stumbles}."


class InvalidActionFlaggedValid(KeyRoomsEnv):
    def _invalid(self, action):
        obs, reward, terminated, truncated, info = super()._invalid(action)
        return obs, reward, terminated, truncated, {**info, "invalid": False}


class InvalidActionRaises(KeyRoomsEnv):
    def step(self, action):
        if action == "<<not an action 7f3a>>":
            raise ValueError(f"unknown action {action!r}")
        return super().step(action)


class HoldsLock(KeyRoomsEnv):
    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()


class WanderingOracle(KeyRoomsEnv):
    def expert_action(self):
        return "look"


class NonAsciiObs(KeyRoomsEnv):
    def _take_key_text(self):
        return "You take the brass key \u2014 it\u2019s caf\u00e9-cold."


@pytest.fixture
def registered_id():
    gym.register(TEST_ENV_ID, entry_point=KeyRoomsEnv, max_episode_steps=30)
    yield TEST_ENV_ID
    del gym.registry[TEST_ENV_ID]


def test_toy_env_passes():
    check_text_env(KeyRoomsEnv(), env_fn=KeyRoomsEnv)


def test_wrapped_env_from_make_passes(registered_id):
    env = gym.make(registered_id)
    check_text_env(env, seed=5, env_fn=lambda: gym.make(registered_id))
    env.close()


def test_toy_oracle_wins_and_info_keys():
    env = KeyRoomsEnv()
    _, info = env.reset(seed=3)
    assert set(INFO_KEYS) <= set(info)
    for _ in range(20):
        *_, terminated, _, info = env.step(env.expert_action())
        if terminated:
            break
    assert info["won"] and info["score"] == 1.0


@pytest.mark.parametrize(
    ("env_cls", "pattern"),
    [
        (MissingScore, r"\[info\] .*lacks keys \['score'\]"),
        (ObjectInInfo, r"\[info\] info\['debug'\]\['room'\] .* is a Room"),
        (GlobalRandomObs, r"\[determinism\] .*obs differs"),
        (InvalidActionCountsStumbles, r"\[invalid-action\] .*changed the state: obs differs"),
        (InvalidActionFlaggedValid, r"\[invalid-action\] .*info\['invalid'\]=False"),
        (InvalidActionRaises, r"\[invalid-action\] .*raised ValueError: unknown action"),
        (HoldsLock, r"\[pickle\] pickle\.loads\(pickle\.dumps\(env\)\) failed(.|\n)*check_pickle"),
        (WanderingOracle, r"\[oracle\] .*seed=0.* did not win: .*step limit 100 .*'look', 'look'"),
        (NonAsciiObs, r"\[spaces\] .*observation of step\('take key'\).*charset(.|\n)*to_charset"),
    ],
)
def test_broken_env_fails_the_right_check(env_cls, pattern):
    with pytest.raises(TextEnvCheckError, match=pattern):
        check_text_env(env_cls())


def test_unpicklable_env_passes_without_pickle_check():
    check_text_env(HoldsLock(), check_pickle=False)


def test_error_is_an_assertion_error():
    assert issubclass(TextEnvCheckError, AssertionError)


def test_num_steps_must_be_positive():
    with pytest.raises(ValueError, match="num_steps"):
        check_text_env(KeyRoomsEnv(), num_steps=0)


def test_gymnasium_check_env_failure_is_wrapped():
    class ReusedInfo(KeyRoomsEnv):
        """Updates one info dict in place and returns it on every call."""

        def _info(self, invalid):
            self._reused = getattr(self, "_reused", {})
            self._reused.update(super()._info(invalid))
            return self._reused

    with pytest.raises(TextEnvCheckError, match=r"\[gymnasium check_env\] (.|\n)*share an object"):
        check_text_env(ReusedInfo())


def test_oracle_check_can_be_skipped():
    check_text_env(WanderingOracle(), check_oracle=False)
