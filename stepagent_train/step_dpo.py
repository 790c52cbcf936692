"""StepAgent: inspection and implicit-reward reflection (step-level DPO), in cycles.

From Novice to Expert (WWW'25) describes StepAgent without releasing code, so
this file is the reference implementation; every choice it makes is a config
field, and each is written down here.

The run, top to bottom (:func:`train_stepagent`):

0. **Start.** Expert demonstrations are ``train_file`` (trajectory records), or
   ``demo_episodes`` oracle episodes of the env's train split collected into
   ``<output_dir>/demos.jsonl`` when ``train_file`` is None. The policy is
   ``model`` (an SFT checkpoint, an SFT run folder, a model folder or a hub id),
   or, when ``model`` is None, SFT is run first on the demonstrations from
   ``sft_model`` (:func:`~stepagent_train.sft.train_sft`: a LoRA adapter on the
   pretrained default, all weights for ``tiny``; ``sft_steps`` steps, into
   ``<output_dir>/sft``). With ``lora`` the StepAgent
   stage trains a LoRA adapter (a fresh one over a full model; an adapter
   checkpoint keeps training its own adapter). The starting policy is
   evaluated on the dev split (``eval_initial``) so that "best" can be "no
   StepAgent cycle helped".
1. **Inspection** (per cycle ``c``). ``trajectories`` expert records are drawn
   without replacement (all when None), and in each ``steps_per_trajectory``
   of its steps (all when None); the draws are a function of ``(seed, c)``.
   Step ``t``'s prompt is built from the expert's prefix ``0..t-1`` with the
   shared :class:`~stepagent_train.prompts.PromptBuilder`
   (:func:`~stepagent_train.prompts.examples_from_record`: exactly what a
   rollout along the expert's path shows the policy). The current policy
   samples ``k`` actions per prompt at ``temperature``
   (:class:`~stepagent_train.policies.HFPolicy`, answers read back with the
   builder's parser) and each is scored against the expert's action with
   ``metric`` (:mod:`wrappers.metrics`). The mean score per step position
   ``t`` goes to ``<output_dir>/cycle-<c>/inspection.json``: where the novice
   departs from the expert.
2. **Pairs.** Each sample scoring below ``agree_threshold`` (1.0: any
   disagreement) gives a pair (prompt, chosen = the expert's action, rejected
   = the sampled action); with ``unique_pairs`` a repeated rejected action at
   the same step gives one pair, not several. Both answers are the builder's
   canonical answer for the action (:meth:`PromptBuilder.answer_ids`: the
   action and its end marker), not the raw sampled text, cut to
   ``max_answer_tokens``. A sample with no parseable action is kept as
   rejected (its text, stripped, is the "action"): it is what the policy
   would have sent to the env.
3. **Reference.** The reference policy is the policy as it is at the start of
   the cycle. Its log-probabilities of every pair's two answers are computed
   once, right after inspection, with the same forward as training (eval
   mode, no grad), and saved with the pairs in
   ``<output_dir>/cycle-<c>/pairs.json``; no second model is held. At the
   first reflection step of a cycle the policy equals the reference, so the
   DPO term starts at ``log 2``.
4. **Reflection** (implicit reward). Minimise :func:`step_dpo_loss` over the
   pairs for ``epochs`` passes: ``-log sigmoid(beta * [(log pi(a*|s) - log
   pi_ref(a*|s)) - (log pi(a|s) - log pi_ref(a|s))])`` where ``log pi(a|s)`` is
   the summed log-probability of the answer tokens only (prompt tokens carry
   no loss), plus ``sft_weight`` times the token-mean NLL of the expert answers.
   Batches are ``batch_size`` pairs, grouped by length
   (:func:`~stepagent_train.sft.batch_schedule`, seeded by ``seed`` and the
   cycle), ``grad_accum`` micro-batches per optimizer step; AdamW at a
   constant ``learning_rate``, a fresh optimizer each cycle (the objective
   changes with the reference), gradients clipped at ``max_grad_norm``.
   With ``shared_prompt`` each pair is one row ``[prompt | chosen | rejected]``
   with a custom attention mask (the rejected answer sees the prompt, not the
   chosen answer) and explicit position ids, so the prompt, usually most of
   the tokens, is run once for both answers (:mod:`~stepagent_train.packing`,
   :func:`pair_logprobs`); otherwise (and automatically for attention kernels
   without custom masks, such as flash attention) two rows per pair.
5. **Cycle end.** A checkpoint; the policy is evaluated greedily on the first
   ``dev_episodes`` dev tasks; the best cycle by ``select_by`` (ties: the
   earlier cycle) is copied to ``<output_dir>/best``. The next cycle inspects
   with the updated policy, which thereby becomes the new reference.

Outputs: ``metrics.jsonl`` (a row per optimizer step with the loss, reward
margin and accuracy; a row per cycle with inspection and dev figures),
``cycle-<c>/{inspection.json, pairs.json, pairs.jsonl, dev.json}``,
``checkpoints/step-<N>`` (atomic, safetensors), ``best/`` and ``summary.json``.
``pairs.jsonl`` (with ``write_pairs``) is a preference dataset with
``prompt`` / ``chosen`` / ``rejected`` text that TRL's ``DPOTrainer`` reads as
is (:func:`export_pairs`).

Interrupt and ``resume``: a checkpoint holds the model, the optimizer and the
cycle's position; the cycle's pairs and reference log-probabilities are on
disk, so a resumed run continues the reflection with the same data in the same
order; a cycle whose pairs file exists is not inspected again. One process
(CPU or one GPU).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from wrappers import read_trajectories
from wrappers.metrics import resolve_metric

from .checkpoint import (
    CHECKPOINTS, TRAINER_DIR, append_jsonl, latest_checkpoint, prune_checkpoints, read_trainer_state, truncate_jsonl,
    write_checkpoint, write_json,
)
from .device import make_accelerator
from .models import DEFAULT_MODEL, add_lora, check_model_name, save_weights
from .offline_model import OfflineModelConfig
from .packing import AnswerGroup, group_logprobs
from .policies import HFPolicy, load_model
from .prompts import PromptBuilder, PromptConfig, examples_from_record
from .sft import METRICS_FILE, batch_schedule

__all__ = [
    "PairTokens", "StepAgentConfig", "StepPair", "export_pairs", "inspect_steps",
    "pair_logprobs", "reference_logprobs", "reflection_step", "step_dpo_loss", "train_stepagent",
]

BEST_DIR = "best"
SUMMARY_FILE = "summary.json"
_SELECT = ("success_rate", "mean_score", "step_agreement")
# Fields a resumed run must share with the run it continues: they fix the pairs and their order.
_RESUME_KEYS = ("env", "env_kwargs", "train_file", "demo_episodes", "model", "sft_model", "lora", "trajectories",
                "steps_per_trajectory", "k", "temperature", "metric", "agree_threshold", "unique_pairs",
                "batch_size", "grad_accum", "epochs", "seed", "max_prompt_tokens", "max_answer_tokens")


@dataclass
class StepAgentConfig:
    """Settings of a StepAgent run (inspection + step-level DPO reflection, in cycles)."""

    output_dir: str = field(metadata={"help": "run folder: cycle-N/, checkpoints/, best/, metrics.jsonl, summary.json"})
    env: str = field(default="StepShop-v0", metadata={"help": "env id (dev evaluation; demo collection when train_file is None)"})
    env_kwargs: str | None = field(default=None, metadata={"help": "further gym.make arguments as a JSON object, e.g. '{\"num_products\": 1000}'"})
    train_file: str | None = field(default=None, metadata={"help": "expert trajectory records (JSON Lines) to inspect; None collects demo_episodes oracle episodes into output_dir/demos.jsonl"})
    demo_episodes: int = field(default=200, metadata={"help": "oracle episodes collected on the train split when train_file is None"})
    model: str | None = field(default=None, metadata={"help": "starting policy: SFT checkpoint or run folder, model folder or hub id; None runs SFT of sft_model first"})
    sft_model: str = field(default=DEFAULT_MODEL, metadata={"help": "model SFT starts from when model is None: smollm2-135m (LoRA), tiny (all weights), a hub id or folder"})
    sft_steps: int = field(default=300, metadata={"help": "SFT optimizer steps when model is None"})
    sft_learning_rate: float = field(default=1e-3, metadata={"help": "SFT peak learning rate when model is None (1e-3 suits LoRA on smollm2-135m; ~3e-3 for tiny from scratch)"})
    lora: bool = field(default=False, metadata={"help": "put a new LoRA adapter on a full model for the StepAgent stage (an adapter checkpoint always keeps training its own adapter)"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank of a new adapter"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator of a new adapter"})
    cycles: int = field(default=2, metadata={"help": "inspection + reflection cycles"})
    trajectories: int | None = field(default=64, metadata={"help": "expert trajectories inspected per cycle, drawn without replacement (None: all)"})
    steps_per_trajectory: int | None = field(default=None, metadata={"help": "steps inspected per trajectory, drawn without replacement (None: all)"})
    k: int = field(default=2, metadata={"help": "actions sampled from the policy per inspected step"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature of inspection (0: greedy, needs k=1)"})
    max_new_tokens: int = field(default=48, metadata={"help": "longest sampled answer in tokens"})
    metric: str = field(default="exact", metadata={"help": "expert-step metric scoring a sample against the expert: exact, f1 or similarity"})
    agree_threshold: float = field(default=1.0, metadata={"help": "a sample scoring below this forms a (expert, sample) pair; 1.0: any disagreement"})
    unique_pairs: bool = field(default=True, metadata={"help": "one pair per distinct rejected action at a step (repeated samples add no copies)"})
    beta: float = field(default=0.1, metadata={"help": "DPO inverse temperature on the log-ratio margin"})
    sft_weight: float = field(default=0.0, metadata={"help": "weight of the SFT term (token-mean NLL of the expert answers) added to the DPO loss"})
    learning_rate: float = field(default=1e-4, metadata={"help": "AdamW learning rate (constant); ~1e-4 for the offline model or LoRA, ~1e-6 full fine-tuning of a pretrained LLM"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping norm (0: none)"})
    batch_size: int = field(default=8, metadata={"help": "pairs per micro-batch"})
    grad_accum: int = field(default=1, metadata={"help": "micro-batches per optimizer step"})
    epochs: int = field(default=1, metadata={"help": "passes over a cycle's pairs"})
    max_answer_tokens: int = field(default=64, metadata={"help": "answer tokens trained at most (longer answers are cut)"})
    max_prompt_tokens: int | None = field(default=None, metadata={"help": "prompt token budget; None: the one saved with the model (what it was trained on), else 512"})
    shared_prompt: bool = field(default=True, metadata={"help": "one row per pair, prompt run once for both answers (custom attention mask); False: two rows per pair"})
    dev_episodes: int | None = field(default=50, metadata={"help": "first N dev tasks evaluated after each cycle (None: the whole split; 0: no evaluation, the last cycle is kept)"})
    eval_initial: bool = field(default=True, metadata={"help": "also evaluate the starting policy on dev (it is then a candidate for best)"})
    select_by: str = field(default="success_rate", metadata={"help": "dev figure picking the best cycle: success_rate, mean_score or step_agreement (ties: the others, then the earlier cycle)"})
    num_envs: int = field(default=16, metadata={"help": "envs rolled out in parallel in dev evaluation"})
    generation_batch_size: int = field(default=64, metadata={"help": "prompts per generate call in inspection and evaluation"})
    write_pairs: bool = field(default=True, metadata={"help": "export each cycle's pairs as cycle-N/pairs.jsonl (prompt/chosen/rejected, TRL DPOTrainer format)"})
    seed: int = field(default=0, metadata={"help": "seed of collection, SFT, inspection draws and sampling, and the data order"})
    save_every: int = field(default=50, metadata={"help": "also write a checkpoint every N optimizer steps within a cycle (one is always written at a cycle's end)"})
    save_total_limit: int = field(default=2, metadata={"help": "checkpoints kept (oldest deleted first; best/ is a separate copy)"})
    max_seconds: float | None = field(default=None, metadata={"help": "stop early, with a checkpoint, after this many seconds of the StepAgent stage (None: no limit); resume continues"})
    mixed_precision: str = field(default="no", metadata={"help": "accelerate mixed precision: no, bf16 or fp16 (GPU)"})
    resume: bool = field(default=False, metadata={"help": "continue the run in output_dir from its latest checkpoint (mid-cycle too)"})

    def __post_init__(self):
        for name in ("demo_episodes", "sft_steps", "lora_r", "lora_alpha", "cycles", "k", "max_new_tokens", "batch_size",
                     "grad_accum", "epochs", "max_answer_tokens", "num_envs", "generation_batch_size", "save_every",
                     "save_total_limit"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        for name in ("trajectories", "steps_per_trajectory"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be None (all) or an int >= 1, got {value!r}")
        if self.dev_episodes is not None and (not isinstance(self.dev_episodes, int) or self.dev_episodes < 0):
            raise ValueError(f"dev_episodes must be None (whole split), 0 (no evaluation) or an int >= 1, got {self.dev_episodes!r}")
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
        for name in ("learning_rate", "sft_learning_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if self.weight_decay < 0 or self.max_grad_norm < 0:
            raise ValueError(f"weight_decay and max_grad_norm must be >= 0, got {self.weight_decay!r} and {self.max_grad_norm!r}")
        if self.select_by not in _SELECT:
            raise ValueError(f"select_by must be one of {', '.join(_SELECT)}, got {self.select_by!r}")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"max_seconds must be None or > 0, got {self.max_seconds!r}")
        if self.mixed_precision not in ("no", "bf16", "fp16"):
            raise ValueError(f"mixed_precision must be 'no', 'bf16' or 'fp16', got {self.mixed_precision!r}")
        if self.max_prompt_tokens is not None:
            PromptConfig(max_prompt_tokens=self.max_prompt_tokens)  # validates it
        check_model_name(self.sft_model)
        self.env_kwargs_dict()  # validates the JSON
        if self.train_file is not None and not os.path.isfile(self.train_file):
            raise ValueError(f"train_file {self.train_file!r} does not exist; record demos with stepagent-collect, "
                             "or pass no train_file to collect demo_episodes oracle episodes")

    def env_kwargs_dict(self) -> dict:
        """``env_kwargs`` parsed (``{}`` when None)."""
        if not self.env_kwargs:
            return {}
        try:
            kwargs = json.loads(self.env_kwargs)
        except json.JSONDecodeError as error:
            raise ValueError(f"env_kwargs must be a JSON object, got {self.env_kwargs!r} ({error})") from None
        if not isinstance(kwargs, dict):
            raise ValueError(f"env_kwargs must be a JSON object such as '{{\"num_products\": 1000}}', got {self.env_kwargs!r}")
        return kwargs


# -- pairs ---------------------------------------------------------------------
@dataclass
class PairTokens:
    """The token ids of one preference pair: answers are what the model writes after the prompt."""

    prompt_ids: list[int]
    chosen_ids: list[int]
    rejected_ids: list[int]


@dataclass
class StepPair(PairTokens):
    """A step-level preference pair from inspection.

    Attributes:
        record: Index of the expert record in the demonstrations file.
        step: The step position ``t`` in that record.
        chosen: The expert's action.
        rejected: The policy's sampled action.
        score: ``metric(rejected, chosen)``.
        prompt_text: The rendered prompt.
        chosen_text: The chosen answer's text as trained (:meth:`PromptBuilder.answer_text`).
        rejected_text: The rejected answer's text as trained.
        ref_chosen_logp: log pi_ref of the chosen answer (set after inspection).
        ref_rejected_logp: log pi_ref of the rejected answer.
    """

    record: int = 0
    step: int = 0
    chosen: str = ""
    rejected: str = ""
    score: float = 0.0
    prompt_text: str = ""
    chosen_text: str = ""
    rejected_text: str = ""
    ref_chosen_logp: float | None = None
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
    chosen_records = range(len(records))
    if config.trajectories is not None and config.trajectories < len(records):
        chosen_records = sorted(rng.choice(len(records), config.trajectories, replace=False).tolist())
    sites = []  # (record index, step, prompt, expert action)
    for r in chosen_records:
        steps = records[r]["steps"]
        picked = range(len(steps))
        if config.steps_per_trajectory is not None and config.steps_per_trajectory < len(steps):
            picked = sorted(rng.choice(len(steps), config.steps_per_trajectory, replace=False).tolist())
        examples = examples_from_record(builder, records[r])
        sites += [(r, t, *examples[t]) for t in picked]
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

    ``prompt`` is the rendered prompt and ``chosen`` / ``rejected`` the answer
    text exactly as trained. TRL's ``DPOTrainer`` reads the file as is
    (``datasets.load_dataset("json", data_files=path)``); it tokenises the
    prompt with the tokenizer's special tokens (the plain format's BOS) and
    appends the EOS token to answers that do not end with it, so with
    ``eos_token`` given (the plain format's end marker) it is stripped from the
    answers here and TRL's token ids are the ones trained. Extra fields
    (``record``, ``step``, ``score``) are ignored by TRL.

    Args:
        pairs: The pairs (from :func:`inspect_steps`).
        path: The file to write (atomically).
        eos_token: The tokenizer's EOS token text, stripped from the end of answers.

    Returns:
        ``path``.
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
def pair_logprobs(model: torch.nn.Module, pairs: Sequence[PairTokens], pad_id: int,
                  shared_prompt: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log pi(chosen | prompt), log pi(rejected | prompt))`` of each pair under ``model``, summed
    over the answer tokens only (the same quantity as
    :meth:`~stepagent_train.policies.HFPolicy.action_logprobs`).

    Args:
        model: A causal LM (gradients flow unless called under ``no_grad``).
        pairs: The pairs.
        pad_id: Padding token id.
        shared_prompt: Run each prompt once for both answers (one packed row,
            :func:`~stepagent_train.packing.collate_groups`); False, or a model whose
            attention takes no custom mask: two rows per pair.

    Returns:
        Two float tensors ``[len(pairs)]`` on the model's device.
    """
    groups = [AnswerGroup(p.prompt_ids, [p.chosen_ids, p.rejected_ids]) for p in pairs]
    both = torch.stack(group_logprobs(model, groups, pad_id, shared_prompt))
    return both[:, 0], both[:, 1]


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
        ``agreement``, ``steps``, ``checkpoint``, ``dev``, ``seconds``), ``agreement_by_position``
        (per cycle, the inspection's per-step agreement list), ``stopped_early``.
    """
    accelerator = make_accelerator(config.mixed_precision)
    if accelerator.num_processes > 1:
        raise RuntimeError(f"StepAgent runs in one process; it was launched in {accelerator.num_processes}. "
                           "Run it with python -m stepagent_train.cli (one GPU), not accelerate launch")
    out = config.output_dir
    _check_output_dir(config)
    os.makedirs(out, exist_ok=True)
    train_file = config.train_file or _collect_demos(config, show_progress)
    records = [r for r in read_trajectories(train_file) if r.get("steps")]
    if not records:
        raise ValueError(f"train_file {train_file!r} holds no trajectory with steps")
    start_model = _resolve_model(config.model or _sft_first(config, train_file, offline_config, show_progress))

    began = time.perf_counter()
    resume_from = latest_checkpoint(out) if config.resume else None
    if resume_from is not None:
        state = _check_resume(resume_from, config)
        model, tokenizer, folder = load_model(resume_from, trainable=True)
    else:
        state = {"step": 0, "cycle": 1, "cycle_step": 0, "cycle_steps": None}
        model, tokenizer, folder = load_model(start_model, trainable=True)  # an adapter keeps training
        if config.lora and not hasattr(model, "peft_config"):
            model = add_lora(model, config.lora_r, config.lora_alpha, seed=config.seed)
    prompt_config = (PromptConfig.load(folder) if os.path.isdir(folder) else None) or PromptConfig()
    if config.max_prompt_tokens:  # only the budget changes: the saved turns, system text and template stay
        prompt_config = replace(prompt_config, max_prompt_tokens=config.max_prompt_tokens)
    builder = PromptBuilder(tokenizer, prompt_config)
    model = accelerator.prepare(model)
    pad = tokenizer.pad_token_id

    metrics_path = os.path.join(out, METRICS_FILE)
    # Steps after the checkpoint were lost with the interrupted run and are redone; so is an unfinished cycle's report.
    truncate_jsonl(metrics_path, lambda row: row.get("step", 0) <= state["step"] and
                   (row.get("event") != "cycle" or os.path.exists(_cycle_file(out, row["cycle"], "report.json"))))

    def evaluate_dev(cycle: int) -> dict | None:
        path = _cycle_file(out, cycle, "dev.json")
        if os.path.exists(path):
            return _read_json(path)["dev"]
        if config.dev_episodes == 0:
            return None
        from .evaluate import evaluate_policy

        model.eval()
        policy = HFPolicy(accelerator.unwrap_model(model), tokenizer, builder, max_new_tokens=config.max_new_tokens,
                          batch_size=config.generation_batch_size)
        result = asdict(evaluate_policy(policy, config.env, "dev", f"cycle-{cycle}", config.dev_episodes, config.num_envs,
                                        config.env_kwargs_dict(), show_progress=show_progress))
        write_json(path, {"cycle": cycle, "dev": result})
        return result

    initial_dev = evaluate_dev(0) if config.eval_initial and resume_from is None else _cached_dev(out, 0)
    cycles: list[dict] = [_read_json(_cycle_file(out, c, "report.json")) for c in range(1, state["cycle"])
                          if os.path.exists(_cycle_file(out, c, "report.json"))]

    def finish_cycle(cycle: int, num_pairs: int, inspection: dict, total: int, checkpoint: str, seconds: dict) -> None:
        """Dev evaluation, the cycle's report and metrics row, and best/."""
        mark = time.perf_counter()
        dev = evaluate_dev(cycle)
        seconds["dev"] = round(time.perf_counter() - mark, 2)
        report = {"cycle": cycle, "pairs": num_pairs, "agreement": inspection["agreement"], "steps": total,
                  "checkpoint": checkpoint, "dev": dev, "seconds": seconds}
        append_jsonl(metrics_path, {"event": "cycle", "step": state["step"], "cycle": cycle, "pairs": num_pairs,
                                    "agreement": inspection["agreement"], "dev": dev,
                                    "positions": inspection["positions"], "seconds": seconds})
        write_json(_cycle_file(out, cycle, "report.json"), report)
        cycles.append(report)
        _keep_best(out, config, initial_dev, cycles)

    last = state["cycle"] - 1
    if resume_from is not None and last >= 1 and not os.path.exists(_cycle_file(out, last, "report.json")):
        # Interrupted between the end of a cycle's reflection and its report: the loaded checkpoint is that cycle's end.
        finish_cycle(last, len(_read_json(_cycle_file(out, last, "pairs.json"))["pairs"]),
                     _read_json(_cycle_file(out, last, "inspection.json")), state["cycle_steps_done"], resume_from, {})

    stopped = False
    for cycle in range(state["cycle"], config.cycles + 1):
        fresh = state["cycle"] != cycle or state["cycle_steps"] is None  # this cycle has no reflection step yet
        seconds: dict[str, float] = {}
        mark = time.perf_counter()
        pairs, inspection = _cycle_data(model, accelerator, tokenizer, builder, records, config, cycle, pad, show_progress)
        seconds["inspection"] = round(time.perf_counter() - mark, 2)

        lengths = [len(p.prompt_ids) + len(p.chosen_ids) + len(p.rejected_ids) for p in pairs]
        schedule = [b for epoch in range(config.epochs) for b in
                    batch_schedule(lengths, config.batch_size, config.seed, cycle * 1000 + epoch)] if pairs else []
        total = math.ceil(len(schedule) / config.grad_accum)
        first = 0 if fresh else state["cycle_step"]
        base_step = state["step"] - first  # global step before this cycle's first reflection step
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = accelerator.prepare(torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay))
        if not fresh and first > 0:
            trainer = os.path.join(resume_from, TRAINER_DIR)
            optimizer.load_state_dict(torch.load(os.path.join(trainer, "optimizer.pt"), map_location="cpu", weights_only=True))
            torch.set_rng_state(torch.load(os.path.join(trainer, "rng.pt"), weights_only=True)["cpu"])

        mark = time.perf_counter()
        model.train()
        bar = tqdm(total=total, initial=first, desc=f"reflect cycle {cycle}", disable=not show_progress, leave=False)
        done = first
        for step in range(first, total):
            batches = schedule[step * config.grad_accum : (step + 1) * config.grad_accum]
            row = reflection_step(model, [[pairs[i] for i in b] for b in batches], pad, config.beta, config.sft_weight,
                                  config.shared_prompt, accelerator.backward)
            grad_norm = accelerator.clip_grad_norm_(params, config.max_grad_norm) if config.max_grad_norm > 0 else None
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            done = step + 1
            row = {"step": base_step + done, "cycle": cycle, "cycle_step": done, **row, "lr": config.learning_rate,
                   "grad_norm": None if grad_norm is None else float(grad_norm),
                   "seconds": round(time.perf_counter() - began, 3)}
            append_jsonl(metrics_path, row)
            bar.set_postfix(loss=f"{row['loss']:.3f}", acc=f"{row['reward_accuracy']:.2f}")
            bar.update()
            stopped = config.max_seconds is not None and time.perf_counter() - began >= config.max_seconds
            if (done % config.save_every == 0 or stopped) and done < total:
                _save(accelerator, model, tokenizer, builder.config, optimizer, config,
                      {"step": base_step + done, "cycle": cycle, "cycle_step": done, "cycle_steps": total})
            if stopped:
                break
        bar.close()
        seconds["reflection"] = round(time.perf_counter() - mark, 2)
        if stopped and done < total:
            print(f"stepagent: stopped in cycle {cycle} after step {done} of {total}: max_seconds={config.max_seconds} "
                  "reached (resume continues)", file=sys.stderr)
            break
        checkpoint = _save(accelerator, model, tokenizer, builder.config, optimizer, config,
                           {"step": base_step + total, "cycle": cycle, "cycle_step": total, "cycle_steps": total})
        state = {"step": base_step + total, "cycle": cycle + 1, "cycle_step": 0, "cycle_steps": None}
        finish_cycle(cycle, len(pairs), inspection, total, checkpoint, seconds)
        stopped = config.max_seconds is not None and time.perf_counter() - began >= config.max_seconds and cycle < config.cycles
        if stopped:
            print(f"stepagent: stopped after cycle {cycle} of {config.cycles}: max_seconds={config.max_seconds} "
                  "reached (resume continues)", file=sys.stderr)
            break

    best_cycle = _best_cycle(config, initial_dev, cycles)
    best = start_model if best_cycle == 0 else os.path.join(out, BEST_DIR)
    if best_cycle is None:  # nothing finished yet
        best = None
    summary = {
        "best_checkpoint": best,
        "best_cycle": best_cycle,
        "start_model": start_model,
        "initial_dev": initial_dev,
        "cycles": cycles,
        "agreement_by_position": {str(c["cycle"]): _read_json(_cycle_file(out, c["cycle"], "inspection.json"))["positions"]
                                  for c in cycles},
        "stopped_early": stopped,
    }
    write_json(os.path.join(out, SUMMARY_FILE), summary)
    return summary


def _cycle_data(model, accelerator, tokenizer, builder, records, config, cycle, pad, show_progress):
    """The cycle's pairs with reference log-probabilities: read back when saved, else inspected,
    scored by the current policy (the cycle's reference) and saved."""
    path = _cycle_file(config.output_dir, cycle, "pairs.json")
    if os.path.exists(path):
        data = _read_json(path)
        return [StepPair(**p) for p in data["pairs"]], _read_json(_cycle_file(config.output_dir, cycle, "inspection.json"))
    unwrapped = accelerator.unwrap_model(model)
    unwrapped.eval()
    policy = HFPolicy(unwrapped, tokenizer, builder, max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                      batch_size=config.generation_batch_size, seed=config.seed * 100_003 + cycle)
    pairs, inspection = inspect_steps(policy, records, config, cycle, show_progress)
    reference_logprobs(model, pairs, pad, config.generation_batch_size // 4 or 1, config.shared_prompt, show_progress)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_json(_cycle_file(config.output_dir, cycle, "inspection.json"), inspection)
    if config.write_pairs:
        export_pairs(pairs, _cycle_file(config.output_dir, cycle, "pairs.jsonl"), None if builder.chat else tokenizer.eos_token)
    write_json(path, {"cycle": cycle, "pairs": [asdict(p) for p in pairs]})  # last: its presence means the cycle's data is whole
    return pairs, inspection


def _save(accelerator, model, tokenizer, prompt_config, optimizer, config: StepAgentConfig, state: dict) -> str:
    def write(folder: str) -> None:
        save_weights(accelerator.unwrap_model(model), folder)
        tokenizer.save_pretrained(folder)
        prompt_config.save(folder)
        trainer = os.path.join(folder, TRAINER_DIR)
        os.makedirs(trainer)
        torch.save(optimizer.state_dict(), os.path.join(trainer, "optimizer.pt"))
        torch.save({"cpu": torch.get_rng_state()}, os.path.join(trainer, "rng.pt"))
        with open(os.path.join(trainer, "trainer_state.json"), "w", encoding="utf-8") as f:
            json.dump({**state, "config": asdict(config)}, f, indent=2)

    folder = write_checkpoint(config.output_dir, state["step"], write)
    prune_checkpoints(config.output_dir, config.save_total_limit)
    return folder


def _check_resume(checkpoint: str, config: StepAgentConfig) -> dict:
    state = read_trainer_state(checkpoint, config, _RESUME_KEYS)
    if state["cycle_step"] == state["cycle_steps"]:  # the checkpoint ends its cycle: the next one starts fresh
        state = {**state, "cycle": state["cycle"] + 1, "cycle_step": 0, "cycle_steps": None,
                 "cycle_steps_done": state["cycle_steps"]}
    return state


def _check_output_dir(config: StepAgentConfig) -> None:
    """A run never overwrites another run's cycles by accident: a used folder needs resume."""
    if config.resume or not os.path.isdir(config.output_dir):
        return
    used = [n for n in os.listdir(config.output_dir) if n in (CHECKPOINTS, "sft", BEST_DIR, METRICS_FILE) or n.startswith("cycle-")]
    if used:
        raise ValueError(f"output_dir {config.output_dir!r} already holds a StepAgent run ({', '.join(sorted(used))}); "
                         "pass resume=True (--resume) to continue it, or pick an empty output_dir")


def _collect_demos(config: StepAgentConfig, show_progress: bool) -> str:
    import gymnasium as gym

    import stepagent_envs  # noqa: F401  (registers the env ids)

    from .collect import collect_expert

    path = os.path.join(config.output_dir, "demos.jsonl")
    if os.path.exists(path) and len(read_trajectories(path)) >= config.demo_episodes:
        return path  # a resumed run: the same seed made the same demos
    if os.path.exists(path):
        os.remove(path)
    env = gym.make(config.env, split="train", **config.env_kwargs_dict())
    collect_expert(env, path, config.demo_episodes, seed=config.seed, show_progress=show_progress)
    env.close()
    return path


def _sft_first(config: StepAgentConfig, train_file: str, offline_config, show_progress: bool) -> str:
    """SFT of ``sft_model`` on the demonstrations (LoRA on a pretrained model, all weights for tiny)."""
    from .sft import SFTConfig, train_sft

    run = os.path.join(config.output_dir, "sft")
    sft = SFTConfig(train_file=train_file, output_dir=run, model=config.sft_model, max_steps=config.sft_steps,
                    learning_rate=config.sft_learning_rate, max_prompt_tokens=config.max_prompt_tokens or 512,
                    max_answer_tokens=config.max_answer_tokens, seed=config.seed, save_every=config.sft_steps,
                    mixed_precision=config.mixed_precision, resume=os.path.isdir(run))
    return train_sft(sft, offline_config, show_progress=show_progress)


def _resolve_model(path: str) -> str:
    """A run folder (SFT or StepAgent) means its latest checkpoint; anything else is used as given."""
    if os.path.isdir(path) and not os.path.isfile(os.path.join(path, "config.json")) \
            and not os.path.isfile(os.path.join(path, "adapter_config.json")):
        found = latest_checkpoint(path)
        if found is None:
            raise ValueError(f"model {path!r} is a folder with no model, adapter or checkpoints/ in it; "
                             "pass an SFT checkpoint, run folder or model folder")
        return os.path.abspath(found)
    return os.path.abspath(path) if os.path.isdir(path) else path


def _score(dev: dict, select_by: str) -> tuple:
    return tuple(dev[k] for k in (select_by, *[s for s in _SELECT if s != select_by]))


def _best_cycle(config: StepAgentConfig, initial_dev: dict | None, cycles: list[dict]) -> int | None:
    """The best cycle by dev (0: the starting policy); the last cycle when nothing was evaluated."""
    candidates = ([(0, initial_dev)] if initial_dev else []) + [(c["cycle"], c["dev"]) for c in cycles if c["dev"]]
    if not candidates:
        return cycles[-1]["cycle"] if cycles else None
    best = candidates[0]
    for candidate in candidates[1:]:
        if _score(candidate[1], config.select_by) > _score(best[1], config.select_by):  # ties keep the earlier
            best = candidate
    return best[0]


def _keep_best(out: str, config: StepAgentConfig, initial_dev: dict | None, cycles: list[dict]) -> None:
    """Copy the latest cycle's checkpoint to ``best/`` when it is the best so far (without its
    optimizer state: best/ is for loading as a policy)."""
    if _best_cycle(config, initial_dev, cycles) != cycles[-1]["cycle"]:
        return
    target = os.path.join(out, BEST_DIR)
    tmp, old = os.path.join(out, f".best-tmp{os.getpid()}"), os.path.join(out, f".best-old{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(cycles[-1]["checkpoint"], tmp, ignore=shutil.ignore_patterns(TRAINER_DIR))
    write_json(os.path.join(tmp, "best.json"), {"cycle": cycles[-1]["cycle"], "dev": cycles[-1]["dev"]})
    if os.path.exists(target):
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def _cached_dev(out: str, cycle: int) -> dict | None:
    path = _cycle_file(out, cycle, "dev.json")
    return _read_json(path)["dev"] if os.path.exists(path) else None


def _cycle_file(out: str, cycle: int, name: str) -> str:
    return os.path.join(out, f"cycle-{cycle}", name)


def _read_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


