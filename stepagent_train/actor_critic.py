"""The actor-critic core PPO and LLM4Teach share: a value head on the policy's trunk, GAE over
turns, PPO's clipped loss, and one optimizer step that other terms can join.

The critic is a **value head on the policy's own trunk**: a linear layer on the
last layer's hidden state at the prompt's last token (the state the turn acts
in), trained with the policy (shared trunk, one optimizer; its weights are saved
in the checkpoint as ``trainer/value_head.pt``). It costs one ``hidden_size + 1``
parameter vector and no extra forward: the hidden state comes from the same
forward that scores the actions.

After collection the critic's values ``V(s_t)`` are computed once (no grad),
then GAE over turns (``gamma``, ``gae_lambda``; the value after an episode's
last turn is 0, so an episode cut by the step limit is treated as ended)
gives advantages, normalised over the iteration when
``normalize_advantages``, and critic targets ``A_t + V(s_t)``. The loss
(:func:`ppo_loss`): PPO's clipped surrogate over the turn's units (generated
tokens, or the chosen candidate), ``vf_coef`` times the squared error of the
value (optionally clipped to ``value_clip`` around the old value), ``kl_coef``
times the k3 KL to the starting policy, minus ``entropy_coef`` times the entropy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .advantages import gae
from .loop import CycleData, open_session
from .onpolicy import (
    OnPolicyConfig, Turn, clipped_surrogate, collect_turns, cycle_data, kl_penalty, set_reference_logprobs, start_weights,
    unit_scores,
)

__all__ = ["ActorCriticConfig", "ValueHead", "actor_critic_step", "collect_scored", "open_actor_critic", "ppo_loss",
           "score_episodes"]

#: An extra loss term: ``(turns, candidate log-probabilities per turn, turns in the optimizer step)`` ->
#: ``(loss, stats summed over the turns)``; see :func:`actor_critic_step`.
ExtraLoss = Callable[[list[Turn], list, int], tuple[torch.Tensor, dict[str, float]]]


@dataclass(kw_only=True)
class ActorCriticConfig(OnPolicyConfig):
    """Settings of an actor-critic run (the shared fields are :class:`~stepagent_train.onpolicy.OnPolicyConfig`'s)."""

    output_dir: str = field(metadata={"help": "run folder: cycle-N/ (rollouts, reports), checkpoints/, best/, metrics.jsonl, summary.json"})
    gamma: float = field(default=1.0, metadata={"help": "discount per turn"})
    gae_lambda: float = field(default=0.95, metadata={"help": "GAE lambda over turns (1: Monte-Carlo returns minus values)"})
    vf_coef: float = field(default=0.5, metadata={"help": "weight of the value loss"})
    value_clip: float | None = field(default=None, metadata={"help": "clip the new value to old +- this in the value loss (None: no clipping)"})
    normalize_advantages: bool = field(default=True, metadata={"help": "normalise advantages over the iteration's turns (mean 0, std 1)"})

    def __post_init__(self):
        super().__post_init__()
        if not 0 < self.gamma <= 1 or not 0 <= self.gae_lambda <= 1:
            raise ValueError(f"need 0 < gamma <= 1 and 0 <= gae_lambda <= 1, got {self.gamma} and {self.gae_lambda}")
        if self.vf_coef < 0:
            raise ValueError(f"vf_coef must be >= 0, got {self.vf_coef}")
        if self.value_clip is not None and not self.value_clip > 0:
            raise ValueError(f"value_clip must be None or > 0, got {self.value_clip}")


class ValueHead(torch.nn.Module):
    """``V(s) = w . h(s) + b`` on the LM's last hidden state at the prompt's last token (zero-initialised: V = 0)."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.linear = torch.nn.Linear(hidden_size, 1)
        torch.nn.init.zeros_(self.linear.weight)
        torch.nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden).squeeze(-1)


def ppo_loss(logprobs: list[torch.Tensor], entropies: list[torch.Tensor], values: torch.Tensor, turns: list[Turn],
             config: ActorCriticConfig, num_units: int, num_turns: int) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss of a micro-batch of turns: unit sums divided by the optimizer step's ``num_units``, turn
    sums (the value loss) by its ``num_turns``, so micro-batch losses add up to the step's means.

    Args:
        logprobs: Per turn, its units' log-probabilities now (with gradient).
        entropies: Per turn, its units' entropies now.
        values: ``[turns]`` the critic's values now (with gradient).
        turns: The turns (sampled log-probabilities, advantages, targets, old values, reference log-probabilities).
        config: ``clip_eps``, ``vf_coef``, ``value_clip``, ``kl_coef``, ``entropy_coef``.
        num_units: Units in the whole optimizer step.
        num_turns: Turns in the whole optimizer step.

    Returns:
        ``(loss, stats)``; stats are sums over this batch: ``policy``, ``value``, ``kl``,
        ``entropy``, ``ratio``, ``clipped``, ``units``.
    """
    new = torch.cat(logprobs)
    device, dtype = new.device, new.dtype
    old = torch.tensor([x for t in turns for x in t.sample.logprobs], device=device, dtype=dtype)
    adv = torch.tensor([t.advantage for t in turns for _ in range(t.units)], device=device, dtype=dtype)
    policy, ratio, clipped = clipped_surrogate(new, old, adv, config.clip_eps)
    target = torch.tensor([t.target for t in turns], device=device, dtype=values.dtype)
    value_error = (values - target) ** 2
    if config.value_clip is not None:
        old_values = torch.tensor([t.value for t in turns], device=device, dtype=values.dtype)
        bounded = old_values + (values - old_values).clamp(-config.value_clip, config.value_clip)
        value_error = torch.maximum(value_error, (bounded - target) ** 2)
    entropy = torch.cat(entropies)
    loss = (policy.sum() - config.entropy_coef * entropy.sum()) / num_units + config.vf_coef * 0.5 * value_error.sum() / num_turns
    kl = torch.zeros((), device=device)
    if config.kl_coef > 0:
        ref = torch.tensor([x for t in turns for x in t.ref_logprobs], device=device, dtype=dtype)
        kl = kl_penalty(new, ref).sum()
        loss = loss + config.kl_coef * kl / num_units
    return loss, {"policy": float(policy.detach().sum()), "value": float(0.5 * value_error.detach().sum()),
                  "kl": float(kl.detach()), "entropy": float(entropy.detach().sum()), "ratio": float(ratio.sum()),
                  "clipped": float(clipped.sum()), "units": float(len(new))}


def open_actor_critic(config: ActorCriticConfig, start_model: str, resume_keys: tuple[str, ...], name: str):
    """The run's session with its value head (restored on resume), and the KL reference weights (None
    when ``kl_coef`` is 0)."""
    session = open_session(config, start_model, resume_keys,
                           modules=lambda model: {"value_head": ValueHead(model.config.hidden_size)}, name=name)
    reference = start_weights(config, start_model) if config.kl_coef > 0 else None
    return session, reference


def collect_scored(session, config: ActorCriticConfig, iteration: int, reference, show_progress: bool,
                   annotate: Callable[[list[dict]], dict] | None = None) -> CycleData:
    """Play the iteration (:func:`~stepagent_train.onpolicy.collect_turns`), then values, GAE advantages and
    critic targets, and the reference log-probabilities; ``annotate(episodes)`` may add to the turns
    (and returns figures for the report) before they are batched."""
    episodes, report = collect_turns(session, config, iteration, show_progress)
    return score_episodes(session, config, episodes, report, iteration, reference, annotate)


def score_episodes(session, config: ActorCriticConfig, episodes: list[dict], report: dict, iteration: int, reference,
                   annotate: Callable[[list[dict]], dict] | None = None) -> CycleData:
    """Values, GAE advantages and critic targets of played episodes (``{"turns": [Turn], ...}``, rewards set),
    the reference log-probabilities (``reference``: a weight snapshot, or None for none) and ``annotate``."""
    head = session.modules["value_head"]
    turns = [t for e in episodes for t in e["turns"]]
    session.model.eval()
    with torch.no_grad():
        for start in range(0, len(turns), config.batch_size):
            chunk = turns[start : start + config.batch_size]
            hidden = unit_scores(session.model, chunk, session.pad, config.temperature, with_hidden=True).hidden
            for t, v in zip(chunk, head(hidden).tolist()):
                t.value = v
    for e in episodes:
        advantages, targets = gae([t.reward for t in e["turns"]], [t.value for t in e["turns"]], config.gamma,
                                  config.gae_lambda)
        for t, a, g in zip(e["turns"], advantages, targets):
            t.advantage, t.target = a, g
    if config.normalize_advantages and len(turns) > 1:
        values = torch.tensor([t.advantage for t in turns], dtype=torch.float64)
        mean, std = float(values.mean()), float(values.std())
        for t in turns:
            t.advantage = (t.advantage - mean) / (std + 1e-8)
    if reference is not None:
        set_reference_logprobs(session.model, turns, session.pad, config.temperature, reference, config.batch_size)
    report["mean_value"] = sum(t.value for t in turns) / max(len(turns), 1)
    if annotate is not None:
        report.update(annotate(episodes))
    return cycle_data(turns, report, config, iteration)


def actor_critic_step(session, config: ActorCriticConfig, data: CycleData, micro_batches: list[list[int]],
                      extra: ExtraLoss | None = None) -> dict:
    """One optimizer step's gradients: :func:`ppo_loss` per micro-batch, plus ``extra`` (a term that reads
    each turn's distribution over its candidates; its stats are reported as means over turns, and its value
    is part of the reported ``loss``, which is what the step optimised)."""
    head = session.modules["value_head"]
    num_units = sum(data.items[i].units for b in micro_batches for i in b)
    num_turns = sum(len(b) for b in micro_batches)
    totals: dict[str, float] = {}
    extras: dict[str, float] = {}
    extra_loss = 0.0
    for batch in micro_batches:
        turns = [data.items[i] for i in batch]
        scores = unit_scores(session.model, turns, session.pad, config.temperature, with_hidden=True)
        loss, stats = ppo_loss(scores.logprobs, scores.entropies, head(scores.hidden), turns, config, num_units, num_turns)
        if extra is not None:
            more, more_stats = extra(turns, scores.candidates, num_turns)
            loss = loss + more
            extra_loss += float(more.detach())
            for key, value in more_stats.items():
                extras[key] = extras.get(key, 0.0) + value
        session.accelerator.backward(loss)
        for key, value in stats.items():
            totals[key] = totals.get(key, 0.0) + value
    units = totals["units"]
    policy, entropy, kl = totals["policy"] / units, totals["entropy"] / units, totals["kl"] / units
    value = totals["value"] / num_turns
    metrics = {"loss": policy + config.vf_coef * value - config.entropy_coef * entropy + config.kl_coef * kl + extra_loss,
               "policy_loss": policy, "value_loss": value, "kl": kl, "entropy": entropy, "ratio": totals["ratio"] / units,
               "clip_frac": totals["clipped"] / units, "units": int(units)}
    metrics.update({key: value / num_turns for key, value in extras.items()})
    return metrics
