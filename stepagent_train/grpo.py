"""GRPO (and RLOO, GiGPO) for LLM agents on any text env: group advantages, no critic.

Each iteration plays ``tasks_per_iteration`` train tasks ``group_size`` times
from the same reset seed (a group), gives every turn of an episode an
advantage computed from the group (:mod:`~stepagent_train.advantages`), and
minimises the shared critic-free loss over the turns' units (generated tokens, or the
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
times the entropy, averaged over the optimizer step's units
(:func:`~stepagent_train.critic_free.critic_free_loss`). Everything else
(collection, schedule, checkpoints, dev evaluation, best) is the shared core
(:mod:`~stepagent_train.onpolicy`, :mod:`~stepagent_train.loop`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .advantages import gigpo, grpo, rloo
from .config import resolve_run_model
from .loop import check_output_dir, open_session, run_cycles
from .critic_free import critic_free_data, critic_free_step
from .onpolicy import OnPolicyConfig, collect_turns, start_weights

__all__ = ["GRPOConfig", "group_advantages", "train_grpo"]

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
        return critic_free_data(session, config, iteration, episodes, report, group_advantages(episodes, config),
                                reference)

    def train_step(data, micro_batches: list[list[int]]) -> dict:
        return critic_free_step(session, config, data, micro_batches)

    return run_cycles(config, session, config.iterations, collect, train_step, start_model, config.estimator,
                      fresh_optimizer=False, resumable_mid_cycle=False, eval_initial=config.eval_initial,
                      eval_every=config.eval_every, show_progress=show_progress)
