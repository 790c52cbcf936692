"""StepAgent: inspection and implicit-reward reflection (step-level DPO), in cycles.

From Novice to Expert (WWW'25) describes StepAgent without releasing code, so
this file is the reference implementation; every choice is a config field.
The run (:func:`train_stepagent`, on the shared loop :mod:`~stepagent_train.loop`):

0. **Start.** Demonstrations are ``train_file``, or ``demo_episodes`` oracle
   episodes of the train split (:func:`~stepagent_train.stages.collect_demos`).
   The policy is ``model`` (an SFT checkpoint or run folder, a model folder, a
   hub id) or, when None, SFT of ``sft_model`` for ``sft_steps`` steps first
   (:func:`~stepagent_train.stages.sft_stage`). With ``lora`` a new adapter goes
   on a full model (an adapter checkpoint keeps training its own). The start is
   evaluated on dev (``eval_initial``) so that "best" can be "no cycle helped".
1. **Inspection** (cycle ``c``). ``trajectories`` expert records (all when
   None) and ``steps_per_trajectory`` of their steps are drawn with ``(seed,
   c)``. Step ``t``'s prompt is the expert's prefix through the shared
   :class:`~stepagent_train.prompts.PromptBuilder` (exactly what a rollout along
   the expert's path shows). The policy samples ``k`` actions at
   ``temperature``; each is scored against the expert's with ``metric``; the
   mean per position goes to ``cycle-<c>/inspection.json``.
2. **Pairs.** A sample below ``agree_threshold`` gives (prompt, chosen = the
   expert's action, rejected = the sample), once per distinct sample with
   ``unique_pairs``. Answers are the builder's canonical answer ids cut to
   ``max_answer_tokens``; an unparseable sample is kept as rejected text.
3. **Reference.** The policy at the cycle's start. Its log-probabilities of
   both answers are computed once after inspection (eval mode, the training
   forward) and saved with the pairs (``cycle-<c>/pairs.json``), so the DPO
   term starts at ``log 2``.
4. **Reflection.** :func:`step_dpo_loss` over the pairs for ``num_epochs``
   passes: ``-log sigmoid(beta * [(log pi(a*|s) - log pi_ref(a*|s)) - (log
   pi(a|s) - log pi_ref(a|s))])`` with ``log pi`` summed over answer tokens,
   plus ``sft_weight`` times the expert answers' token-mean NLL. Batches of
   ``batch_size`` pairs grouped by length, ``grad_accum_steps`` per optimizer
   step, AdamW at a constant ``learning_rate``, fresh each cycle (the objective
   changes with the reference). With ``shared_prompt`` a pair is one packed row
   (:func:`~stepagent_train.packing.pair_logprobs`), the prompt run once.
5. **Cycle end.** A checkpoint, dev evaluation on ``dev_episodes`` tasks, the
   best cycle by ``select_by`` copied to ``best/``; the next cycle inspects
   with the updated policy, its new reference.

Outputs: ``metrics.jsonl``, ``cycle-<c>/{inspection,pairs,report,dev}.json``,
``cycle-<c>/pairs.jsonl`` (``write_pairs``: prompt/chosen/rejected text that
TRL's ``DPOTrainer`` reads as is, :func:`export_pairs`), ``checkpoints/``,
``best/``, ``summary.json``. ``resume`` continues mid-cycle with the cycle's
saved pairs in the same order. One process (CPU or one GPU).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from wrappers.metrics import resolve_metric

from .batching import batch_schedule
from .checkpoint import write_json
from .config import InspectionConfig, resolve_run_model
from .loop import CycleData, check_output_dir, cycle_file, open_session, read_json, run_cycles
from .models import DEFAULT_MODEL, check_model_name
from .offline_model import OfflineModelConfig
from .packing import PairTokens, pair_logprobs
from .policies import HFPolicy
from .prompts import examples_from_record
from .stages import demo_records, draw_sites, sft_stage

__all__ = [
    "StepAgentConfig", "StepPair", "export_pairs", "inspect_steps", "reference_logprobs", "reflection_step",
    "step_dpo_loss", "train_stepagent",
]

# Fields a resumed run must share with the run it continues: they fix the pairs and their order.
_RESUME_KEYS = ("env", "env_kwargs", "train_file", "demo_episodes", "model", "sft_model", "lora", "trajectories",
                "steps_per_trajectory", "k", "temperature", "metric", "agree_threshold", "unique_pairs",
                "batch_size", "grad_accum_steps", "num_epochs", "seed", "max_prompt_tokens", "max_answer_tokens")


@dataclass(kw_only=True)
class StepAgentConfig(InspectionConfig):
    """Settings of a StepAgent run (inspection + step-level DPO reflection, in cycles); the shared
    fields are :class:`~stepagent_train.config.InspectionConfig`'s."""

    output_dir: str = field(metadata={"help": "run folder: cycle-N/, checkpoints/, best/, metrics.jsonl, summary.json"})
    model: str | None = field(default=None, metadata={"help": "starting policy: SFT checkpoint or run folder, model folder or hub id; None runs SFT of sft_model first"})
    lora: bool | None = field(default=False, metadata={"help": "put a new LoRA adapter on a full model for the StepAgent stage (an adapter checkpoint always keeps training its own adapter)"})
    learning_rate: float = field(default=1e-4, metadata={"help": "AdamW learning rate (constant); ~1e-4 for the offline model or LoRA, ~1e-6 full fine-tuning of a pretrained LLM"})
    max_prompt_tokens: int | None = field(default=None, metadata={"help": "prompt token budget; None: the one saved with the model (what it was trained on), else 512"})
    sft_model: str = field(default=DEFAULT_MODEL, metadata={"help": "model SFT starts from when model is None: smollm2-135m (LoRA), tiny (all weights), a hub id or folder"})
    sft_steps: int = field(default=300, metadata={"help": "SFT optimizer steps when model is None"})
    sft_learning_rate: float = field(default=1e-3, metadata={"help": "SFT peak learning rate when model is None (1e-3 suits LoRA on smollm2-135m; ~3e-3 for tiny from scratch)"})
    cycles: int = field(default=2, metadata={"help": "inspection + reflection cycles"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature of inspection (0: greedy, needs k=1)"})
    metric: str = field(default="exact", metadata={"help": "expert-step metric scoring a sample against the expert: exact, f1 or similarity"})
    agree_threshold: float = field(default=1.0, metadata={"help": "a sample scoring below this forms a (expert, sample) pair; 1.0: any disagreement"})
    unique_pairs: bool = field(default=True, metadata={"help": "one pair per distinct rejected action at a step (repeated samples add no copies)"})
    beta: float = field(default=0.1, metadata={"help": "DPO inverse temperature on the log-ratio margin"})
    sft_weight: float = field(default=0.0, metadata={"help": "weight of the SFT term (token-mean NLL of the expert answers) added to the DPO loss"})
    num_epochs: int = field(default=1, metadata={"help": "passes over a cycle's pairs"})
    save_every: int = field(default=50, metadata={"help": "also write a checkpoint every N optimizer steps within a cycle (one is always written at a cycle's end)"})
    shared_prompt: bool = field(default=True, metadata={"help": "one row per pair, prompt run once for both answers (custom attention mask); False: two rows per pair"})
    eval_initial: bool = field(default=True, metadata={"help": "also evaluate the starting policy on dev (it is then a candidate for best)"})
    write_pairs: bool = field(default=True, metadata={"help": "export each cycle's pairs as cycle-N/pairs.jsonl (prompt/chosen/rejected, TRL DPOTrainer format)"})

    def __post_init__(self):
        super().__post_init__()
        for name in ("sft_steps", "cycles", "num_epochs", "save_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature!r}")
        if self.temperature == 0 and self.k > 1:
            raise ValueError(f"temperature=0 (greedy) gives k={self.k} identical samples; pass temperature > 0 (e.g. 1.0) or k=1")
        try:
            resolve_metric(self.metric)
        except (ValueError, TypeError) as error:
            raise ValueError(f"metric {self.metric!r} is unknown; pass exact, f1 or similarity ({error})") from None
        if not 0 < self.agree_threshold <= 1:
            raise ValueError(f"agree_threshold must be in (0, 1], got {self.agree_threshold!r}; 1.0 pairs every disagreement")
        if not self.beta > 0:
            raise ValueError(f"beta must be > 0, got {self.beta!r}; try 0.1")
        if self.sft_weight < 0:
            raise ValueError(f"sft_weight must be >= 0, got {self.sft_weight!r}")
        if not self.sft_learning_rate > 0:
            raise ValueError(f"sft_learning_rate must be > 0, got {self.sft_learning_rate!r}")
        check_model_name(self.sft_model)


# -- pairs ---------------------------------------------------------------------
@dataclass
class StepPair(PairTokens):
    """A step-level preference pair from inspection (texts are as trained: :meth:`PromptBuilder.answer_text`)."""

    record: int = 0  # index of the expert record in the demonstrations
    step: int = 0  # the step position t in that record
    chosen: str = ""  # the expert's action
    rejected: str = ""  # the policy's sampled action
    score: float = 0.0  # metric(rejected, chosen)
    prompt_text: str = ""
    chosen_text: str = ""
    rejected_text: str = ""
    ref_chosen_logp: float | None = None  # log pi_ref of the chosen answer, set after inspection
    ref_rejected_logp: float | None = None


def inspect_steps(policy: HFPolicy, records: Sequence[dict], config: StepAgentConfig, cycle: int,
                  show_progress: bool = True) -> tuple[list[StepPair], dict]:
    """Inspection: sample ``k`` actions at sampled steps of the expert's path and score them.

    Args:
        policy: The current policy (sampling settings are taken from ``config``).
        records: The expert's trajectory records.
        config: The run's settings (``trajectories``, ``steps_per_trajectory``, ``k``,
            ``metric``, ``agree_threshold``, ``unique_pairs``, ``max_answer_tokens``, ``seed``).
        cycle: The cycle number (seeds the draws and the sampling).
        show_progress: Show a progress bar over generation.

    Returns:
        ``(pairs, inspection)``: the pairs in (record, step, sample) order, and the
        inspection report ``{"cycle", "metric", "k", "agreement", "steps", "samples",
        "pairs", "positions": [{"step", "agreement", "samples"}, ...]}``.
    """
    metric = resolve_metric(config.metric)
    builder = policy.builder
    rng = np.random.default_rng([config.seed, cycle])
    examples = {}
    sites = []  # (record index, step, prompt, expert action)
    for r, t in draw_sites(records, config.trajectories, config.steps_per_trajectory, rng):
        if r not in examples:
            examples[r] = examples_from_record(builder, records[r])
        sites.append((r, t, *examples[r][t]))
    if not sites:
        raise ValueError("inspection found no steps: the demonstrations hold no steps")

    prompts = [site[2] for site in sites]
    samples: list[list[str]] = [[] for _ in sites]
    chunk = policy.batch_size
    flat = [(i, j) for j in range(config.k) for i in range(len(sites))]  # sample j of every site, then j + 1
    with tqdm(total=len(flat), desc=f"inspect cycle {cycle}", disable=not show_progress, leave=False) as bar:
        for start in range(0, len(flat), chunk):
            part = flat[start : start + chunk]
            for (i, _), action in zip(part, policy.act([prompts[i] for i, _ in part])):
                samples[i].append(action)
            bar.update(len(part))

    pairs: list[StepPair] = []
    by_position: dict[int, list[float]] = {}
    for (r, t, prompt, expert), actions in zip(sites, samples):
        chosen_ids = builder.answer_ids(prompt, expert)[: config.max_answer_tokens]
        seen = set()
        for action in actions:
            score = float(metric(action, expert))
            by_position.setdefault(t, []).append(score)
            if score >= config.agree_threshold or (config.unique_pairs and action in seen):
                continue
            seen.add(action)
            rejected_ids = builder.answer_ids(prompt, action)[: config.max_answer_tokens]
            if rejected_ids == chosen_ids:  # the same answer once cut: no preference to learn
                continue
            pairs.append(StepPair(list(prompt.input_ids), chosen_ids, rejected_ids, record=r, step=t, chosen=expert,
                                  rejected=action, score=score, prompt_text=prompt.text,
                                  chosen_text=builder.answer_text(prompt, expert),
                                  rejected_text=builder.answer_text(prompt, action)))
    scores = [s for v in by_position.values() for s in v]
    inspection = {
        "cycle": cycle,
        "metric": config.metric,
        "k": config.k,
        "temperature": config.temperature,
        "agreement": sum(scores) / len(scores),
        "steps": len(sites),
        "samples": len(scores),
        "pairs": len(pairs),
        "positions": [{"step": t, "agreement": sum(v) / len(v), "samples": len(v)} for t, v in sorted(by_position.items())],
    }
    return pairs, inspection


def export_pairs(pairs: Sequence[StepPair], path: str | os.PathLike, eos_token: str | None = None) -> str:
    """Write pairs as a JSON Lines preference dataset: ``{"prompt", "chosen", "rejected"}`` text per line.

    The text is exactly as trained; TRL's ``DPOTrainer`` reads the file as is.
    TRL appends the EOS token to answers without it, so ``eos_token`` (the plain
    format's end marker) is stripped here and TRL trains the same token ids.
    Extra fields (``record``, ``step``, ``score``) are ignored by TRL. Written
    atomically; returns ``path``.
    """
    def strip(text: str) -> str:
        return text[: -len(eos_token)] if eos_token and text.endswith(eos_token) else text

    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps({"prompt": p.prompt_text, "chosen": strip(p.chosen_text), "rejected": strip(p.rejected_text),
                                "record": p.record, "step": p.step, "score": p.score}) + "\n")
    os.replace(tmp, path)
    return path


# -- the forward and the loss --------------------------------------------------
def step_dpo_loss(chosen_logps: torch.Tensor, rejected_logps: torch.Tensor, ref_chosen_logps: torch.Tensor,
                  ref_rejected_logps: torch.Tensor, beta: float, sft_weight: float = 0.0,
                  chosen_tokens: torch.Tensor | None = None, num_pairs: int | None = None,
                  num_tokens: int | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """The step-level DPO loss of a (micro-)batch of pairs, with an optional SFT term.

    ``-log sigmoid(beta * [(log pi(a*|s) - log pi_ref(a*|s)) - (log pi(a|s) - log pi_ref(a|s))])``
    summed over the pairs and divided by ``num_pairs``, plus ``sft_weight`` times
    the chosen answers' NLL summed and divided by ``num_tokens``. Given the
    totals of a whole optimizer step, micro-batch losses add up to the step's
    pair mean and chosen-token mean however pairs fall across micro-batches
    (as :func:`~stepagent_train.sft.sft_loss` does).

    Args:
        chosen_logps: log pi(a*|s) per pair (answer tokens summed), with gradient.
        rejected_logps: log pi(a|s) per pair, with gradient.
        ref_chosen_logps: log pi_ref(a*|s) per pair.
        ref_rejected_logps: log pi_ref(a|s) per pair.
        beta: Inverse temperature.
        sft_weight: Weight of the SFT term (0: none).
        chosen_tokens: Answer tokens of each chosen answer (needed when ``sft_weight`` > 0
            and ``num_tokens`` is None).
        num_pairs: Pairs in the optimizer step (default: this batch's).
        num_tokens: Chosen answer tokens in the optimizer step (default: this batch's).

    Returns:
        ``(loss, stats)``; stats (floats, sums over this batch's pairs): ``dpo`` (the DPO
        term's sum), ``nll`` (the chosen NLL's sum), ``margin`` (sum of
        ``beta * (chosen log-ratio - rejected log-ratio)``, the implicit reward margin),
        ``correct`` (pairs with a positive margin), ``chosen_logratio`` and ``rejected_logratio`` (sums).
    """
    num_pairs = len(chosen_logps) if num_pairs is None else num_pairs
    chosen_ratio = chosen_logps - ref_chosen_logps.to(chosen_logps.dtype)
    rejected_ratio = rejected_logps - ref_rejected_logps.to(rejected_logps.dtype)
    logits = beta * (chosen_ratio - rejected_ratio)
    dpo = -F.logsigmoid(logits)
    loss = dpo.sum() / num_pairs
    nll = -chosen_logps.sum()
    if sft_weight:
        if num_tokens is None:
            if chosen_tokens is None:
                raise ValueError("sft_weight > 0 needs chosen_tokens or num_tokens to average the NLL over tokens")
            num_tokens = int(chosen_tokens.sum())
        loss = loss + sft_weight * nll / num_tokens
    stats = {"dpo": float(dpo.detach().sum()), "nll": float(nll.detach()), "margin": float(logits.detach().sum()),
             "correct": float((logits.detach() > 0).sum()), "chosen_logratio": float(chosen_ratio.detach().sum()),
             "rejected_logratio": float(rejected_ratio.detach().sum())}
    return loss, stats


def reference_logprobs(model: torch.nn.Module, pairs: Sequence[StepPair], pad_id: int, batch_size: int,
                       shared_prompt: bool = True, show_progress: bool = False) -> None:
    """Set ``ref_chosen_logp`` / ``ref_rejected_logp`` of every pair from ``model`` as it is now
    (eval mode, no grad, the training forward), in place."""
    was_training = model.training
    model.eval()
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].prompt_ids))  # similar lengths batch together
    with torch.no_grad():
        for start in tqdm(range(0, len(order), batch_size), desc="reference", disable=not show_progress, leave=False):
            chunk = [pairs[i] for i in order[start : start + batch_size]]
            chosen, rejected = pair_logprobs(model, chunk, pad_id, shared_prompt)
            for p, c, r in zip(chunk, chosen.tolist(), rejected.tolist()):
                p.ref_chosen_logp, p.ref_rejected_logp = c, r
    model.train(was_training)


def reflection_step(model: torch.nn.Module, micro_batches: Sequence[Sequence[StepPair]], pad_id: int, beta: float,
                    sft_weight: float = 0.0, shared_prompt: bool = True, backward=None) -> dict[str, float]:
    """Forward and backward of one optimizer step's micro-batches (gradients accumulate in ``model``).

    Args:
        model: The policy, in train mode.
        micro_batches: The step's micro-batches of pairs with reference log-probabilities.
        pad_id: Padding token id.
        beta: DPO inverse temperature.
        sft_weight: SFT term weight.
        shared_prompt: See :func:`pair_logprobs`.
        backward: ``backward(loss)`` (accelerate's); default ``loss.backward()``.

    Returns:
        The step's figures: ``loss``, ``dpo_loss``, ``sft_nll`` (token mean), ``reward_margin``,
        ``reward_accuracy``, ``chosen_logratio``, ``rejected_logratio`` (pair means), ``pairs``.
    """
    num_pairs = sum(len(b) for b in micro_batches)
    num_tokens = sum(len(p.chosen_ids) for b in micro_batches for p in b)
    device = next(model.parameters()).device
    totals: dict[str, float] = {}
    for batch in micro_batches:
        chosen, rejected = pair_logprobs(model, batch, pad_id, shared_prompt)
        ref_chosen = torch.tensor([p.ref_chosen_logp for p in batch], device=device)
        ref_rejected = torch.tensor([p.ref_rejected_logp for p in batch], device=device)
        loss, stats = step_dpo_loss(chosen, rejected, ref_chosen, ref_rejected, beta, sft_weight,
                                    num_pairs=num_pairs, num_tokens=num_tokens)
        (backward or torch.Tensor.backward)(loss)
        for key, value in stats.items():
            totals[key] = totals.get(key, 0.0) + value
    dpo, nll = totals["dpo"] / num_pairs, totals["nll"] / num_tokens
    return {"loss": dpo + sft_weight * nll, "dpo_loss": dpo, "sft_nll": nll,
            "reward_margin": totals["margin"] / num_pairs, "reward_accuracy": totals["correct"] / num_pairs,
            "chosen_logratio": totals["chosen_logratio"] / num_pairs,
            "rejected_logratio": totals["rejected_logratio"] / num_pairs, "pairs": num_pairs}


# -- the run -------------------------------------------------------------------
def train_stepagent(config: StepAgentConfig, offline_config: OfflineModelConfig | None = None,
                    show_progress: bool = True) -> dict:
    """Run StepAgent as ``config`` says (see the module docstring for every step).

    Args:
        config: The run's settings.
        offline_config: Sizes of the offline model, built when SFT runs first from ``tiny``.
        show_progress: Show progress bars.

    Returns:
        The summary (also ``<output_dir>/summary.json``): ``best_checkpoint`` (a folder
        that loads as a policy: ``best/``, or the starting model when no cycle beat it),
        ``best_cycle`` (0: the starting policy), ``start_model``, ``initial_dev`` (an
        ``EvalResult`` dict or None), ``cycles`` (per cycle: ``cycle``, ``pairs``,
        ``agreement``, ``positions``, ``steps``, ``checkpoint``, ``dev``, ``seconds``),
        ``agreement_by_position`` (per cycle, the inspection's per-step agreement list), ``stopped_early``.
    """
    out = config.output_dir
    check_output_dir(config, "StepAgent")
    os.makedirs(out, exist_ok=True)
    train_file, records = demo_records(config, show_progress)
    if config.model is None:
        config_sft = dict(model=config.sft_model, max_steps=config.sft_steps, learning_rate=config.sft_learning_rate,
                          max_prompt_tokens=config.max_prompt_tokens or 512, max_answer_tokens=config.max_answer_tokens,
                          seed=config.seed, mixed_precision=config.mixed_precision)
        start_model = resolve_run_model(sft_stage(train_file, os.path.join(out, "sft"), config_sft, offline_config, show_progress))
    else:
        start_model = resolve_run_model(config.model)
    session = open_session(config, start_model, _RESUME_KEYS, name="StepAgent")

    def cycle_data(cycle: int) -> CycleData:
        pairs, inspection = _cycle_pairs(session, records, config, cycle, show_progress)
        lengths = [len(p.prompt_ids) + len(p.chosen_ids) + len(p.rejected_ids) for p in pairs]
        batches = [b for epoch in range(config.num_epochs) for b in
                   batch_schedule(lengths, config.batch_size, config.seed, cycle * 1000 + epoch)] if pairs else []
        steps = [batches[i : i + config.grad_accum_steps] for i in range(0, len(batches), config.grad_accum_steps)]
        report = {"pairs": len(pairs), "agreement": inspection["agreement"], "positions": inspection["positions"]}
        return CycleData(pairs, report, steps)

    def train_step(data: CycleData, micro_batches: list[list[int]]) -> dict:
        return reflection_step(session.model, [[data.items[i] for i in b] for b in micro_batches], session.pad, config.beta,
                               config.sft_weight, config.shared_prompt, session.accelerator.backward)

    summary = run_cycles(config, session, config.cycles, cycle_data, train_step, start_model, "stepagent",
                         eval_initial=config.eval_initial, show_progress=show_progress)
    summary["agreement_by_position"] = {str(c["cycle"]): c["positions"] for c in summary["cycles"]}
    write_json(os.path.join(out, "summary.json"), summary)
    return summary


def _cycle_pairs(session, records, config: StepAgentConfig, cycle: int, show_progress: bool):
    """The cycle's pairs with reference log-probabilities: read back when saved, else inspected,
    scored by the current policy (the cycle's reference) and saved."""
    path = cycle_file(config.output_dir, cycle, "pairs.json")
    if os.path.exists(path):
        return [StepPair(**p) for p in read_json(path)["pairs"]], read_json(cycle_file(config.output_dir, cycle, "inspection.json"))
    session.model.eval()
    policy = session.policy(max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                            batch_size=config.generation_batch_size, seed=config.seed * 100_003 + cycle)
    pairs, inspection = inspect_steps(policy, records, config, cycle, show_progress)
    reference_logprobs(session.model, pairs, session.pad, config.generation_batch_size // 4 or 1, config.shared_prompt,
                       show_progress)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_json(cycle_file(config.output_dir, cycle, "inspection.json"), inspection)
    if config.write_pairs:
        export_pairs(pairs, cycle_file(config.output_dir, cycle, "pairs.jsonl"),
                     None if session.builder.chat else session.tokenizer.eos_token)
    write_json(path, {"cycle": cycle, "pairs": [asdict(p) for p in pairs]})  # last: its presence means the cycle's data is whole
    return pairs, inspection
