"""Evaluate an agent on a text env: success rate, mean score and step agreement with the expert.

An agent is any callable ``agent(obs, info) -> action``. Every task of the
split is played once, in order, so two runs evaluate the same episodes.
Step agreement is the fraction of steps where the agent's action equals the
expert's action for the same state (the expert-step ``exact`` metric:
case, whitespace and bracket spacing ignored).

Success rate and mean score come with a 95% percentile-bootstrap interval over
tasks (:func:`bootstrap_ci`: 2,000 resamples of the episodes, seeded), so two
agents are compared by intervals, never by one number.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

import gymnasium as gym
from tqdm import tqdm

from .action_match import exact_match
from .contract import ExpertUnavailable

Agent = Callable[[str, dict], str]


class RandomAgent:
    """Uniform over ``info["valid_actions"]``. Where the space is open it samples the
    env's whole grammar: a tool drawn uniformly from ``info["tools"]`` (StepHotpot-v0:
    search, lookup, finish) with ``num_words`` words of the task and observation as
    its argument; with no tools listed (the shop's search page) it searches
    ``num_words`` words drawn from the task.

    Args:
        seed: seed of the agent's own random generator.
        num_words: words per random argument.
    """

    def __init__(self, seed: int = 0, num_words: int = 3):
        if isinstance(num_words, bool) or not isinstance(num_words, int) or num_words < 1:
            raise ValueError(f"num_words must be a positive int, got {num_words!r}")
        self.rng = random.Random(seed)
        self.num_words = num_words

    def __call__(self, obs: str, info: dict) -> str:
        if info["valid_actions"]:
            return self.rng.choice(info["valid_actions"])
        tools = info.get("tools") or ["search"]
        tool = tools[self.rng.randrange(len(tools))]
        words = info["task"].split() if len(tools) == 1 else (info["task"] + " " + obs).split()
        return f"{tool}[" + " ".join(self.rng.sample(words, min(self.num_words, len(words)))) + "]"


class ExpertAgent:
    """Plays the env's own oracle (``env.unwrapped.expert_action()``)."""

    def __init__(self, env: gym.Env):
        self.env = env

    def __call__(self, obs: str, info: dict) -> str:
        return self.env.unwrapped.expert_action()


@dataclass
class EvalResult:
    """An agent's figures on the first ``episodes`` tasks of a split.

    Attributes:
        agent: The agent's name.
        episodes: Tasks played.
        success_rate: Fraction of tasks won.
        mean_score: Mean final ``info["score"]``.
        step_agreement: Fraction of steps whose action equals the expert's (``exact``;
            a step where the expert could not say, :class:`~stepagent_envs.ExpertUnavailable`,
            counts as disagreement).
        steps: Steps played in all (the table shows steps per episode).
        score_ci95: 95% bootstrap interval of the mean score over tasks, ``[low, high]``.
        success_ci95: 95% bootstrap interval of the success rate over tasks.
        env: The env id played (None where unknown).
        split: The split played (None where unknown).
    """

    agent: str
    episodes: int
    success_rate: float
    mean_score: float
    step_agreement: float
    steps: int
    score_ci95: list[float] = field(default_factory=lambda: [float("nan")] * 2)
    success_ci95: list[float] = field(default_factory=lambda: [float("nan")] * 2)
    env: str | None = None
    split: str | None = None

    @classmethod
    def from_episodes(cls, agent: str, wins: Sequence[bool], scores: Sequence[float], agree: int, steps: int,
                      env: str | None = None, split: str | None = None) -> EvalResult:
        """The result of per-episode outcomes, with their bootstrap intervals."""
        n = len(scores)
        if n == 0 or len(wins) != n:
            raise ValueError(f"need one win flag per score and at least one episode, got {len(wins)} and {n}")
        wins_f = [float(bool(w)) for w in wins]
        return cls(agent, n, sum(wins_f) / n, float(sum(scores)) / n, agree / max(steps, 1), steps,
                   bootstrap_ci(scores), bootstrap_ci(wins_f), env, split)


def bootstrap_ci(values: Sequence[float], confidence: float = 0.95, resamples: int = 2000, seed: int = 0) -> list[float]:
    """Percentile-bootstrap interval of the mean of ``values`` (resampling the values, e.g. tasks).

    Args:
        values: One figure per task (at least one).
        confidence: Coverage of the interval, in (0, 1).
        resamples: Bootstrap resamples.
        seed: Seed of the resampling, so the same values give the same interval.

    Returns:
        ``[low, high]``.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1 - confidence) / 2
    return [float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))]


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
    wins, scores = [], []
    agree = steps = 0
    for tid in tqdm(ids, desc=f"eval {name}", disable=not show_progress, leave=False):
        obs, info = env.reset(options={"task_id": tid})
        done = False
        while not done:
            try:
                expert = env.unwrapped.expert_action()
            except ExpertUnavailable:  # e.g. StepGrid-v0 after a detour it cannot plan back from
                expert = None
            action = agent(obs, info)
            agree += expert is not None and exact_match(action, expert)
            steps += 1
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        wins.append(bool(info["won"]))
        scores.append(float(info["score"]))
    return EvalResult.from_episodes(name, wins, scores, agree, steps, env_name(env), getattr(env.unwrapped, "split", None))


def env_name(env: gym.Env) -> str:
    """The env's registered id, else its class name."""
    return env.spec.id if env.spec is not None else type(env.unwrapped).__name__


def format_table(results: list[EvalResult]) -> str:
    """A plain-text table of results: success and score with their 95% intervals over
    tasks, step agreement and steps per episode, under a line naming each env and split."""
    width = max([10] + [len(r.agent) for r in results])
    head = (f"{'agent':<{width}} {'episodes':>8} {'success':>7} {'95% CI':>14} {'score':>7} {'95% CI':>14} "
            f"{'step agree':>10} {'steps/ep':>8}")
    rows = []
    for where in dict.fromkeys((r.env, r.split) for r in results):
        if where != (None, None):
            rows.append(f"{where[0] or 'env ?'}, split {where[1] or '?'} (95% bootstrap intervals over tasks)")
        rows += [head, "-" * len(head)]
        for r in results:
            if (r.env, r.split) == where:
                rows.append(f"{r.agent:<{width}} {r.episodes:>8} {r.success_rate:>7.3f} {_interval(r.success_ci95):>14} "
                            f"{r.mean_score:>7.3f} {_interval(r.score_ci95):>14} {r.step_agreement:>10.3f} "
                            f"{r.steps / max(r.episodes, 1):>8.1f}")
    return "\n".join(rows)


def _interval(bounds: Sequence[float]) -> str:
    return f"[{bounds[0]:.3f}, {bounds[1]:.3f}]"


def as_dicts(results: list[EvalResult]) -> list[dict]:
    return [asdict(r) for r in results]
