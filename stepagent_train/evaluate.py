"""Evaluate any policy on a split: success rate, mean score and step agreement with the expert.

The metrics are :mod:`stepagent_envs.evaluate`'s (its :class:`EvalResult`,
the first ``episodes`` tasks of the split in order, agreement by the ``exact``
metric); the expert and random agents run through its ``evaluate``, the LLM
policies through batched :func:`~stepagent_train.rollout.rollout`, their
results computed from the trajectory records.

A policy is named by a spec string:

* ``expert`` or ``random``: the env's oracle, the uniform random agent;
* ``http://...`` / ``https://...``: an OpenAI-compatible endpoint (``/v1`` root);
* a folder: an SFT run (its latest checkpoint), a checkpoint, a model or a LoRA adapter;
* anything else: a Hugging Face hub id.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import gymnasium as gym

import stepagent_envs  # noqa: F401  (registers the env ids)
from stepagent_envs.evaluate import EvalResult, ExpertAgent, RandomAgent, evaluate
from wrappers import exact_match

from .checkpoint import latest_checkpoint
from .policies import HFPolicy, Policy
from .rollout import rollout

__all__ = ["PolicySpec", "evaluate_policy", "evaluate_spec", "inspect_policy", "load_policy", "result_from_records"]


@dataclass
class PolicySpec:
    """A policy named on the command line, with the settings to load it.

    ``temperature`` 0 (the default) decodes greedily and picks the best candidate;
    > 0 samples at that temperature, seeded by ``seed`` (local models; an HTTP
    endpoint gets the temperature but draws with its own generator).
    """

    spec: str
    name: str | None = None
    http_model: str | None = None
    api_key: str | None = None
    max_new_tokens: int = 48
    batch_size: int = 64
    temperature: float = 0.0
    seed: int = 0

    @property
    def label(self) -> str:
        """Short name for the results table."""
        if self.name:
            return self.name
        base = os.path.basename(os.path.normpath(self.spec)) if os.path.exists(self.spec) else self.spec
        return base[:10]


def result_from_records(records: list[dict], name: str, split: str | None = None) -> EvalResult:
    """An :class:`EvalResult` from trajectory records with expert-step fields.

    Step agreement is ``exact_match(action, expert_action)`` over all steps, as in
    :func:`stepagent_envs.evaluate.evaluate` (a step without an expert action counts as disagreement).

    Args:
        records: Trajectory records (with ``expert_action`` per step).
        name: The policy's name in the result.
        split: The split the records were played on (for the table's heading).
    """
    if not records:
        raise ValueError("no records to evaluate")
    steps = [s for r in records for s in r["steps"]]
    agree = sum(exact_match(s["action"], s["expert_action"]) for s in steps if s["expert_action"] is not None)
    return EvalResult.from_episodes(name, [bool(r["won"]) for r in records], [float(r["score"]) for r in records],
                                    agree, len(steps), records[0].get("env_id"), split)


def load_policy(spec: PolicySpec) -> Policy:
    """The LLM policy a spec names (not ``expert`` or ``random``, which need the env)."""
    if spec.spec.startswith(("http://", "https://")):
        from .http_policy import HTTPPolicy

        if not spec.http_model:
            raise ValueError(f"policy {spec.spec} is an HTTP endpoint: also pass --http-model <served model name>")
        return HTTPPolicy(spec.spec, spec.http_model, api_key=spec.api_key, max_tokens=spec.max_new_tokens,
                          temperature=spec.temperature)
    path = spec.spec
    if os.path.isdir(path) and not os.path.isfile(os.path.join(path, "config.json")) and not os.path.isfile(os.path.join(path, "adapter_config.json")):
        path = latest_checkpoint(path) or path  # an SFT run folder: its latest checkpoint
    return HFPolicy.from_pretrained(path, max_new_tokens=spec.max_new_tokens, batch_size=spec.batch_size,
                                    temperature=spec.temperature, seed=spec.seed)


def evaluate_policy(policy: Policy, env_id: str, split: str, name: str, episodes: int | None = None,
                    num_envs: int = 16, env_kwargs: dict | None = None, out: str | None = None,
                    show_progress: bool = True) -> EvalResult:
    """Roll ``policy`` out on the first ``episodes`` tasks of the split (all when None).

    Args:
        policy: An LLM policy.
        env_id: A registered env id.
        split: The split.
        name: The policy's name in the result.
        episodes: How many tasks, from the start of the split; None for all.
        num_envs: Envs played in parallel (one generation call per step for all).
        env_kwargs: Further ``gym.make`` arguments.
        out: Also append the trajectory records to this JSON Lines file.
        show_progress: Show a progress bar.
    """
    envs = [gym.make(env_id, split=split, **(env_kwargs or {})) for _ in range(num_envs)]
    ids = _task_ids(envs[0], episodes)
    specs = [{"seed": None, "options": {"task_id": tid}} for tid in ids]
    records = rollout(policy, envs, specs, out=out, show_progress=show_progress)
    for env in envs:
        env.close()
    return result_from_records(records, name, split)


def inspect_policy(policy: Policy, env_id: str, split: str, episodes: int | None = None, num_envs: int = 16,
                   env_kwargs: dict | None = None, show_progress: bool = True) -> dict:
    """Step agreement with the expert along the expert's own path (StepAgent's inspection), per step kind.

    The expert's actions are executed; at each of its states the policy's action
    is compared with the expert's (``exact``). Unlike :func:`evaluate_policy`,
    a policy that leaves the path early is still scored on every later step.
    A step's kind is the env's ``action_kind(expert_action, observation)`` where
    the env defines one (StepShop-v0: search, click product, click option, buy
    now, navigate), else the expert action's verb (the text before ``[``).

    Returns:
        ``{"step_agreement", "steps", "by_kind": {kind: {"agreement", "steps"}}}``.
    """
    envs = [gym.make(env_id, split=split, **(env_kwargs or {})) for _ in range(num_envs)]
    specs = [{"seed": None, "options": {"task_id": tid}} for tid in _task_ids(envs[0], episodes)]
    kind_of = getattr(type(envs[0].unwrapped), "action_kind", None) or _verb
    records = rollout(policy, envs, specs, follow="expert", show_progress=show_progress)
    for env in envs:
        env.close()
    steps = [s for r in records for s in r["steps"]]
    by_kind: dict[str, list[float]] = {}
    for s in steps:
        by_kind.setdefault(kind_of(s["expert_action"], s["observation"]), []).append(exact_match(s["action"], s["expert_action"]))
    return {"step_agreement": sum(v for k in by_kind.values() for v in k) / max(len(steps), 1), "steps": len(steps),
            "by_kind": {k: {"agreement": sum(v) / len(v), "steps": len(v)} for k, v in by_kind.items()}}


def _verb(action: str, observation: str) -> str:
    """A step kind for envs without ``action_kind``: the action's verb (``search``, ``click``, ``go``...)."""
    verb = action.split("[", 1)[0].strip()
    return (verb.split() or ["(empty)"])[0].lower()


def evaluate_spec(spec: PolicySpec, env_id: str, split: str, episodes: int | None = None, num_envs: int = 16,
                  env_kwargs: dict | None = None, seed: int = 0, out: str | None = None, show_progress: bool = True) -> EvalResult:
    """Evaluate the policy a spec names; ``expert`` and ``random`` (seeded by ``seed``) play one env."""
    if spec.spec in ("expert", "random"):
        env = gym.make(env_id, split=split, **(env_kwargs or {}))
        agent = ExpertAgent(env) if spec.spec == "expert" else RandomAgent(seed=seed)
        _task_ids(env, episodes)  # same validation as the LLM path
        result = evaluate(env, agent, spec.name or spec.spec, episodes, show_progress=show_progress)
        env.close()
        return result
    policy = load_policy(spec)
    return evaluate_policy(policy, env_id, split, spec.label, episodes, num_envs, env_kwargs, out, show_progress)


def _task_ids(env: gym.Env, episodes: int | None) -> list:
    ids = env.unwrapped.task_ids()
    if episodes is not None:
        if episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {episodes}")
        ids = ids[:episodes]
    return ids
