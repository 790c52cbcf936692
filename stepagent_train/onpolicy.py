"""The on-policy core PPO and GRPO (and later StepAgent's inverse RL, LLM4Teach, ARPO) share.

One iteration is one cycle of :func:`~stepagent_train.loop.run_cycles`:

1. **Collect.** ``tasks_per_iteration`` train tasks, drawn with ``(seed,
   iteration)``, each played ``group_size`` times from the same reset seed by
   the current policy sampling at ``temperature``
   (:func:`~stepagent_train.rollout.rollout_samples`; every step keeps its
   :class:`~stepagent_train.policies.Sample`: the sampled ids, their
   log-probabilities and entropies). Records go to ``cycle-N/rollouts.jsonl``.
2. **Rewards** per turn, by ``reward``: ``outcome`` the env's own reward;
   ``step`` the expert-step reward of :class:`wrappers.ExpertStepReward`
   (``metric``; 0 where the oracle raised ``ExpertUnavailable``, counted as
   ``expert_unavailable``); ``mixed`` ``step_weight * step + outcome_weight * outcome``.
3. **Score.** The algorithm turns episodes into per-turn advantages (and
   returns for a critic); the reference log-probabilities are computed once
   (``kl_coef`` > 0; the reference is the policy at the run's start: its
   trainable weights are snapshotted and swapped in, no second model).
4. **Optimise.** ``update_epochs`` passes over the turns in shuffled
   micro-batches of ``batch_size`` turns, ``grad_accum_steps`` per optimizer
   step; the loss averages over the step's units (generated tokens, or one
   unit per ranked candidate choice). The first update's ratio is 1: the
   recorded log-probabilities equal the recomputed ones.

The optimizer (AdamW, constant rate) lives for the whole run; checkpoints are
written at iteration ends (resume continues at the next iteration, exactly);
dev evaluation every ``eval_every`` iterations keeps ``best/``.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch

from .config import EnvTrainConfig
from .loop import CycleData, cycle_file, load_start_model
from .packing import AnswerGroup, group_token_logprobs
from .policies import Sample

__all__ = ["OnPolicyConfig", "Turn", "UnitScores", "clipped_surrogate", "collect_turns", "cycle_data", "kl_penalty", "reference_snapshot",
           "set_reference_logprobs", "start_weights", "turn_schedule", "unit_scores"]

REWARDS = ("outcome", "step", "mixed")


@dataclass(kw_only=True)
class OnPolicyConfig(EnvTrainConfig):
    """Settings every on-policy algorithm shares (its own config adds the estimator's)."""

    model: str | None = field(default=None, metadata={"help": "starting policy: an SFT checkpoint or run folder (usual), a model folder or a hub id; required"})
    learning_rate: float = field(default=5e-5, metadata={"help": "AdamW learning rate (constant); ~5e-5 LoRA, ~1e-3 for tiny from scratch"})
    iterations: int = field(default=10, metadata={"help": "collect + optimise iterations"})
    tasks_per_iteration: int = field(default=8, metadata={"help": "train tasks played per iteration (each group_size times)"})
    group_size: int = field(default=1, metadata={"help": "episodes per task from the same reset seed (GRPO's group)"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature of rollouts (> 0); the policy's distribution is softmax(logits / T)"})
    reward: str = field(default="outcome", metadata={"help": "turn reward: outcome (the env's reward alone), step (the expert-step reward), or mixed"})
    step_weight: float = field(default=1.0, metadata={"help": "weight of the step reward under reward=mixed"})
    outcome_weight: float = field(default=1.0, metadata={"help": "weight of the env's reward under reward=mixed"})
    metric: str = field(default="exact", metadata={"help": "expert-step metric of the step reward: exact, f1 or similarity"})
    update_epochs: int = field(default=2, metadata={"help": "passes over an iteration's turns"})
    clip_eps: float = field(default=0.2, metadata={"help": "ratio clip range: min(r A, clip(r, 1 - eps, 1 + eps) A)"})
    kl_coef: float = field(default=0.0, metadata={"help": "weight of the KL penalty to the starting policy (k3 estimator per unit; 0: none, no reference pass)"})
    entropy_coef: float = field(default=0.0, metadata={"help": "weight of the entropy bonus (mean over units)"})
    eval_every: int = field(default=1, metadata={"help": "evaluate on dev every N iterations (and after the last)"})
    eval_initial: bool = field(default=True, metadata={"help": "also evaluate the starting policy on dev (a candidate for best)"})

    def __post_init__(self):
        super().__post_init__()
        if self.model is None:
            raise ValueError("model is required: pass the starting policy, e.g. an SFT run folder (--model runs/sft)")
        for name in ("iterations", "tasks_per_iteration", "group_size", "update_epochs", "eval_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0 (on-policy rollouts sample), got {self.temperature!r}; try 1.0")
        if self.reward not in REWARDS:
            raise ValueError(f"unknown reward {self.reward!r}; expected one of {', '.join(REWARDS)}")
        if self.step_weight < 0 or self.outcome_weight < 0:
            raise ValueError(f"step_weight and outcome_weight must be >= 0, got {self.step_weight} and {self.outcome_weight}")
        if not 0 < self.clip_eps < 1:
            raise ValueError(f"clip_eps must be in (0, 1), got {self.clip_eps!r}; try 0.2")
        if self.kl_coef < 0 or self.entropy_coef < 0:
            raise ValueError(f"kl_coef and entropy_coef must be >= 0, got {self.kl_coef} and {self.entropy_coef}")
        if self.reward != "outcome":
            _check_oracle(self.env)

    def turn_reward(self, env_reward: float, step_reward: float | None) -> float:
        """A turn's reward under ``reward`` (a missing step reward counts 0)."""
        step = step_reward or 0.0
        if self.reward == "outcome":
            return env_reward
        if self.reward == "step":
            return step
        return self.step_weight * step + self.outcome_weight * env_reward


def _check_oracle(env_id: str) -> None:
    """A step reward needs the env's oracle: fail at construction when the env has none."""
    import gymnasium as gym

    import stepagent_envs  # noqa: F401  (registers the env ids)

    try:
        entry = gym.spec(env_id).entry_point
    except gym.error.Error as error:
        raise ValueError(f"unknown env {env_id!r} ({error})") from None
    cls = gym.envs.registration.load_env_creator(entry) if isinstance(entry, str) else entry
    if not callable(getattr(cls, "expert_action", None)):
        raise ValueError(f"reward=step/mixed needs an expert oracle, but {env_id} has no expert_action(); "
                         "use --reward outcome")


@dataclass
class Turn:
    """One agent turn of an iteration's rollouts: what the losses train on.

    Attributes:
        prompt_ids: The prompt's token ids as the policy saw them.
        sample: The sampled action, ids, log-probabilities and entropies.
        reward: The turn's reward under the config's ``reward``.
        episode: The episode's index in the iteration.
        anchor: The state the turn acted in (its observation text; GiGPO's anchor).
        advantage: Set by the algorithm.
        target: The critic's target (PPO), else 0.
        value: The critic's value at sampling time (PPO), else 0.
        ref_logprobs: Per unit, the reference policy's log-probability (``kl_coef`` > 0).
        prompt: The prompt the policy saw (its task, history, observation and candidates).
        expert_action: The env oracle's action in this state (None where it had none).
        teacher: LLM4Teach: a teacher's probability of each candidate (None: no teacher term).
    """

    prompt_ids: list[int]
    sample: Sample
    reward: float
    episode: int
    anchor: str
    advantage: float = 0.0
    target: float = 0.0
    value: float = 0.0
    ref_logprobs: list[float] | None = None
    prompt: Any = None
    expert_action: str | None = None
    teacher: list[float] | None = None

    @property
    def units(self) -> int:
        return len(self.sample.logprobs)


def collect_turns(session, config: OnPolicyConfig, iteration: int, show_progress: bool = True):
    """Play the iteration's episodes with the current policy (see the module docstring, steps 1-2).

    Returns:
        ``(episodes, report)``: per episode ``{"turns": [Turn], "group": int, "won", "score", "task_id"}``,
        and the iteration's figures (mean return, success, score, steps, ``expert_unavailable``).
    """
    import gymnasium as gym

    import stepagent_envs  # noqa: F401  (registers the env ids)

    from .rollout import rollout_samples

    envs = [gym.make(config.env, split="train", **config.env_kwargs_dict()) for _ in range(config.num_envs)]
    rng = np.random.default_rng([config.seed, iteration])
    task_ids = getattr(envs[0].unwrapped, "task_ids", None)
    specs, groups = [], []
    for g in range(config.tasks_per_iteration):
        reset_seed = int(rng.integers(2**31))
        options = {"task_id": task_ids()[int(rng.integers(len(task_ids())))]} if task_ids else None
        for _ in range(config.group_size):
            specs.append({"seed": reset_seed, "options": options})
            groups.append(g)
    session.model.eval()
    policy = session.policy(max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                            batch_size=config.generation_batch_size, seed=config.seed * 100_003 + iteration)
    path = cycle_file(config.output_dir, iteration, "rollouts.jsonl")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.remove(path)  # an interrupted iteration is played again from its start
    records, played = rollout_samples(policy, envs, specs, path, config.metric, show_progress)
    for env in envs:
        env.close()
    episodes, unavailable = [], 0
    for i, (record, turns) in enumerate(zip(records, played)):
        kept = []
        for t in turns:
            unavailable += config.reward != "outcome" and t["expert_action"] is None
            kept.append(Turn(list(t["prompt"].input_ids), t["sample"], config.turn_reward(t["env_reward"], t["step_reward"]),
                             i, t["observation"], prompt=t["prompt"], expert_action=t["expert_action"]))
        episodes.append({"turns": kept, "group": groups[i], "won": bool(record["won"]), "score": float(record["score"]),
                         "task_id": record.get("task_id")})
    returns = [sum(t.reward for t in e["turns"]) for e in episodes]
    entropies = [x for e in episodes for t in e["turns"] for x in t.sample.entropies]
    report = {"episodes": len(episodes), "env_steps": sum(len(e["turns"]) for e in episodes),
              "mean_return": float(np.mean(returns)), "success_rate": float(np.mean([e["won"] for e in episodes])),
              "mean_score": float(np.mean([e["score"] for e in episodes])), "expert_unavailable": int(unavailable),
              "sample_entropy": float(np.mean(entropies)) if entropies else 0.0}
    return episodes, report


class UnitScores(NamedTuple):
    """What :func:`unit_scores` computes for a batch of turns."""

    logprobs: list  #: per turn, its units' log-probabilities (1-D tensors)
    entropies: list  #: per turn, its units' entropies
    hidden: torch.Tensor | None  #: ``[turns, hidden]`` at each prompt's last token (``with_hidden``), else None
    candidates: list  #: per turn, ``log softmax(log p(c) / T)`` over all its candidates (None for a generated turn)


def unit_scores(model, turns: list[Turn], pad_id: int, temperature: float, with_hidden: bool = False) -> UnitScores:
    """Per turn, its units' log-probabilities and entropies under ``model`` now (with gradients unless
    under ``no_grad``), the distribution over its candidates, and the prompt's last hidden state
    when ``with_hidden``.

    A ranked turn has one unit: ``log softmax(log p(c) / T)`` of the chosen candidate
    over all candidates (each scored as answer tokens summed); a generated turn has
    one unit per generated token, ``log softmax(logits / T)`` of the sampled id.
    """
    groups = [AnswerGroup(t.prompt_ids, t.sample.candidates if t.sample.candidates is not None else [t.sample.token_ids])
              for t in turns]
    scores: list = [None] * len(turns)
    for ranked in (True, False):  # candidates are scored at T = 1 (the softmax over them takes T), tokens at T
        part = [k for k, t in enumerate(turns) if (t.sample.candidates is not None) == ranked]
        if part:
            got = group_token_logprobs(model, [groups[k] for k in part], pad_id, 1.0 if ranked else temperature, with_hidden)
            for k, s in zip(part, got):
                scores[k] = s
    logprobs, entropies, candidates = [], [], []
    for t, s in zip(turns, scores):
        if t.sample.candidates is not None:
            logp = torch.log_softmax(torch.stack([x.sum() for x in s.logprobs]) / temperature, -1)
            logprobs.append(logp[t.sample.candidate].reshape(1))
            entropies.append(-(logp.exp() * logp).sum().reshape(1))
            candidates.append(logp)
        else:
            logprobs.append(s.logprobs[0])
            entropies.append(s.entropies[0])
            candidates.append(None)
    hidden = torch.stack([s.hidden for s in scores]) if with_hidden else None
    return UnitScores(logprobs, entropies, hidden, candidates)


def clipped_surrogate(logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor,
                      clip_eps: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PPO's clipped objective per unit, as a loss: ``-min(r A, clip(r, 1 - eps, 1 + eps) A)``,
    ``r = exp(logprobs - old_logprobs)``.

    Returns:
        ``(loss per unit, ratio per unit, clipped per unit as 0/1 floats)``.
    """
    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = ratio * advantages
    clipped = ratio.clamp(1 - clip_eps, 1 + clip_eps) * advantages
    return -torch.minimum(unclipped, clipped), ratio.detach(), (clipped < unclipped).float().detach()


def kl_penalty(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> torch.Tensor:
    """The k3 estimator of KL(pi || pi_ref) per unit: ``exp(ref - logp) - (ref - logp) - 1`` (>= 0, unbiased)."""
    delta = ref_logprobs - logprobs
    return torch.exp(delta) - delta - 1


@contextmanager
def reference_snapshot(model: torch.nn.Module, snapshot: dict[str, torch.Tensor]):
    """Run the model with its trainable weights set to ``snapshot`` (the reference policy), then restore them.

    Only the trainable weights differ from the reference (a LoRA adapter, or all
    weights of a small model), so the reference costs a copy of those, not a second model.
    """
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    current = {n: p.detach().clone() for n, p in params.items()}
    with torch.no_grad():
        for n, p in params.items():
            p.copy_(snapshot[n])
    try:
        yield model
    finally:
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(current[n])


def start_weights(config: OnPolicyConfig, start_model: str) -> dict[str, torch.Tensor]:
    """The starting policy's trainable weights (the KL reference), loaded as the run's start was,
    so a resumed run has the same reference."""
    model = load_start_model(config, start_model)[0]
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def set_reference_logprobs(model, turns: list[Turn], pad_id: int, temperature: float, snapshot, batch_size: int) -> None:
    """Every turn's units' log-probabilities under the reference (``snapshot``), in place."""
    was_training = model.training
    model.eval()
    with torch.no_grad(), reference_snapshot(model, snapshot):
        for start in range(0, len(turns), batch_size):
            chunk = turns[start : start + batch_size]
            for t, lp in zip(chunk, unit_scores(model, chunk, pad_id, temperature).logprobs):
                t.ref_logprobs = lp.tolist()
    model.train(was_training)


def turn_schedule(num_turns: int, config: OnPolicyConfig, iteration: int) -> list[list[list[int]]]:
    """Optimizer steps of micro-batches of turn indices: ``update_epochs`` shuffled passes, cut into
    micro-batches of ``batch_size``, ``grad_accum_steps`` per step (a function of the arguments only)."""
    batches = []
    for epoch in range(config.update_epochs):
        order = np.random.default_rng([config.seed, iteration, epoch]).permutation(num_turns).tolist()
        batches += [order[i : i + config.batch_size] for i in range(0, num_turns, config.batch_size)]
    return [batches[i : i + config.grad_accum_steps] for i in range(0, len(batches), config.grad_accum_steps)]


def cycle_data(turns: list[Turn], report: dict, config: OnPolicyConfig, iteration: int) -> CycleData:
    """The iteration's :class:`~stepagent_train.loop.CycleData` (turns and their schedule)."""
    return CycleData(turns, report, turn_schedule(len(turns), config, iteration) if turns else [])
