"""Gymnasium wrappers that work on any text env (``str`` observations and actions).

* :class:`ExpertStepReward`: pays at every step for acting like the expert
  (the env's ``expert_action()``, a callable, or recorded demonstrations);
* :class:`RecordTrajectories`: appends one trajectory record per finished
  episode to a JSON Lines file (read back with :func:`read_trajectories`);
* :class:`ParseAction`: extracts the action from a model's free-form answer
  (:func:`parse_action` is the same parser as a function).

Put ParseAction outermost; the other two compose in either order (a recorder
outside the ExpertStepReward also records the expert's actions and step rewards)::

    import gymnasium as gym
    import stepagent_envs  # noqa: F401
    from wrappers import ExpertStepReward, ParseAction, RecordTrajectories

    env = ParseAction(RecordTrajectories(ExpertStepReward(gym.make("StepShop-v0")), "runs.jsonl"))
"""

from .demonstrations import Demonstrations, MissingDemonstrationError
from .expert_step import ExpertStepReward
from .metrics import METRICS, exact_match, normalize_action, similarity, token_f1
from .parse_action import STYLES, ParseAction, parse_action
from .record_trajectories import RecordTrajectories, read_trajectories

__all__ = [
    "METRICS",
    "STYLES",
    "Demonstrations",
    "ExpertStepReward",
    "MissingDemonstrationError",
    "ParseAction",
    "RecordTrajectories",
    "exact_match",
    "normalize_action",
    "parse_action",
    "read_trajectories",
    "similarity",
    "token_f1",
]
