"""Turn-level PPO for LLM agents on any text env: a critic on the LM's hidden state, GAE over turns.

Each iteration plays ``tasks_per_iteration`` train tasks (``group_size`` times
each; 1 by default) with the current policy (:mod:`~stepagent_train.onpolicy`).
A turn is one env step; its reward is the env's outcome, the expert-step
reward or both (``reward``). The critic, advantages and loss are the
actor-critic core's (:mod:`~stepagent_train.actor_critic`): a value head on the
policy's trunk, GAE over turns, PPO's clipped surrogate with a value loss, an
optional KL to the starting policy and an entropy bonus.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .actor_critic import ActorCriticConfig, actor_critic_step, collect_scored, open_actor_critic
from .config import resolve_run_model
from .loop import check_output_dir, run_cycles

__all__ = ["PPOConfig", "train_ppo"]

_RESUME_KEYS = ("env", "env_kwargs", "model", "lora", "seed", "tasks_per_iteration", "group_size", "temperature", "reward",
                "batch_size", "grad_accum_steps", "update_epochs")


@dataclass(kw_only=True)
class PPOConfig(ActorCriticConfig):
    """Settings of a PPO run: the actor-critic core's (:class:`~stepagent_train.actor_critic.ActorCriticConfig`)."""


def train_ppo(config: PPOConfig, show_progress: bool = True) -> dict:
    """Run PPO as ``config`` says; returns the summary (also ``summary.json``): ``best_checkpoint``,
    ``best_cycle`` (0: the starting policy), ``start_model``, ``initial_dev``, ``cycles`` (per
    iteration its rollout figures, dev result and checkpoint), ``stopped_early``."""
    check_output_dir(config, "PPO")
    os.makedirs(config.output_dir, exist_ok=True)
    start_model = resolve_run_model(config.model)
    session, reference = open_actor_critic(config, start_model, _RESUME_KEYS, "PPO")
    return run_cycles(config, session, config.iterations,
                      lambda iteration: collect_scored(session, config, iteration, reference, show_progress),
                      lambda data, micro_batches: actor_critic_step(session, config, data, micro_batches),
                      start_model, "ppo", fresh_optimizer=False, resumable_mid_cycle=False,
                      eval_initial=config.eval_initial, eval_every=config.eval_every, show_progress=show_progress)
