"""Rollouts batched across N envs: one ``policy.act`` call per step for every live env.

Each env is wrapped in :class:`wrappers.ExpertStepReward` (when it has an
oracle, so records carry ``expert_action`` and ``step_reward``) and
:class:`wrappers.RecordTrajectories` (the one record writer). An env whose
episode ends takes the next episode from the queue at once, so the batch stays
full until the queue runs dry.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import gymnasium as gym
from tqdm import tqdm

from wrappers import ExpertStepReward, RecordTrajectories, read_trajectories

from .policies import Policy
from .prompts import Turn

__all__ = ["rollout", "rollout_samples"]


def rollout(policy: Policy, envs: Sequence[gym.Env] | gym.vector.SyncVectorEnv, episodes: Sequence[dict],
            out: str | os.PathLike | None = None, metric: str = "exact", follow: str = "agent",
            show_progress: bool = True) -> list[dict]:
    """Play ``episodes`` with ``policy`` on ``envs`` and return their trajectory records.

    Args:
        policy: Any :class:`~stepagent_train.policies.Policy`; its ``builder`` builds the prompts.
        envs: Made text envs (bare: this function adds the expert-step and recording
            wrappers), or a ``gymnasium.vector.SyncVectorEnv`` of them (its
            sub-envs are reset one by one, each to its own task). An
            ``AsyncVectorEnv`` cannot reset one sub-env to a chosen task; use a
            list or a SyncVectorEnv (generation, not the env, is the cost).
        episodes: Reset arguments per episode, ``{"seed": int | None, "options": dict | None}``
            (see :func:`stepagent_train.collect.episode_specs`).
        out: JSON Lines file the records are appended to; None for a temporary one.
        metric: The expert-step metric of the records' ``step_reward``.
        follow: ``"agent"`` executes the policy's actions; ``"expert"`` executes the
            expert's and only scores the policy's (StepAgent's inspection: the records
            hold the policy's action at each state of the expert's path, and the
            expert's outcome; prompts show the expert's past actions, so they are
            the prompts of ``examples_from_record`` on the expert's trajectory).
        show_progress: Show a progress bar over episodes.

    Returns:
        One record per episode, in the order of ``episodes``.
    """
    if isinstance(envs, gym.vector.VectorEnv):
        if not isinstance(envs, gym.vector.SyncVectorEnv):
            raise TypeError(
                f"{type(envs).__name__} steps its sub-envs in lockstep and cannot reset one to a chosen "
                "task; pass a list of envs or a gymnasium.vector.SyncVectorEnv"
            )
        envs = envs.envs
    envs = list(envs)
    if not envs:
        raise ValueError("envs is empty; pass at least one env")
    if out is None:
        with tempfile.TemporaryDirectory(prefix="stepagent-rollout-") as tmp:
            return rollout(policy, envs, episodes, os.path.join(tmp, "records.jsonl"), metric, follow, show_progress)
    return _play(policy, envs, episodes, out, metric, follow, show_progress, sample=False)[0]


def rollout_samples(policy, envs: Sequence[gym.Env], episodes: Sequence[dict], out: str | os.PathLike,
                    metric: str = "exact", show_progress: bool = True) -> tuple[list[dict], list[list[dict]]]:
    """Play ``episodes`` with ``policy.sample`` (on-policy RL) and keep what the losses need.

    As :func:`rollout`, with the policy sampling (:meth:`~stepagent_train.policies.HFPolicy.sample`).

    Returns:
        ``(records, turns)``: the trajectory records (also appended to ``out``) and, per
        episode, per turn: ``{"prompt", "sample", "env_reward", "step_reward",
        "expert_action", "observation"}`` (``step_reward`` and ``expert_action`` None
        where the env has no oracle; ``expert_action`` None where it raised
        :class:`~stepagent_envs.ExpertUnavailable`).
    """
    return _play(policy, list(envs), episodes, out, metric, "agent", show_progress, sample=True)


def _play(policy, envs, episodes, out, metric, follow, show_progress, sample):
    """The one episode loop: one batched policy call per step for every live env."""
    before = len(read_trajectories(out)) if os.path.exists(out) else 0
    wrapped = []
    for env in envs:
        if callable(getattr(env.unwrapped, "expert_action", None)):
            env = ExpertStepReward(env, metric=metric, follow=follow)
        wrapped.append(RecordTrajectories(env, out, fsync=False))

    queue = list(enumerate(episodes))[::-1]
    # Per env: [episode index, task, history, observation, valid actions], or None when idle.
    slots: list[list | None] = [None] * len(wrapped)
    finished: list[int] = []  # episode indices in the order their records were written
    turns: list[list[dict]] = [[] for _ in episodes]
    with tqdm(total=len(episodes), desc="rollout", disable=not show_progress) as bar:
        while True:
            for k, env in enumerate(wrapped):
                if slots[k] is None and queue:
                    index, spec = queue.pop()
                    obs, info = env.reset(seed=spec.get("seed"), options=spec.get("options"))
                    slots[k] = [index, info.get("task", ""), [], obs, info.get("valid_actions") or []]
            live = [k for k in range(len(wrapped)) if slots[k] is not None]
            if not live:
                break
            prompts = [policy.builder.build(slots[k][1], slots[k][2], slots[k][3], slots[k][4]) for k in live]
            samples = policy.sample(prompts) if sample else None
            actions = [s.action for s in samples] if sample else policy.act(prompts)
            for j, (k, action) in enumerate(zip(live, actions)):
                slot = slots[k]
                obs, reward, terminated, truncated, info = wrapped[k].step(action)
                if sample:
                    turns[slot[0]].append({"prompt": prompts[j], "sample": samples[j], "observation": slot[3],
                                           "env_reward": float(info.get("env_reward", reward)),
                                           "step_reward": info.get("step_reward"), "expert_action": info.get("expert_action")})
                history: list[Turn] = slot[2]
                history.append((slot[3], info["expert_action"] if follow == "expert" else action))
                slot[3] = obs
                slot[4] = info.get("valid_actions") or []
                if terminated or truncated:
                    finished.append(slot[0])
                    slots[k] = None
                    bar.update()
    records = read_trajectories(out)[before:]
    ordered: list[dict] = [{}] * len(episodes)
    for index, record in zip(finished, records):
        ordered[index] = record
    return ordered, turns
