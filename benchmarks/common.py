"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable

import gymnasium as gym

#: ``choose(env, obs, info) -> action``
Chooser = Callable[[gym.Env, str, dict], str]


def steps_per_second(env: gym.Env, choose: Chooser, num_steps: int) -> float:
    """Steps per second over ``num_steps`` steps of ``choose``'s actions, resetting
    with seeds 0, 1, 2, ... as episodes end (the choosing is timed too)."""
    obs, info = env.reset(seed=0)
    episode = 0
    start = time.perf_counter()
    for _ in range(num_steps):
        obs, _, terminated, truncated, info = env.step(choose(env, obs, info))
        if terminated or truncated:
            episode += 1
            obs, info = env.reset(seed=episode)
    return num_steps / (time.perf_counter() - start)
