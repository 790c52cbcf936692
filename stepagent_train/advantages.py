"""Advantage estimators over episodes of turns: GAE, GRPO, RLOO and GiGPO.

An episode is a list of per-turn rewards (one per env step, the agent's
action being one turn). Every estimator returns one advantage per turn;
the on-policy losses give each of a turn's units (its generated tokens, or
its chosen candidate) that turn's advantage.

* :func:`gae`: generalised advantage estimation over turns with a critic's
  values (PPO).
* :func:`grpo`: the group-normalised return: episodes of one group (the same
  task and reset seed) get ``(R - mean_g) / (std_g + eps)`` on every turn
  (``std_normalize=False``: ``R - mean_g``). ``R`` is the undiscounted episode return.
* :func:`rloo`: the leave-one-out baseline: ``R_i - mean_{j != i} R_j``.
* :func:`gigpo`: GiGPO (Feng et al., 2025, "Group-in-Group Policy Optimization
  for LLM Agent Training"): the episode-level advantage of :func:`grpo` plus
  ``step_weight`` times a step-level advantage; steps of a group's episodes
  that share an *anchor state* (the same observation text) form a step group,
  and a step's advantage is its discounted return-to-go normalised within its
  step group (0 for a step group of one).

With a group of identical returns every advantage is 0 (nothing to learn from).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

__all__ = ["discounted_returns", "gae", "gigpo", "grpo", "rloo", "standardise"]


def discounted_returns(rewards: Sequence[float], gamma: float) -> list[float]:
    """``G_t = r_t + gamma * G_{t+1}`` for every turn ``t`` of one episode."""
    out, running = [0.0] * len(rewards), 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def gae(rewards: Sequence[float], values: Sequence[float], gamma: float = 1.0, lam: float = 0.95,
        last_value: float = 0.0) -> tuple[list[float], list[float]]:
    """Generalised advantage estimation over one episode's turns.

    ``delta_t = r_t + gamma * V_{t+1} - V_t`` (``V_T = last_value``: 0 when the episode
    ended, the critic's value of the last state when it was cut by the step limit);
    ``A_t = delta_t + gamma * lam * A_{t+1}``; returns (the critic's targets) ``A_t + V_t``.

    Returns:
        ``(advantages, returns)``.
    """
    if len(rewards) != len(values):
        raise ValueError(f"got {len(rewards)} rewards and {len(values)} values; pass one value per turn")
    advantages = [0.0] * len(rewards)
    running, next_value = 0.0, last_value
    for t in range(len(rewards) - 1, -1, -1):
        delta = rewards[t] + gamma * next_value - values[t]
        running = delta + gamma * lam * running
        advantages[t] = running
        next_value = values[t]
    return advantages, [a + v for a, v in zip(advantages, values)]


def _groups(group_ids: Sequence[Hashable]) -> dict[Hashable, list[int]]:
    members: dict[Hashable, list[int]] = {}
    for i, g in enumerate(group_ids):
        members.setdefault(g, []).append(i)
    return members


def standardise(values: np.ndarray, std_normalize: bool = True, eps: float = 1e-6) -> np.ndarray:
    """``values`` minus their mean, divided by their (population) std when ``std_normalize``; all 0 when they are equal."""
    centred = values - values.mean()
    std = values.std()
    if not std_normalize or std == 0:  # identical values: all advantages 0, whatever eps
        return centred
    return centred / (std + eps)


def grpo(episode_rewards: Sequence[Sequence[float]], group_ids: Sequence[Hashable], std_normalize: bool = True,
         eps: float = 1e-6) -> list[list[float]]:
    """Group-normalised episode returns, given to every turn of the episode.

    Args:
        episode_rewards: Per episode, its per-turn rewards.
        group_ids: Per episode, its group (episodes of one task and reset seed).
        std_normalize: Divide by the group's standard deviation (population std, as GRPO).
        eps: Added to the standard deviation.
    """
    returns = np.array([sum(r) for r in episode_rewards], dtype=float)
    advantage = np.zeros(len(returns))
    for members in _groups(group_ids).values():
        advantage[members] = standardise(returns[members], std_normalize, eps)
    return [[float(advantage[i])] * len(r) for i, r in enumerate(episode_rewards)]


def rloo(episode_rewards: Sequence[Sequence[float]], group_ids: Sequence[Hashable]) -> list[list[float]]:
    """Leave-one-out: each episode's return minus the mean return of the other episodes of its group.

    Raises:
        ValueError: A group has a single episode (there is no other episode to compare with).
    """
    returns = np.array([sum(r) for r in episode_rewards], dtype=float)
    advantage = np.zeros(len(returns))
    for group, members in _groups(group_ids).items():
        n = len(members)
        if n < 2:
            raise ValueError(f"RLOO needs at least 2 episodes per group; group {group!r} has {n}")
        total = returns[members].sum()
        advantage[members] = returns[members] - (total - returns[members]) / (n - 1)
    return [[float(advantage[i])] * len(r) for i, r in enumerate(episode_rewards)]


def gigpo(episode_rewards: Sequence[Sequence[float]], group_ids: Sequence[Hashable],
          anchors: Sequence[Sequence[Hashable]], step_weight: float = 1.0, gamma: float = 0.95,
          std_normalize: bool = True, eps: float = 1e-6) -> list[list[float]]:
    """GiGPO: episode-level group advantage plus ``step_weight`` times the step-level one.

    Args:
        episode_rewards: Per episode, its per-turn rewards.
        group_ids: Per episode, its group (the same task and reset seed).
        anchors: Per episode, per turn, the anchor state (e.g. the observation text): turns
            of one group's episodes with equal anchors form a step group.
        step_weight: Weight ``w`` of the step-level advantage.
        gamma: Discount of the step-level return-to-go.
        std_normalize: Divide by standard deviations (both levels).
        eps: Added to standard deviations.
    """
    if any(len(a) != len(r) for a, r in zip(anchors, episode_rewards)) or len(anchors) != len(episode_rewards):
        raise ValueError("anchors must hold one anchor per turn of every episode")
    episode = grpo(episode_rewards, group_ids, std_normalize, eps)
    to_go = [discounted_returns(r, gamma) for r in episode_rewards]
    step = [[0.0] * len(r) for r in episode_rewards]
    for group, members in _groups(group_ids).items():
        step_groups: dict[Hashable, list[tuple[int, int]]] = {}
        for i in members:
            for t, anchor in enumerate(anchors[i]):
                step_groups.setdefault(anchor, []).append((i, t))
        for sites in step_groups.values():
            if len(sites) < 2:
                continue  # a state seen once: no comparison, no step-level advantage
            values = standardise(np.array([to_go[i][t] for i, t in sites]), std_normalize, eps)
            for (i, t), value in zip(sites, values):
                step[i][t] = float(value)
    return [[e + step_weight * s for e, s in zip(ep, st)] for ep, st in zip(episode, step)]
