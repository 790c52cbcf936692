"""Tiny text envs for trainer tests: a contextual two-armed bandit and a three-step corridor, in words.

Both list their ``valid_actions`` (so policies rank candidates) and follow the
env contract's info keys; the corridor has an oracle (``expert_action``) so
step rewards can be tested, the bandit has none. Registered on import.
"""

from __future__ import annotations

import gymnasium as gym

from stepagent_envs.contract import TextEnv, text_space

BANDIT_ID = "WordBandit-v0"
CORRIDOR_ID = "WordCorridor-v0"
_LIGHTS = ("green", "red")


class WordBandit(TextEnv):
    """One turn: the light is green (answer ``go``) or red (answer ``stop``); reward 1 when right."""

    def __init__(self, split: str = "train", render_mode: str | None = None):
        self.observation_space = text_space(200)
        self.action_space = text_space(20)
        self.render_mode = render_mode
        self.split = split
        self._light = "green"

    def task_ids(self) -> list[str]:
        return list(_LIGHTS)

    def _info(self, won: bool = False, invalid: bool = False) -> dict:
        return {"task": "Obey the traffic light.", "task_id": self._light, "valid_actions": ["go", "stop"], "won": won,
                "score": float(won), "invalid": invalid}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._light = (options or {}).get("task_id") or _LIGHTS[int(self.np_random.integers(2))]
        return f"The light is {self._light}.", self._info()

    def step(self, action):
        if action not in ("go", "stop"):
            return "Say go or stop.", 0.0, False, False, self._info(invalid=True)
        won = (action == "go") == (self._light == "green")
        return "Done.", float(won), True, False, self._info(won=won)


class WordCorridor(TextEnv):
    """Walk east three times to the door (reward 1 at the door); ``west`` steps back, ``wait`` does nothing."""

    LENGTH = 3

    def __init__(self, split: str = "train", render_mode: str | None = None):
        self.observation_space = text_space(200)
        self.action_space = text_space(20)
        self.render_mode = render_mode
        self.split = split
        self._at = 0

    def task_ids(self) -> list[str]:
        return ["corridor"]

    def _obs(self) -> str:
        return f"You are {self.LENGTH - self._at} steps from the door."

    def _info(self, invalid: bool = False) -> dict:
        won = self._at == self.LENGTH
        return {"task": "Reach the door.", "task_id": "corridor", "valid_actions": ["east", "west", "wait"], "won": won,
                "score": self._at / self.LENGTH, "invalid": invalid}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._at = 0
        return self._obs(), self._info()

    def step(self, action):
        if action not in ("east", "west", "wait"):
            return "Say east, west or wait.", 0.0, False, False, self._info(invalid=True)
        self._at = max(0, self._at + {"east": 1, "west": -1, "wait": 0}[action])
        done = self._at == self.LENGTH
        return self._obs(), float(done), done, False, self._info()

    def expert_action(self) -> str:
        return "east"


for _id, _cls, _steps in ((BANDIT_ID, WordBandit, 1), (CORRIDOR_ID, WordCorridor, 8)):
    if _id not in gym.registry:
        gym.register(_id, entry_point=_cls, max_episode_steps=_steps)


def model_texts() -> list[str]:
    """Text a tokenizer for these envs is trained on."""
    lines = [f"Task: Obey the traffic light. Observation: The light is {c}. Action: go stop" for c in _LIGHTS]
    lines += [f"Task: Reach the door. Observation: You are {n} steps from the door. Action: east west wait" for n in range(4)]
    return lines * 20
