"""The critic-free policy-gradient update GRPO, RLOO, GiGPO and ARPO share.

The algorithms differ in how they collect episodes and turn them into
per-turn advantages; the update is the same: PPO's clipped surrogate per
unit with the turn's advantage (no value function), plus ``kl_coef`` times
the k3 KL estimate to the starting policy, minus ``entropy_coef`` times the
entropy, averaged over the optimizer step's units. Only the policy's own
units (generated action tokens, or a chosen candidate) enter the loss: what
the env wrote (observations, tool results) is prompt, scored by no term.
"""

from __future__ import annotations

import torch

from .loop import CycleData
from .onpolicy import OnPolicyConfig, Turn, clipped_surrogate, cycle_data, kl_penalty, set_reference_logprobs, unit_scores

__all__ = ["critic_free_data", "critic_free_loss", "critic_free_step"]


def critic_free_data(session, config: OnPolicyConfig, iteration: int, episodes: list[dict], report: dict,
                     advantages: list[list[float]], reference) -> CycleData:
    """The iteration's training data: each turn given its advantage (per episode, per turn), the reference
    log-probabilities computed once when ``reference`` (the starting weights) is given, and
    ``advantage_abs_mean`` added to ``report``."""
    for episode, per_turn in zip(episodes, advantages):
        for turn, advantage in zip(episode["turns"], per_turn):
            turn.advantage = advantage
    turns = [t for e in episodes for t in e["turns"]]
    if reference is not None:
        set_reference_logprobs(session.model, turns, session.pad, config.temperature, reference, config.batch_size)
    report["advantage_abs_mean"] = sum(abs(t.advantage) for t in turns) / max(len(turns), 1)
    return cycle_data(turns, report, config, iteration)


def critic_free_loss(logprobs: list[torch.Tensor], entropies: list[torch.Tensor], turns: list[Turn], clip_eps: float,
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


def critic_free_step(session, config: OnPolicyConfig, data: CycleData, micro_batches: list[list[int]]) -> dict:
    """One optimizer step's backward passes over ``micro_batches`` of ``data``'s turns (each turn's
    ``advantage`` set, and ``ref_logprobs`` when ``kl_coef`` > 0); returns the step's unit means."""
    num_units = sum(data.items[i].units for b in micro_batches for i in b)
    totals: dict[str, float] = {}
    for batch in micro_batches:
        turns = [data.items[i] for i in batch]
        logprobs, entropies, *_ = unit_scores(session.model, turns, session.pad, config.temperature)
        loss, stats = critic_free_loss(logprobs, entropies, turns, config.clip_eps, config.kl_coef, config.entropy_coef,
                                       num_units)
        session.accelerator.backward(loss)
        for key, value in stats.items():
            totals[key] = totals.get(key, 0.0) + value
    units = totals["units"]
    return {"loss": (totals["policy"] - config.entropy_coef * totals["entropy"] + config.kl_coef * totals["kl"]) / units,
            "policy_loss": totals["policy"] / units, "kl": totals["kl"] / units, "entropy": totals["entropy"] / units,
            "ratio": totals["ratio"] / units, "clip_frac": totals["clipped"] / units, "units": int(units)}
