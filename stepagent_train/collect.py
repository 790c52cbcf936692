"""Expert data: play an env's oracle and record its trajectories.

Each episode goes through :class:`wrappers.ExpertStepReward` (so the record has
the expert-step fields) and :class:`wrappers.RecordTrajectories` (the project's
one record writer). Episodes are deterministic by seed: with ``task_ids()`` the
split's tasks are shuffled with ``seed`` and the first ``episodes`` are played,
episode ``i`` reset with seed ``seed + i``; envs without ``task_ids()`` draw
their task from that seed.
"""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from wrappers import ExpertStepReward, RecordTrajectories, read_trajectories

__all__ = ["collect_expert", "episode_specs"]


def episode_specs(env: gym.Env, episodes: int, seed: int, shuffle: bool = True) -> list[dict]:
    """The reset arguments of ``episodes`` episodes: ``{"seed": ..., "options": {"task_id": ...}}``.

    Args:
        env: The env; when its unwrapped env has ``task_ids()`` tasks are taken from it without repeats.
        episodes: How many episodes.
        seed: Base seed: episode ``i`` resets with ``seed + i``; with ``shuffle``, also the task order's seed.
        shuffle: Shuffle the split's tasks with ``seed`` (else they are taken in split order).

    Raises:
        ValueError: ``episodes`` < 1, or more than the split has tasks.
    """
    if not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an int >= 1, got {episodes!r}")
    task_ids = getattr(env.unwrapped, "task_ids", None)
    if task_ids is None:
        return [{"seed": seed + i, "options": None} for i in range(episodes)]
    ids = list(task_ids())
    if episodes > len(ids):
        raise ValueError(f"episodes={episodes} but the split has {len(ids)} tasks; pass --episodes {len(ids)} or fewer")
    order = np.random.default_rng(seed).permutation(len(ids)) if shuffle else range(len(ids))
    return [{"seed": seed + i, "options": {"task_id": ids[j]}} for i, j in enumerate(list(order)[:episodes])]


def collect_expert(env: gym.Env, out: str | os.PathLike, episodes: int, seed: int = 0, show_progress: bool = True) -> list[dict]:
    """Play the env's oracle for ``episodes`` episodes and append their records to ``out``.

    Args:
        env: A made text env whose unwrapped env has ``expert_action()``; not yet wrapped by
            ExpertStepReward or RecordTrajectories.
        out: The JSON Lines file to append to.
        episodes: How many episodes (see :func:`episode_specs`).
        seed: Base seed.
        show_progress: Show a progress bar.

    Returns:
        The records written, in episode order.
    """
    specs = episode_specs(env, episodes, seed)
    before = len(read_trajectories(out)) if os.path.exists(out) else 0
    recorded = RecordTrajectories(ExpertStepReward(env, metric="exact"), out)
    oracle = env.unwrapped.expert_action
    for spec in tqdm(specs, desc="expert episodes", disable=not show_progress):
        recorded.reset(seed=spec["seed"], options=spec["options"])
        done = False
        while not done:
            _, _, terminated, truncated, _ = recorded.step(oracle())
            done = terminated or truncated
    return read_trajectories(out)[before:]
