"""The expert-step oracle wrapper: a reward at every step for acting like the expert."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym

from stepagent_envs.contract import ExpertUnavailable

from .demonstrations import Demonstrations
from .metrics import Metric, resolve_metric
from .parse_action import ParseAction

__all__ = ["FOLLOW", "Expert", "ExpertStepReward"]

#: Whose action is executed: the agent's, or the expert's (StepAgent's inspection).
FOLLOW = ("agent", "expert")

#: A user expert: ``expert(env, obs, info) -> action``.
Expert = Callable[[gym.Env, Any, dict], str]


class ExpertStepReward(gym.Wrapper):
    """Pays, at every step, for how close the agent's action is to the expert's.

    Before each step the expert is asked for its action at the current state;
    then ``step_reward = metric(action, expert_action)`` (in [0, 1]) and the
    reward returned is ``step_weight * step_reward + outcome_weight * env_reward``.
    ``info`` gains ``expert_action``, ``step_reward`` and ``env_reward``.

    The expert is asked only inside ``step`` (a bare env never pays for it),
    with the observation and info last returned by ``reset`` or ``step``. It is,
    in order of precedence:

    * ``expert``, a callable ``expert(env, obs, info) -> str`` called with the
      env this wrapper wraps;
    * ``expert``, recorded demonstrations (a JSON Lines path, a list of
      trajectory records or a :class:`~wrappers.Demonstrations`): the action
      of step ``t`` of the demonstration of ``info["task_id"]``, where ``t``
      counts every step since ``reset``. A task without a demonstration, or an
      episode longer than its demonstration, raises
      :class:`~wrappers.MissingDemonstrationError` from ``step``;
    * else the env's oracle, ``env.unwrapped.expert_action()``.

    When the env's oracle raises :class:`~stepagent_envs.ExpertUnavailable`
    (no plan exists from this state), the step pays no step reward and
    ``info["expert_action"]`` is None; with ``follow="expert"`` the error is
    raised, as there is no action to execute.

    With ``follow="agent"`` the agent's action is executed; one the env flags
    invalid (``info["invalid"]``) scores 0, since it did nothing, which keeps
    the contract's reward of 0 for invalid actions. With ``follow="expert"``
    the expert's action is executed instead and the agent's is only scored: the
    agent is inspected along the expert's path, and the observation returned
    is the one after the expert's action. Actions then no longer steer the env,
    so such an env does not pass ``check_text_env``.

    Wrap the env *below* :class:`~wrappers.ParseAction`, so that parsed actions
    are scored: ``ParseAction(ExpertStepReward(env))``.

    Args:
        env: A text env (``str`` observations and actions).
        metric: ``"exact"``, ``"f1"``, ``"similarity"`` (see
            :mod:`wrappers.metrics`) or a callable
            ``metric(action, expert_action) -> float`` in [0, 1]. Actions that
            are not strings score 0 without calling it.
        step_weight: Weight of the step reward, a finite number >= 0.
        outcome_weight: Weight of the env's own reward, a finite number >= 0.
        follow: ``"agent"`` or ``"expert"``: whose action is executed.
        expert: None (the env's ``expert_action()``), an expert callable, or
            recorded demonstrations, as above.

    Raises:
        ValueError: An argument is out of range, the env has no
            ``expert_action()`` and no ``expert`` is given, or a ParseAction
            is inside ``env``.
        TypeError: ``expert`` is of an unsupported type.
    """

    def __init__(
        self,
        env: gym.Env,
        metric: str | Metric = "exact",
        step_weight: float = 1.0,
        outcome_weight: float = 1.0,
        follow: str = "agent",
        expert: Expert | str | os.PathLike | Sequence[Mapping[str, Any]] | Demonstrations | None = None,
    ):
        super().__init__(env)
        self.metric = resolve_metric(metric)
        self.step_weight = _weight("step_weight", step_weight)
        self.outcome_weight = _weight("outcome_weight", outcome_weight)
        if follow not in FOLLOW:
            raise ValueError(
                f"unknown follow {follow!r}; expected 'agent' (execute the agent's action) "
                "or 'expert' (execute the expert's, scoring the agent's)"
            )
        self.follow = follow
        self.expert, self.demonstrations = _expert_source(env, expert)
        # Bound once: walking env.unwrapped through the wrapper stack costs every step.
        self._oracle = env.unwrapped.expert_action if expert is None else None
        _reject_parse_action_inside(env)
        self._obs: Any = None
        self._info: dict | None = None
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the env, keeping the observation and info the expert will be asked with."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs, self._info, self._steps = obs, info, 0
        return obs, info

    def step(self, action: Any):
        """Ask the expert, execute the agent's (or expert's) action and pay the weighted rewards."""
        if self._info is None:
            raise RuntimeError("ExpertStepReward: call reset() before step()")
        follow_expert = self.follow == "expert"
        try:
            expert_action = self._expert_action()
        except ExpertUnavailable:
            if follow_expert:  # nothing to execute: the caller must end this episode
                raise
            expert_action = None
        obs, env_reward, terminated, truncated, info = self.env.step(expert_action if follow_expert else action)
        if not isinstance(action, str) or expert_action is None or (info.get("invalid") and not follow_expert):
            step_reward = 0.0
        else:
            step_reward = float(self.metric(action, expert_action))
            if not 0.0 <= step_reward <= 1.0:
                raise ValueError(
                    f"metric {getattr(self.metric, '__name__', self.metric)!r} returned {step_reward!r} "
                    f"for action {action!r:.80} and expert action {expert_action!r:.80}; "
                    "a metric must return a float in [0, 1]"
                )
        env_reward = float(env_reward)
        # In place: the env returns a fresh info per call, and a copy would cost every step.
        info["expert_action"] = expert_action
        info["step_reward"] = step_reward
        info["env_reward"] = env_reward
        self._obs, self._info = obs, info
        self._steps += 1
        reward = self.step_weight * step_reward + self.outcome_weight * env_reward
        return obs, reward, terminated, truncated, info

    def _expert_action(self) -> str:
        if self.demonstrations is not None:
            if "task_id" not in self._info:
                raise ValueError(
                    "recorded demonstrations are looked up by info['task_id'], but the env's info "
                    f"has no 'task_id' (keys {sorted(map(str, self._info))}); put the task id in "
                    "info, or pass an expert callable"
                )
            return self.demonstrations.action(self._info["task_id"], self._steps)
        if self.expert is not None:
            action = self.expert(self.env, self._obs, self._info)
        else:
            action = self._oracle()
        if not isinstance(action, str):
            raise TypeError(
                f"the expert returned {action!r:.80} ({type(action).__name__}); an expert action must be a str"
            )
        return action


def _weight(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}; pass e.g. {name}=1.0")
    return float(value)


def _expert_source(env: gym.Env, expert: Any) -> tuple[Expert | None, Demonstrations | None]:
    """The expert callable or the demonstrations (one of them None; both None for the env's oracle)."""
    if expert is None:
        if not callable(getattr(env.unwrapped, "expert_action", None)):
            raise ValueError(
                f"{type(env.unwrapped).__name__} has no expert_action() and no expert was given; pass "
                "expert=<callable expert(env, obs, info) -> str> or expert=<demonstrations: a JSON "
                "Lines path or a list of trajectory records>"
            )
        return None, None
    if isinstance(expert, Demonstrations):
        return None, expert
    if isinstance(expert, (str, os.PathLike, Sequence)):
        return None, Demonstrations(expert)
    if callable(expert):
        return expert, None
    raise TypeError(
        f"expert must be None (the env's expert_action()), a callable expert(env, obs, info) -> str, "
        f"a JSON Lines path, a list of trajectory records or a Demonstrations; got {type(expert).__name__}"
    )


def _reject_parse_action_inside(env: gym.Env) -> None:
    inner = env
    while isinstance(inner, gym.Wrapper):
        if isinstance(inner, ParseAction):
            raise ValueError(
                "ExpertStepReward wraps a ParseAction, so it would score raw model answers and send the "
                "expert's actions through the parser; put ParseAction outside instead: "
                "ParseAction(ExpertStepReward(env))"
            )
        inner = inner.env
