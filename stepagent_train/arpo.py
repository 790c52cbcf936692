"""ARPO (Dong et al., 2025): entropy-adaptive branching rollouts for multi-turn tool use, GRPO objective.

Our reading of the paper and of the authors' rollout code
(RUC-NLPIR/ARPO, ``vllm_rollout_with_tools.py``), choice by choice (flag):

* **Budget.** Each task gets ``group_size`` trajectories (ARPO's M; 16
  shipped). ``initial_rollouts`` of them start from reset (8 shipped); the
  rest come from branching; a task whose tree ends short of the budget gets
  fresh rollouts from reset (which do not branch) until it is full.
* **Where to branch.** Right after a tool result: at every turn after the
  first (every non-final action of a tool env is a tool call). The turn's
  action is sampled first; its entropy ``H_now`` is the mean per-token
  entropy of the first ``entropy_window`` generated tokens (20 shipped),
  from the policy's full distribution at the sampling temperature (ARPO
  approximates it from the top-10 log-probabilities; we have the whole
  distribution locally), divided by ``log |V|`` so it lies in [0, 1]. A
  ranked turn (an env listing ``valid_actions``) uses the entropy over the
  candidates divided by ``log(#candidates)``.
* **Initial entropy.** ``H_init`` of a task is the mean normalised entropy
  of its initial rollouts' first turns (the answer to the prompt alone),
  computed afresh each iteration (the authors' per-prompt dict is never
  cleared between batches; we do not copy that).
* **Branching rule.** At each branch point each path draws up to ``beam -
  1`` copies; a copy is made when ``U(0, 1) - branch_w * (H_now - H_init) <=
  branch_p`` (p = 0.5, w = 0.2, beam 2 shipped), while the task's budget
  lasts. A copy is the path up to the tool result (env deep-copied, history
  and earlier turns shared): it samples its own action for this turn, so
  siblings share every token before the branch point. The draws come from
  a generator seeded with ``(seed, iteration)``, in path-creation order.
* **Loss.** Advantages are plain GRPO over all the task's trajectories
  (``(R - mean) / (std + eps)``, ``std_normalize``): a shared prefix turn
  appears in each sibling with that sibling's advantage, as in the authors'
  flattened batch. Tool results are observations, part of the next prompt,
  so they carry no loss term (the update scores only the policy's own
  tokens: :mod:`~stepagent_train.critic_free`). The rest (clipped surrogate,
  KL, entropy, schedule, checkpoints, dev evaluation, best) is GRPO's, from
  the shared core.

A GRPO run with the same ``group_size`` (its rollouts all from reset) is
the baseline; ``stepagent-train arpo`` / ``stepagent-train grpo``.
"""

from __future__ import annotations

import copy
import math
import os
import random
from dataclasses import dataclass, field

import numpy as np

from .advantages import grpo
from .config import resolve_run_model
from .critic_free import critic_free_data, critic_free_step
from .loop import check_output_dir, cycle_file, open_session, run_cycles
from .onpolicy import OnPolicyConfig, Turn, start_weights
from .policies import Sample

__all__ = ["ARPOConfig", "branch_copies", "collect_tree", "normalised_entropy", "train_arpo"]

_RESUME_KEYS = ("env", "env_kwargs", "model", "lora", "seed", "tasks_per_iteration", "group_size", "initial_rollouts",
                "beam", "branch_p", "branch_w", "entropy_window", "temperature", "reward", "batch_size",
                "grad_accum_steps", "update_epochs")


@dataclass(kw_only=True)
class ARPOConfig(OnPolicyConfig):
    """Settings of an ARPO run (the shared fields are :class:`~stepagent_train.onpolicy.OnPolicyConfig`'s)."""

    output_dir: str = field(metadata={"help": "run folder: cycle-N/ (rollouts, reports), checkpoints/, best/, metrics.jsonl, summary.json"})
    group_size: int = field(default=8, metadata={"help": "rollout budget per task: trajectories in its group (ARPO's M; 16 shipped)"})
    initial_rollouts: int = field(default=4, metadata={"help": "rollouts per task started from reset before branching (8 of 16 shipped)"})
    beam: int = field(default=2, metadata={"help": "at a branch point a path makes at most beam - 1 copies (2 shipped; 1: no branching)"})
    branch_p: float = field(default=0.5, metadata={"help": "p of the rule: copy when U(0,1) - w (H_now - H_init) <= p"})
    branch_w: float = field(default=0.2, metadata={"help": "w of the rule: weight of the entropy rise"})
    entropy_window: int = field(default=20, metadata={"help": "generated tokens whose mean entropy is H_now (20 shipped)"})
    std_normalize: bool = field(default=True, metadata={"help": "divide the group-centred return by the group's standard deviation"})

    def __post_init__(self):
        super().__post_init__()
        if self.group_size < 2:
            raise ValueError(f"group_size must be >= 2 for group advantages, got {self.group_size}; try 8")
        if not 1 <= self.initial_rollouts <= self.group_size:
            raise ValueError(f"initial_rollouts must be in 1..group_size ({self.group_size}), got {self.initial_rollouts}")
        if isinstance(self.beam, bool) or not isinstance(self.beam, int) or self.beam < 1:
            raise ValueError(f"beam must be an int >= 1, got {self.beam!r}")
        if not 0 <= self.branch_p <= 1:
            raise ValueError(f"branch_p must be in [0, 1], got {self.branch_p!r}")
        if self.branch_w < 0:
            raise ValueError(f"branch_w must be >= 0, got {self.branch_w!r}")
        if self.entropy_window < 1:
            raise ValueError(f"entropy_window must be >= 1, got {self.entropy_window!r}")


def normalised_entropy(sample: Sample, window: int, vocab_size: int) -> float:
    """The entropy ARPO branches on: mean over the first ``window`` generated tokens' entropies, divided by
    ``log vocab_size`` (a ranked sample: its entropy over the candidates, divided by ``log #candidates``)."""
    if sample.candidates is not None:
        n = len(sample.candidates)
        return float(sample.entropies[0]) / math.log(n) if n > 1 else 0.0
    head = sample.entropies[:window]
    return float(np.mean(head)) / math.log(vocab_size) if head else 0.0


def branch_copies(rng: random.Random, h_now: float, h_init: float, p: float, w: float, beam: int, budget: int) -> int:
    """How many copies a path makes at a branch point: of ``beam - 1`` draws (at most ``budget``), those with
    ``U(0, 1) - w (h_now - h_init) <= p``. Draws stop when the budget is spent."""
    copies = 0
    for _ in range(beam - 1):
        if copies >= budget:
            break
        if rng.random() - w * (h_now - h_init) <= p:
            copies += 1
    return copies


@dataclass
class _Path:
    env: object  #: the path's own env (wrapped: expert-step reward when there is an oracle, and the recorder)
    group: int
    history: list = field(default_factory=list)
    obs: str = ""
    valid: list = field(default_factory=list)
    task: str = ""
    task_id: object = None
    turns: list = field(default_factory=list)  #: per turn: prompt, sample, observation, rewards, expert action
    branches: bool = True  #: whether the path may branch (fresh fill-up rollouts do not)
    tool_calls: int = 0
    won: bool = False
    score: float = 0.0
    done: bool = False


def collect_tree(session, config: ARPOConfig, iteration: int, show_progress: bool = True):
    """Play the iteration's tasks with ARPO's branching rollouts (see the module docstring).

    Returns:
        ``(episodes, report)`` as :func:`~stepagent_train.onpolicy.collect_turns`: per trajectory ``{"turns",
        "group", "won", "score", "task_id", "tool_calls"}``; the report adds ``branches`` (copies made),
        ``fresh_fill`` (fill-up rollouts) and ``tool_calls_per_episode``.
    """
    import gymnasium as gym
    from tqdm import tqdm

    import stepagent_envs  # noqa: F401  (registers the env ids)
    from wrappers import ExpertStepReward, RecordTrajectories

    path_file = cycle_file(config.output_dir, iteration, "rollouts.jsonl")
    os.makedirs(os.path.dirname(path_file), exist_ok=True)
    if os.path.exists(path_file):
        os.remove(path_file)  # an interrupted iteration is played again from its start
    template = gym.make(config.env, split="train", **config.env_kwargs_dict())
    if callable(getattr(template.unwrapped, "expert_action", None)):
        template = ExpertStepReward(template, metric=config.metric)
    template = RecordTrajectories(template, path_file, fsync=False)
    rng = np.random.default_rng([config.seed, iteration])  # the same task draws as GRPO's collect_turns
    draws = random.Random(f"arpo-{config.seed}-{iteration}")
    task_ids = getattr(template.unwrapped, "task_ids", None)
    specs = []
    for _ in range(config.tasks_per_iteration):
        reset_seed = int(rng.integers(2**31))
        specs.append((reset_seed, {"task_id": task_ids()[int(rng.integers(len(task_ids())))]} if task_ids else None))
    session.model.eval()
    policy = session.policy(max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                            batch_size=config.generation_batch_size, seed=config.seed * 100_003 + iteration)
    vocab = int(session.model.config.vocab_size)
    budget = [config.group_size - config.initial_rollouts] * len(specs)
    h_init: list[float | None] = [None] * len(specs)
    finished: list[_Path] = []
    stats = {"branches": 0, "fresh_fill": 0}

    def start(group: int, branches: bool) -> _Path:
        env = copy.deepcopy(template)
        obs, info = env.reset(seed=specs[group][0], options=specs[group][1])
        return _Path(env, group, obs=obs, valid=list(info.get("valid_actions") or []), task=info.get("task", ""),
                     task_id=info.get("task_id"), branches=branches)

    def play(paths: list[_Path], bar) -> None:
        while paths:
            prompts = [policy.builder.build(p.task, p.history, p.obs, p.valid) for p in paths]
            samples = policy.sample(prompts)
            first = [(p.group, normalised_entropy(s, config.entropy_window, vocab))
                     for p, s in zip(paths, samples) if not p.history and p.branches]
            for group in {g for g, _ in first}:
                if h_init[group] is None:
                    h_init[group] = float(np.mean([h for g, h in first if g == group]))
            copies = []
            for p, prompt, s in zip(paths, prompts, samples):
                if p.branches and p.history and budget[p.group] > 0:
                    h_now = normalised_entropy(s, config.entropy_window, vocab)
                    n = branch_copies(draws, h_now, h_init[p.group] or 0.0, config.branch_p, config.branch_w,
                                      config.beam, budget[p.group])
                    budget[p.group] -= n
                    stats["branches"] += n
                    # Copied before this turn's action: the copy samples its own action at the branch point.
                    copies += [_Path(copy.deepcopy(p.env), p.group, list(p.history), p.obs, list(p.valid), p.task,
                                     p.task_id, list(p.turns), True, p.tool_calls) for _ in range(n)]
                _step(p, prompt, s)
                if p.done:
                    finished.append(p)
                    bar.update()
            paths = [p for p in paths if not p.done] + copies
            bar.total = len(finished) + len(paths) + sum(budget)
            bar.refresh()

    with tqdm(total=len(specs) * config.group_size, desc="arpo rollout", disable=not show_progress) as bar:
        play([start(g, True) for g in range(len(specs)) for _ in range(config.initial_rollouts)], bar)
        fill = [g for g in range(len(specs)) for _ in range(budget[g])]
        stats["fresh_fill"] = len(fill)
        budget = [0] * len(specs)
        play([start(g, False) for g in fill], bar)
    return _episodes(finished, config, stats)


def _step(p: _Path, prompt, sample: Sample) -> None:
    obs, reward, terminated, truncated, info = p.env.step(sample.action)
    p.turns.append({"prompt": prompt, "sample": sample, "observation": p.obs,
                    "env_reward": float(info.get("env_reward", reward)), "step_reward": info.get("step_reward"),
                    "expert_action": info.get("expert_action")})
    p.tool_calls += not terminated and not info.get("invalid", False)
    p.history.append((p.obs, sample.action))
    p.obs, p.valid = obs, list(info.get("valid_actions") or [])
    if terminated or truncated:
        p.done, p.won, p.score = True, bool(info.get("won", False)), float(info.get("score", 0.0))
        p.env.close()


def _episodes(finished: list[_Path], config: ARPOConfig, stats: dict):
    finished.sort(key=lambda p: p.group)  # stable: within a task, in the order the paths finished
    episodes, unavailable = [], 0
    for i, p in enumerate(finished):
        turns = []
        for t in p.turns:
            unavailable += config.reward != "outcome" and t["expert_action"] is None
            turns.append(Turn(list(t["prompt"].input_ids), t["sample"], config.turn_reward(t["env_reward"], t["step_reward"]),
                              i, t["observation"], prompt=t["prompt"], expert_action=t["expert_action"]))
        episodes.append({"turns": turns, "group": p.group, "won": p.won, "score": p.score, "task_id": p.task_id,
                         "tool_calls": p.tool_calls})
    returns = [sum(t.reward for t in e["turns"]) for e in episodes]
    entropies = [x for e in episodes for t in e["turns"] for x in t.sample.entropies]
    report = {"episodes": len(episodes), "env_steps": sum(len(e["turns"]) for e in episodes),
              "mean_return": float(np.mean(returns)), "success_rate": float(np.mean([e["won"] for e in episodes])),
              "mean_score": float(np.mean([e["score"] for e in episodes])), "expert_unavailable": int(unavailable),
              "sample_entropy": float(np.mean(entropies)) if entropies else 0.0,
              "tool_calls_per_episode": float(np.mean([e["tool_calls"] for e in episodes])), **stats}
    return episodes, report


def train_arpo(config: ARPOConfig, show_progress: bool = True) -> dict:
    """Run ARPO as ``config`` says; returns the summary (also ``summary.json``), as
    :func:`~stepagent_train.grpo.train_grpo`'s."""
    check_output_dir(config, "ARPO")
    os.makedirs(config.output_dir, exist_ok=True)
    start_model = resolve_run_model(config.model)
    session = open_session(config, start_model, _RESUME_KEYS, name="ARPO")
    reference = start_weights(config, start_model) if config.kl_coef > 0 else None

    def collect(iteration: int):
        episodes, report = collect_tree(session, config, iteration, show_progress)
        rewards = [[t.reward for t in e["turns"]] for e in episodes]
        advantages = grpo(rewards, [e["group"] for e in episodes], config.std_normalize)
        return critic_free_data(session, config, iteration, episodes, report, advantages, reference)

    def train_step(data, micro_batches: list[list[int]]) -> dict:
        return critic_free_step(session, config, data, micro_batches)

    return run_cycles(config, session, config.iterations, collect, train_step, start_model, "arpo",
                      fresh_optimizer=False, resumable_mid_cycle=False, eval_initial=config.eval_initial,
                      eval_every=config.eval_every, show_progress=show_progress)
