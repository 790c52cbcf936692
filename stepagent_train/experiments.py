"""Experiment cells: one algorithm trained from a shared start on one env and seed, and cached evaluations.

The benchmark scripts (``benchmarks/rl_from_sft.py``, ``benchmarks/reproduce.py``)
build their tables from these pieces, so an algorithm is configured from a
:class:`Budget` in one place. A cell is its run folder: it is finished when its
``summary.json`` lists every cycle, and resumed from its checkpoints otherwise.
Evaluations are cached in a JSON file keyed by the policy's name and checkpoint.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

import numpy as np

from .checkpoint import write_json

__all__ = ["ALGORITHMS", "FROM_DEMOS", "Budget", "cell_cost", "cell_done", "evaluate_cached", "evaluate_teacher", "inspect_cached",
           "paired_interval", "t_interval", "t_quantile95", "tool_calls", "train_cell"]

#: Algorithms a cell can run, with the reward part a spec may give (``algorithm:reward``).
ALGORITHMS = {
    "ppo": "PPO, reward outcome|step|mixed", "grpo": "GRPO, reward outcome|step|mixed", "rloo": "RLOO",
    "gigpo": "GiGPO", "arpo": "ARPO (GRPO advantages over a branching tree)", "llm4teach": "LLM4Teach (oracle teacher)",
    "eto": "ETO (no reward part)", "stepagent": "StepAgent, implicit reflection (step-DPO; no reward part)",
    "stepagent_irl": "StepAgent, inverse reflection: reward step (learned step reward + outcome) or outcome "
                     "(the ablation without step reward: outcome alone, the same cycles)",
}
#: Algorithms that learn from the expert's demonstrations.
FROM_DEMOS = ("eto", "stepagent", "stepagent_irl")


@dataclass
class Budget:
    """What a cell may spend and the settings every algorithm of a table shares."""

    iterations: int = field(default=2, metadata={"help": "iterations / cycles / rounds"})
    tasks: int = field(default=8, metadata={"help": "tasks per iteration (RL), trajectories inspected per cycle (StepAgent), tasks explored per round (ETO)"})
    group_size: int = field(default=4, metadata={"help": "GRPO group size, ARPO's rollout budget per task"})
    initial_rollouts: int | None = field(default=None, metadata={"help": "ARPO: rollouts from reset before branching (None: half the budget)"})
    k: int = field(default=2, metadata={"help": "StepAgent: actions sampled per inspected state"})
    lr: float = field(default=1e-4, metadata={"help": "learning rate of every algorithm"})
    batch_size: int = field(default=8, metadata={"help": "micro-batch size"})
    update_epochs: int = field(default=1, metadata={"help": "on-policy passes over an iteration's turns"})
    sft_weight: float = field(default=0.0, metadata={"help": "StepAgent implicit and ETO: the SFT term's weight"})
    irl_rollouts: str = field(default="prefix", metadata={"help": "StepAgent inverse: prefix, free or both"})
    irl_outcome_weight: float = field(default=0.0, metadata={"help": "StepAgent inverse (reward step): weight of the env's reward beside the learned one"})
    teacher_epsilon: float = field(default=0.3, metadata={"help": "LLM4Teach: the oracle teacher's error rate"})
    max_new_tokens: int = field(default=48, metadata={"help": "longest generated action"})
    max_prompt_tokens: int | None = field(default=None, metadata={"help": "prompt budget (None: the start model's)"})
    max_turns: int | None = field(default=None, metadata={"help": "past turns in prompts (None: the start model's)"})
    mixed_precision: str = field(default="no", metadata={"help": "no or bf16"})
    num_envs: int = field(default=16, metadata={"help": "envs played in parallel"})


def train_cell(algorithm: str, reward: str, env: str, env_kwargs: str | None, seed: int, folder: str, start: str,
               demos: str | None, budget: Budget, show_progress: bool = True) -> dict:
    """Train one cell (resumed when its folder holds checkpoints); returns the run's summary."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}")
    if algorithm in FROM_DEMOS and not demos:
        raise ValueError(f"{algorithm} learns from the expert's demonstrations: pass demos (a records file)")
    b = budget
    base = dict(output_dir=folder, env=env, env_kwargs=env_kwargs, model=start, seed=seed, learning_rate=b.lr,
                batch_size=b.batch_size, dev_episodes=0, eval_initial=False, num_envs=b.num_envs,
                max_prompt_tokens=b.max_prompt_tokens, max_turns=b.max_turns, mixed_precision=b.mixed_precision,
                max_new_tokens=b.max_new_tokens, resume=os.path.isdir(folder))  # the cell's folder: ours to continue
    if algorithm == "eto":
        from .eto import ETOConfig, train_eto

        # A pair is two whole trajectories (~10 turns on StepShop): 8 in one micro-batch held 23 GiB of activations
        # (killed for memory on 24 GiB). One pair per micro-batch, the budget's batch as accumulation: the same step.
        eto = dict(base, batch_size=1, grad_accum_steps=b.batch_size)
        return train_eto(ETOConfig(**eto, train_file=demos, rounds=b.iterations, tasks_per_round=b.tasks,
                                   sft_weight=b.sft_weight), show_progress)
    if algorithm == "stepagent":
        from .step_dpo import StepAgentConfig, train_stepagent

        return train_stepagent(StepAgentConfig(**base, train_file=demos, cycles=b.iterations, trajectories=b.tasks, k=b.k,
                                               sft_weight=b.sft_weight), show_progress=show_progress)
    rl = dict(base, iterations=b.iterations, tasks_per_iteration=b.tasks, update_epochs=b.update_epochs)
    if algorithm == "stepagent_irl":
        from .step_irl import StepIRLConfig, train_step_irl

        if reward == "outcome" and b.irl_rollouts == "prefix":
            raise ValueError("stepagent_irl:outcome (no step reward) learns from the env's reward, which prefix "
                             "turns do not have; set irl_rollouts to free or both")
        weights = dict(reward_weight=0.0, outcome_weight=1.0) if reward == "outcome" else \
            dict(reward_weight=1.0, outcome_weight=b.irl_outcome_weight)
        return train_step_irl(StepIRLConfig(**rl, train_file=demos, trajectories=b.tasks, k=b.k, rollouts=b.irl_rollouts,
                                            **weights), show_progress)
    rl["reward"] = reward or "outcome"
    if algorithm == "ppo":
        from .ppo import PPOConfig, train_ppo

        return train_ppo(PPOConfig(**rl), show_progress)
    if algorithm == "llm4teach":
        from .llm4teach import LLM4TeachConfig, train_llm4teach

        return train_llm4teach(LLM4TeachConfig(**rl, teacher_epsilon=b.teacher_epsilon), show_progress)
    if algorithm == "arpo":
        from .arpo import ARPOConfig, train_arpo

        return train_arpo(ARPOConfig(**rl, group_size=b.group_size,
                                     initial_rollouts=b.initial_rollouts or max(1, b.group_size // 2)), show_progress)
    from .grpo import GRPOConfig, train_grpo

    return train_grpo(GRPOConfig(**rl, group_size=b.group_size, estimator=algorithm), show_progress)


def cell_done(folder: str, iterations: int) -> bool:
    """Whether the cell's run has finished all its ``iterations``."""
    path = os.path.join(folder, "summary.json")
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8") as f:
        return len(json.load(f)["cycles"]) >= iterations


def cell_cost(folder: str) -> dict:
    """What the cell's run spent: ``env_steps`` (rollouts, free rollouts, exploration), ``optimizer_steps``, ``seconds``."""
    with open(os.path.join(folder, "summary.json"), encoding="utf-8") as f:
        cycles = json.load(f)["cycles"]
    env_steps = sum(c.get("env_steps", 0) + c.get("free_env_steps", 0) + c.get("explored", 0) * c.get("mean_steps", 0)
                    for c in cycles)
    seconds = sum(v for c in cycles for v in (c.get("seconds") or {}).values())
    return {"env_steps": int(round(env_steps)), "optimizer_steps": sum(c.get("steps", 0) for c in cycles),
            "seconds": round(seconds, 1)}


def _cache(path: str) -> dict:
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return {}


def evaluate_cached(cache: str, name: str, checkpoint: str, env: str, env_kwargs: dict, episodes: int, num_envs: int,
                    max_new_tokens: int, records: str | None = None, tools: list[str] | None = None) -> dict:
    """The checkpoint's greedy result on the first ``episodes`` test tasks (an ``EvalResult`` dict, plus
    ``tool_calls`` per episode when ``tools``), from ``cache`` (one file per env) when there, else evaluated and added."""
    done, key = _cache(cache), f"{name}@{checkpoint}"  # one cache file per env and split
    if done.get(key, {}).get("episodes") != episodes:
        from .evaluate import evaluate_policy
        from .policies import HFPolicy

        policy = HFPolicy.from_pretrained(checkpoint, device="cpu", max_new_tokens=max_new_tokens)
        if records and os.path.exists(records):
            os.remove(records)  # an evaluation killed midway is played again
        result = asdict(evaluate_policy(policy, env, "test", name, episodes, num_envs, env_kwargs, out=records,
                                        show_progress=False))
        if tools is not None:
            result["tool_calls"] = tool_calls(records, tools) if records else float("nan")
        done[key] = result
        write_json(cache, done)
    return done[key]


def evaluate_teacher(env: str, env_kwargs: dict, epsilon: float, episodes: int):
    """The oracle teacher acting alone on the first ``episodes`` test tasks (an ``EvalResult``): the expert's action
    with probability 1 - ``epsilon``, else another candidate at random (what LLM4Teach's student is taught)."""
    import random

    import gymnasium as gym

    from stepagent_envs import ExpertUnavailable
    from stepagent_envs.evaluate import evaluate

    game = gym.make(env, split="test", **env_kwargs)
    rng = random.Random(0)

    def teacher(obs, info):
        try:
            expert = game.unwrapped.expert_action()
        except ExpertUnavailable:
            return rng.choice(info["valid_actions"])
        others = [a for a in info["valid_actions"] if a != expert]
        return rng.choice(others) if others and rng.random() < epsilon else expert

    try:
        return evaluate(game, teacher, f"teacher e={epsilon}", episodes, show_progress=False)
    finally:
        game.close()


def inspect_cached(cache: str, name: str, checkpoint: str, env: str, env_kwargs: dict, episodes: int, num_envs: int,
                   max_new_tokens: int) -> dict:
    """The checkpoint's step agreement with the expert along the expert's path on the first ``episodes`` test tasks."""
    done, key = _cache(cache), f"{name}@{checkpoint}@{episodes}"  # one cache file per env
    if key not in done:
        from .evaluate import inspect_policy
        from .policies import HFPolicy

        policy = HFPolicy.from_pretrained(checkpoint, device="cpu", max_new_tokens=max_new_tokens)
        done[key] = inspect_policy(policy, env, "test", episodes, num_envs, env_kwargs, show_progress=False)
        write_json(cache, done)
    return done[key]


def tool_calls(path: str, tools: list[str]) -> float:
    """Mean tool calls per episode of a records file: actions naming one of ``tools`` before a bracket."""
    import re

    from wrappers import read_trajectories

    call = re.compile(rf"^\s*({'|'.join(map(re.escape, tools))})\s*\[", re.IGNORECASE)
    records = read_trajectories(path) if os.path.exists(path) else []
    return float(np.mean([sum(bool(call.match(str(s["action"]))) for s in r["steps"]) for r in records])) if records else 0.0


# Two-sided 95% quantiles of Student's t for few degrees of freedom (few seeds), where the expansion below is poor.
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776}


def t_quantile95(df: int) -> float:
    """The two-sided 95% quantile of Student's t with ``df`` degrees of freedom (Cornish-Fisher beyond 4: within 0.004)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    if df in _T95:
        return _T95[df]
    z = 1.959964
    return float(z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
                 + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


def t_interval(values: list[float]) -> list[float]:
    """A 95% t interval of the mean of ``values`` (nan with fewer than two)."""
    values = [v for v in values if v == v]
    if len(values) < 2:
        return [float("nan"), float("nan")]
    half = t_quantile95(len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values))
    return [float(np.mean(values) - half), float(np.mean(values) + half)]


def paired_interval(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """``(mean of a - b, 95% t interval)`` over paired values (the same seeds); ``b`` may be one value for all."""
    if len(b) == 1 and len(a) > 1:
        b = b * len(a)
    if len(a) != len(b):
        raise ValueError(f"paired values need the same count, got {len(a)} and {len(b)}")
    diff = [x - y for x, y in zip(a, b)]
    low, high = t_interval(diff)
    return float(np.mean(diff)) if diff else float("nan"), low, high
