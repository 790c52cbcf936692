"""ETO (Song et al., 2024, "Trial and Error"): exploration, then trajectory-level DPO of the expert's
trajectory against the agent's failed one on the same task, in rounds.

StepAgent's main baseline. Each round (a cycle of :func:`~stepagent_train.loop.run_cycles`):

1. **Explore.** ``tasks_per_round`` expert records (all when None) drawn with
   ``(seed, round)``; the current policy plays each record's task (its reset
   seed and ``task_id``) at ``temperature`` (``cycle-N/rollouts.jsonl``).
2. **Pairs.** With ``pair_when`` ``failed``, an agent trajectory that did not win
   is paired with the expert's (chosen = expert, rejected = agent); with
   ``lower``, any agent trajectory scoring below the expert's. A trajectory's
   turns are the shared prompt builder's prompts, turn by turn, each with its own
   history (:func:`~stepagent_train.prompts.examples_from_record`), and answers cut
   to ``max_answer_tokens``.
3. **Reference.** The policy at the round's start: every pair's two trajectory
   log-probabilities (all action tokens of all turns summed) are computed once
   after exploration and saved with the pairs (``cycle-N/pairs.json``).
4. **DPO.** :func:`trajectory_dpo_loss`, ``-log sigmoid(beta * [(log pi(tau+) - log
   pi_ref(tau+)) - (log pi(tau-) - log pi_ref(tau-))])`` averaged over pairs, plus
   ``sft_weight`` times the expert trajectories' token-mean NLL, over the pairs for
   ``num_epochs`` passes in batches of ``batch_size`` pairs, ``grad_accum_steps`` per
   optimizer step, AdamW at a constant rate, fresh each round (the reference moves).
5. **Round end.** A checkpoint, dev evaluation, the best round in ``best/``.
   ``resume`` continues mid-round with the round's saved pairs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .batching import batch_schedule
from .checkpoint import write_json
from .config import ExpertDemosConfig, resolve_run_model
from .loop import CycleData, check_output_dir, cycle_file, open_session, read_json, run_cycles
from .packing import AnswerGroup, group_logprobs
from .prompts import examples_from_record
from .stages import demo_records

__all__ = ["ETOConfig", "TrajectoryPair", "trajectory_dpo_loss", "trajectory_logprobs", "train_eto"]

PAIR_WHEN = ("failed", "lower")
_RESUME_KEYS = ("env", "env_kwargs", "train_file", "demo_episodes", "model", "lora", "tasks_per_round", "temperature",
                "pair_when", "batch_size", "grad_accum_steps", "num_epochs", "seed", "max_prompt_tokens", "max_answer_tokens")


@dataclass(kw_only=True)
class ETOConfig(ExpertDemosConfig):
    """Settings of an ETO run (exploration + trajectory-level DPO, in rounds)."""

    output_dir: str = field(metadata={"help": "run folder: cycle-N/ (rollouts, pairs), checkpoints/, best/, metrics.jsonl, summary.json"})
    model: str | None = field(default=None, metadata={"help": "starting policy: an SFT checkpoint or run folder (usual), a model folder or a hub id; required"})
    lora: bool | None = field(default=False, metadata={"help": "put a new LoRA adapter on a full model (an adapter checkpoint always keeps training its own adapter)"})
    learning_rate: float = field(default=1e-4, metadata={"help": "AdamW learning rate (constant); ~1e-4 LoRA or the offline model"})
    rounds: int = field(default=2, metadata={"help": "exploration + DPO rounds"})
    tasks_per_round: int | None = field(default=64, metadata={"help": "expert tasks explored per round, drawn without replacement (None: all)"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature of exploration (0: greedy)"})
    pair_when: str = field(default="lower", metadata={"help": "pair an agent trajectory with the expert's when it failed (failed) or scored below it (lower)"})
    beta: float = field(default=0.1, metadata={"help": "DPO inverse temperature on the trajectory log-ratio margin"})
    sft_weight: float = field(default=0.0, metadata={"help": "weight of the expert trajectories' token-mean NLL added to the DPO loss"})
    batch_size: int = field(default=1, metadata={"help": "pairs per micro-batch: a pair is two whole trajectories "
                                                     "(all their turns), so 1 bounds memory; grad_accum_steps makes the step"})
    grad_accum_steps: int = field(default=8, metadata={"help": "micro-batches (pairs, at batch_size 1) per optimizer step"})
    num_epochs: int = field(default=1, metadata={"help": "passes over a round's pairs"})
    save_every: int = field(default=50, metadata={"help": "also write a checkpoint every N optimizer steps within a round"})
    eval_initial: bool = field(default=True, metadata={"help": "also evaluate the starting policy on dev (a candidate for best)"})

    def __post_init__(self):
        super().__post_init__()
        if self.model is None:
            raise ValueError("model is required: pass the starting policy, e.g. an SFT run folder (--model runs/sft)")
        for name in ("rounds", "num_epochs", "save_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if self.tasks_per_round is not None and (not isinstance(self.tasks_per_round, int) or self.tasks_per_round < 1):
            raise ValueError(f"tasks_per_round must be None (all) or an int >= 1, got {self.tasks_per_round!r}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature!r}")
        if self.pair_when not in PAIR_WHEN:
            raise ValueError(f"unknown pair_when {self.pair_when!r}; expected one of {', '.join(PAIR_WHEN)}")
        if not self.beta > 0 or self.sft_weight < 0:
            raise ValueError(f"need beta > 0 and sft_weight >= 0, got {self.beta!r} and {self.sft_weight!r}")


@dataclass
class TrajectoryPair:
    """The expert's (chosen) and the agent's (rejected) trajectory on one task, turn by turn:
    ``[prompt_ids, answer_ids]`` per turn."""

    chosen: list[list[list[int]]]
    rejected: list[list[list[int]]]
    task_id: str | None = None
    chosen_score: float = 0.0
    rejected_score: float = 0.0
    ref_chosen_logp: float | None = None
    ref_rejected_logp: float | None = None

    @property
    def tokens(self) -> int:
        return sum(len(p) + len(a) for p, a in self.chosen + self.rejected)


def trajectory_logprobs(model, trajectories: Sequence[Sequence[Sequence[list[int]]]], pad_id: int) -> torch.Tensor:
    """``log pi(tau)`` per trajectory: every turn's answer tokens given its prompt, summed over turns."""
    groups = [AnswerGroup(list(p), [list(a)]) for tau in trajectories for p, a in tau]
    per_turn = torch.cat(group_logprobs(model, groups, pad_id)) if groups else torch.zeros(0)
    return torch.stack([part.sum() for part in per_turn.split([len(tau) for tau in trajectories])])


def trajectory_dpo_loss(chosen_logps: torch.Tensor, rejected_logps: torch.Tensor, ref_chosen_logps: torch.Tensor,
                        ref_rejected_logps: torch.Tensor, beta: float, num_pairs: int, sft_weight: float = 0.0,
                        num_tokens: int | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """ETO's loss of a micro-batch: the DPO term summed over its pairs / ``num_pairs``, plus ``sft_weight``
    times the chosen trajectories' NLL summed / ``num_tokens`` (the optimizer step's totals, so micro-batch
    losses add up to the step's means). Stats are sums over the batch: ``dpo``, ``nll``, ``margin``, ``correct``."""
    logits = beta * ((chosen_logps - ref_chosen_logps) - (rejected_logps - ref_rejected_logps))
    dpo = -F.logsigmoid(logits)
    loss = dpo.sum() / num_pairs
    nll = -chosen_logps.sum()
    if sft_weight:
        if not num_tokens:
            raise ValueError("sft_weight > 0 needs num_tokens, the expert answer tokens of the step")
        loss = loss + sft_weight * nll / num_tokens
    return loss, {"dpo": float(dpo.detach().sum()), "nll": float(nll.detach()), "margin": float(logits.detach().sum()),
                  "correct": float((logits.detach() > 0).sum())}


def _round_pairs(session, records: list[dict], config: ETOConfig, round_: int, show_progress: bool):
    """Explore, pair and score the round's reference log-probabilities (read back when saved)."""
    path = cycle_file(config.output_dir, round_, "pairs.json")
    if os.path.exists(path):
        saved = read_json(path)
        return [TrajectoryPair(**p) for p in saved["pairs"]], saved["report"]
    import gymnasium as gym

    import stepagent_envs  # noqa: F401  (registers the env ids)

    from .rollout import rollout

    rng = np.random.default_rng([config.seed, round_])
    chosen = list(range(len(records)))
    if config.tasks_per_round is not None and config.tasks_per_round < len(records):
        chosen = sorted(rng.choice(len(records), config.tasks_per_round, replace=False).tolist())
    specs = [{"seed": records[r].get("seed"), "options": {"task_id": records[r]["task_id"]}
              if records[r].get("task_id") is not None else None} for r in chosen]
    envs = [gym.make(config.env, split="train", **config.env_kwargs_dict()) for _ in range(config.num_envs)]
    session.model.eval()
    policy = session.policy(max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                            batch_size=config.generation_batch_size, seed=config.seed * 100_003 + round_)
    rollouts = cycle_file(config.output_dir, round_, "rollouts.jsonl")
    os.makedirs(os.path.dirname(rollouts), exist_ok=True)
    if os.path.exists(rollouts):
        os.remove(rollouts)  # an interrupted exploration is played again
    played = rollout(policy, envs, specs, rollouts, show_progress=show_progress)
    for env in envs:
        env.close()

    def turns(record: dict) -> list[list[list[int]]]:
        return [[list(p.input_ids), session.builder.answer_ids(p, a)[: config.max_answer_tokens]]
                for p, a in examples_from_record(session.builder, record)]

    pairs = []
    for r, agent in zip(chosen, played):
        expert = records[r]
        worse = not agent["won"] if config.pair_when == "failed" else float(agent["score"]) < float(expert["score"])
        if worse and agent.get("steps"):
            pairs.append(TrajectoryPair(turns(expert), turns(agent), expert.get("task_id"), float(expert["score"]),
                                        float(agent["score"])))
    was_training = session.model.training
    with torch.no_grad():
        for start in range(0, len(pairs), config.batch_size):
            chunk = pairs[start : start + config.batch_size]
            both = trajectory_logprobs(session.model, [t for p in chunk for t in (p.chosen, p.rejected)], session.pad)
            for i, p in enumerate(chunk):
                p.ref_chosen_logp, p.ref_rejected_logp = float(both[2 * i]), float(both[2 * i + 1])
    session.model.train(was_training)
    report = {"explored": len(played), "pairs": len(pairs), "success_rate": float(np.mean([a["won"] for a in played])),
              "mean_score": float(np.mean([a["score"] for a in played])),
              "mean_steps": float(np.mean([len(a.get("steps") or []) for a in played]))}
    write_json(path, {"round": round_, "report": report, "pairs": [asdict(p) for p in pairs]})
    return pairs, report


def _dpo_step(session, pairs: Sequence[Sequence[TrajectoryPair]], config: ETOConfig) -> dict:
    """Forward and backward of one optimizer step's micro-batches of pairs."""
    num_pairs = sum(len(b) for b in pairs)
    num_tokens = sum(len(a) for b in pairs for p in b for _, a in p.chosen)
    totals: dict[str, float] = {}
    for batch in pairs:
        both = trajectory_logprobs(session.model, [t for p in batch for t in (p.chosen, p.rejected)], session.pad)
        device = both.device
        ref_c = torch.tensor([p.ref_chosen_logp for p in batch], device=device, dtype=both.dtype)
        ref_r = torch.tensor([p.ref_rejected_logp for p in batch], device=device, dtype=both.dtype)
        loss, stats = trajectory_dpo_loss(both[0::2], both[1::2], ref_c, ref_r, config.beta, num_pairs, config.sft_weight,
                                          num_tokens)
        session.accelerator.backward(loss)
        for key, value in stats.items():
            totals[key] = totals.get(key, 0.0) + value
    dpo, nll = totals["dpo"] / num_pairs, totals["nll"] / max(num_tokens, 1)
    return {"loss": dpo + config.sft_weight * nll, "dpo_loss": dpo, "sft_nll": nll, "reward_margin": totals["margin"] / num_pairs,
            "reward_accuracy": totals["correct"] / num_pairs, "pairs": num_pairs}


def train_eto(config: ETOConfig, show_progress: bool = True) -> dict:
    """Run ETO as ``config`` says (see the module docstring).

    Returns:
        The summary (also ``summary.json``): ``best_checkpoint``, ``best_cycle`` (0: the starting
        policy), ``start_model``, ``initial_dev``, ``cycles`` (per round: ``explored``, ``pairs``,
        exploration success and score, ``steps``, ``checkpoint``, ``dev``), ``stopped_early``.
    """
    out = config.output_dir
    check_output_dir(config, "ETO")
    os.makedirs(out, exist_ok=True)
    records = demo_records(config, show_progress)[1]
    start_model = resolve_run_model(config.model)
    session = open_session(config, start_model, _RESUME_KEYS, name="ETO")

    def cycle_data(round_: int) -> CycleData:
        pairs, report = _round_pairs(session, records, config, round_, show_progress)
        lengths = [p.tokens for p in pairs]
        batches = [b for epoch in range(config.num_epochs) for b in
                   batch_schedule(lengths, config.batch_size, config.seed, round_ * 1000 + epoch)] if pairs else []
        steps = [batches[i : i + config.grad_accum_steps] for i in range(0, len(batches), config.grad_accum_steps)]
        return CycleData(pairs, report, steps)

    def train_step(data: CycleData, micro_batches: list[list[int]]) -> dict:
        return _dpo_step(session, [[data.items[i] for i in b] for b in micro_batches], config)

    return run_cycles(config, session, config.rounds, cycle_data, train_step, start_model, "eto",
                      eval_initial=config.eval_initial, show_progress=show_progress)
