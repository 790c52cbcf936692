"""GRPO (and RLOO, GiGPO) for LLM agents on any text env: group advantages, no critic.

Each iteration plays ``tasks_per_iteration`` train tasks ``group_size`` times
from the same reset seed (a group), gives every turn of an episode an
advantage computed from the group (:mod:`~stepagent_train.advantages`), and
minimises :func:`grpo_loss` over the turns' units (generated tokens, or the
chosen candidate where the env lists ``valid_actions``):

* ``estimator=grpo``: ``(R - mean_group) / (std_group + eps)`` (DeepSeekMath's
  outcome supervision; ``std_normalize=False`` keeps ``R - mean``);
* ``estimator=rloo``: ``R - mean of the group's other episodes``;
* ``estimator=gigpo``: the GRPO advantage plus ``gigpo_weight`` times a step-level
  advantage over turns of the group that acted in the same state (GiGPO,
  Feng et al. 2025; ``gigpo_gamma`` discounts the step return-to-go).

``R`` is the episode's summed turn reward under ``reward`` (``outcome``, ``step``
or ``mixed``: "with vs without step reward" is that one flag). The loss per
unit is PPO's clipped surrogate with the group advantage, plus ``kl_coef``
times the k3 KL estimate to the starting policy and minus ``entropy_coef``
times the entropy, averaged over the optimizer step's units. Everything else
(collection, schedule, checkpoints, dev evaluation, best) is the shared core
(:mod:`~stepagent_train.onpolicy`, :mod:`~stepagent_train.loop`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch

from .advantages import gigpo, grpo, rloo
from .config import resolve_run_model
from .loop import check_output_dir, open_session, run_cycles
from .onpolicy import (
    OnPolicyConfig, Turn, clipped_surrogate, collect_turns, cycle_data, kl_penalty, set_reference_logprobs, start_weights,
    unit_scores,
)

__all__ = ["GRPOConfig", "grpo_loss", "train_grpo"]

ESTIMATORS = ("grpo", "rloo", "gigpo")
_RESUME_KEYS = ("env", "env_kwargs", "model", "lora", "seed", "tasks_per_iteration", "group_size", "temperature", "reward",
                "estimator", "batch_size", "grad_accum_steps", "update_epochs")


@dataclass(kw_only=True)
class GRPOConfig(OnPolicyConfig):
    """Settings of a GRPO / RLOO / GiGPO run (the shared fields are :class:`~stepagent_train.onpolicy.OnPolicyConfig`'s)."""

    output_dir: str = field(metadata={"help": "run folder: cycle-N/ (rollouts, reports), checkpoints/, best/, metrics.jsonl, summary.json"})
    group_size: int = field(default=4, metadata={"help": "episodes per task from the same reset seed (>= 2: the group the advantage compares)"})
    estimator: str = field(default="grpo", metadata={"help": "advantage: grpo (group-normalised), rloo (leave-one-out) or gigpo (grpo + step groups)"})
    std_normalize: bool = field(default=True, metadata={"help": "grpo/gigpo: divide by the group's standard deviation (else only centre)"})
    gigpo_weight: float | None = field(default=None, metadata={"help": "gigpo: weight w of the step-level advantage (None: 1.0); only with estimator=gigpo"})
    gigpo_gamma: float = field(default=0.95, metadata={"help": "gigpo: discount of the step-level return-to-go"})

    def __post_init__(self):
        super().__post_init__()
        if self.group_size < 2:
            raise ValueError(f"group_size must be >= 2 for group advantages, got {self.group_size}; try 4")
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"unknown estimator {self.estimator!r}; expected one of {', '.join(ESTIMATORS)}")
        if self.gigpo_weight is not None and self.estimator != "gigpo":
            raise ValueError(f"gigpo_weight={self.gigpo_weight} only applies to estimator=gigpo (got estimator={self.estimator}); "
                             "drop --gigpo-weight or pass --estimator gigpo")
        if self.gigpo_weight is not None and self.gigpo_weight < 0:
            raise ValueError(f"gigpo_weight must be >= 0, got {self.gigpo_weight}")
        if not 0 < self.gigpo_gamma <= 1:
            raise ValueError(f"gigpo_gamma must be in (0, 1], got {self.gigpo_gamma}")


def group_advantages(episodes: list[dict], config: GRPOConfig) -> list[list[float]]:
    """Per episode, per turn, the advantage of ``config.estimator``."""
    rewards = [[t.reward for t in e["turns"]] for e in episodes]
    groups = [e["group"] for e in episodes]
    if config.estimator == "rloo":
        return rloo(rewards, groups)
    if config.estimator == "gigpo":
        anchors = [[t.anchor for t in e["turns"]] for e in episodes]
        weight = 1.0 if config.gigpo_weight is None else config.gigpo_weight
        return gigpo(rewards, groups, anchors, weight, config.gigpo_gamma, config.std_normalize)
    return grpo(rewards, groups, config.std_normalize)


def grpo_loss(logprobs: list[torch.Tensor], entropies: list[torch.Tensor], turns: list[Turn], clip_eps: float,
              kl_coef: float, entropy_coef: float, num_units: int) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss of a micro-batch of turns, summed over units and divided by ``num_units`` (the optimizer
    step's), so micro-batch losses add up to the step's unit mean.

    Args:
        logprobs: Per turn, its units' log-probabilities now (with gradient).
        entropies: Per turn, its units' entropies now.
        turns: The turns (sampled log-probabilities, advantages, reference log-probabilities).
        clip_eps: Ratio clip range.
        kl_coef: Weight of the KL to the reference (the turns need ``ref_logprobs`` when > 0).
        entropy_coef: Weight of the entropy bonus.
        num_units: Units in the whole optimizer step.

    Returns:
        ``(loss, stats)``, stats being sums over this batch's units: ``policy``, ``kl``,
        ``entropy``, ``ratio``, ``clipped``, ``units``.
    """
    new = torch.cat(logprobs)
    device = new.device
    old = torch.tensor([x for t in turns for x in t.sample.logprobs], device=device, dtype=new.dtype)
    adv = torch.tensor([t.advantage for t in turns for _ in range(t.units)], device=device, dtype=new.dtype)
    policy, ratio, clipped = clipped_surrogate(new, old, adv, clip_eps)
    entropy = torch.cat(entropies)
    loss = (policy.sum() - entropy_coef * entropy.sum()) / num_units
    kl = torch.zeros((), device=device)
    if kl_coef > 0:
        ref = torch.tensor([x for t in turns for x in t.ref_logprobs], device=device, dtype=new.dtype)
        kl = kl_penalty(new, ref).sum()
        loss = loss + kl_coef * kl / num_units
    return loss, {"policy": float(policy.detach().sum()), "kl": float(kl.detach()), "entropy": float(entropy.detach().sum()),
                  "ratio": float(ratio.sum()), "clipped": float(clipped.sum()), "units": float(len(new))}


def train_grpo(config: GRPOConfig, show_progress: bool = True) -> dict:
    """Run GRPO / RLOO / GiGPO as ``config`` says; returns the summary (also ``summary.json``):
    ``best_checkpoint``, ``best_cycle`` (0: the starting policy), ``start_model``, ``initial_dev``,
    ``cycles`` (per iteration its rollout figures, dev result and checkpoint), ``stopped_early``."""
    check_output_dir(config, config.estimator.upper())
    os.makedirs(config.output_dir, exist_ok=True)
    start_model = resolve_run_model(config.model)
    session = open_session(config, start_model, _RESUME_KEYS, name=config.estimator.upper())
    reference = start_weights(config, start_model) if config.kl_coef > 0 else None

    def collect(iteration: int):
        episodes, report = collect_turns(session, config, iteration, show_progress)
        for episode, advantages in zip(episodes, group_advantages(episodes, config)):
            for turn, advantage in zip(episode["turns"], advantages):
                turn.advantage = advantage
        turns = [t for e in episodes for t in e["turns"]]
        if reference is not None:
            set_reference_logprobs(session.model, turns, session.pad, config.temperature, reference, config.batch_size)
        report["advantage_abs_mean"] = sum(abs(t.advantage) for t in turns) / max(len(turns), 1)
        return cycle_data(turns, report, config, iteration)

    def train_step(data, micro_batches: list[list[int]]) -> dict:
        num_units = sum(data.items[i].units for b in micro_batches for i in b)
        totals: dict[str, float] = {}
        for batch in micro_batches:
            turns = [data.items[i] for i in batch]
            logprobs, entropies, *_ = unit_scores(session.model, turns, session.pad, config.temperature)
            loss, stats = grpo_loss(logprobs, entropies, turns, config.clip_eps, config.kl_coef, config.entropy_coef, num_units)
            session.accelerator.backward(loss)
            for key, value in stats.items():
                totals[key] = totals.get(key, 0.0) + value
        units = totals["units"]
        return {"loss": (totals["policy"] - config.entropy_coef * totals["entropy"] + config.kl_coef * totals["kl"]) / units,
                "policy_loss": totals["policy"] / units, "kl": totals["kl"] / units, "entropy": totals["entropy"] / units,
                "ratio": totals["ratio"] / units, "clip_frac": totals["clipped"] / units, "units": int(units)}

    return run_cycles(config, session, config.iterations, collect, train_step, start_model, config.estimator,
                      fresh_optimizer=False, resumable_mid_cycle=False, eval_initial=config.eval_initial,
                      eval_every=config.eval_every, show_progress=show_progress)
