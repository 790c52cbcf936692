"""Evaluate an agent on a text env: success rate, mean score and step agreement with the expert.

An agent is any callable ``agent(obs, info) -> action``. Every task of the
split is played once, in order, so two runs evaluate the same episodes.
Step agreement is the fraction of steps where the agent's action equals the
expert's action for the same state (the expert-step ``exact`` metric:
case, whitespace and bracket spacing ignored).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass

import gymnasium as gym
from tqdm import tqdm

from wrappers.metrics import exact_match

Agent = Callable[[str, dict], str]


class RandomAgent:
    """Uniform over ``info["valid_actions"]``; where the space is open (the shop's
    search page) it searches ``num_words`` words drawn from the instruction.

    Args:
        seed: seed of the agent's own random generator.
        num_words: words per random search query.
    """

    def __init__(self, seed: int = 0, num_words: int = 3):
        self.rng = random.Random(seed)
        self.num_words = num_words

    def __call__(self, obs: str, info: dict) -> str:
        if info["valid_actions"]:
            return self.rng.choice(info["valid_actions"])
        words = info["task"].split()
        return "search[" + " ".join(self.rng.sample(words, min(self.num_words, len(words)))) + "]"


class ExpertAgent:
    """Plays the env's own oracle (``env.unwrapped.expert_action()``)."""

    def __init__(self, env: gym.Env):
        self.env = env

    def __call__(self, obs: str, info: dict) -> str:
        return self.env.unwrapped.expert_action()


@dataclass
class EvalResult:
    agent: str
    episodes: int
    success_rate: float
    mean_score: float
    step_agreement: float
    steps: int


def evaluate(env: gym.Env, agent: Agent, name: str, episodes: int | None = None, show_progress: bool = True) -> EvalResult:
    """Play ``episodes`` tasks of the env's split (all when None) with ``agent``.

    Args:
        env: a made env whose unwrapped env has ``task_ids()`` and ``expert_action()``.
        agent: ``agent(obs, info) -> action``.
        name: the agent's name in the result.
        episodes: how many tasks, from the start of the split; None for all.
        show_progress: show a progress bar.
    """
    ids = env.unwrapped.task_ids()
    if episodes is not None:
        if episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {episodes}")
        ids = ids[:episodes]
    wins = agree = steps = 0
    total_score = 0.0
    for tid in tqdm(ids, desc=f"eval {name}", disable=not show_progress, leave=False):
        obs, info = env.reset(options={"task_id": tid})
        done = False
        while not done:
            expert = env.unwrapped.expert_action()
            action = agent(obs, info)
            agree += exact_match(action, expert)
            steps += 1
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        wins += bool(info["won"])
        total_score += float(info["score"])
    n = len(ids)
    return EvalResult(name, n, wins / n, total_score / n, agree / max(steps, 1), steps)


def format_table(results: list[EvalResult]) -> str:
    """A plain-text table of results."""
    head = f"{'agent':<10} {'episodes':>8} {'success':>8} {'score':>7} {'step agree':>10} {'steps':>7}"
    rows = [head, "-" * len(head)]
    for r in results:
        rows.append(f"{r.agent:<10} {r.episodes:>8} {r.success_rate:>8.3f} {r.mean_score:>7.3f} {r.step_agreement:>10.3f} {r.steps:>7}")
    return "\n".join(rows)


def as_dicts(results: list[EvalResult]) -> list[dict]:
    return [asdict(r) for r in results]
