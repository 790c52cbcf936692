"""Supervised fine-tuning (behaviour cloning) on trajectory records.

Every step of every record becomes one example: the prompt the policy saw
(built by :class:`~stepagent_train.prompts.PromptBuilder`) followed by the
answer that takes the recorded action. The loss is the next-token negative
log-likelihood of the answer tokens only; prompt tokens are masked.

Batches group examples of similar length (little padding); optimizer steps
accumulate ``grad_accum_steps`` micro-batches per process. Runs go through
``accelerate``: ``python -m stepagent_train.cli sft ...`` on one CPU or GPU,
``accelerate launch -m stepagent_train.cli sft ...`` on several GPUs.

Interrupt and ``--resume``: checkpoints (``checkpoints/step-N``, safetensors)
hold the model, the optimizer, scheduler and RNG states; the data order is a
function of the seed and the epoch, so a resumed run consumes exactly the
batches the uninterrupted run would have. ``metrics.jsonl`` gets one line per
optimizer step.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
import os
import sys
import time
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from wrappers import read_trajectories

from .batching import IGNORE_INDEX, answer_token_logprobs, batch_schedule, collate, encode_example
from .checkpoint import (
    METRICS_FILE, append_jsonl, latest_checkpoint, read_trainer_state, restore_training_state, save_training_checkpoint, truncate_jsonl,
)
from .config import TrainConfig
from .loop import tensorboard_writer
from .device import make_accelerator
from .models import add_lora, is_tiny
from .offline_model import OfflineModelConfig, build_offline_model, record_texts
from .policies import load_model
from .prompts import PromptBuilder, PromptConfig, examples_from_record

__all__ = ["SFTConfig", "sft_loss", "train_sft"]

BASE_MODEL_DIR = "base-model"
# Fields a resumed run must share with the run it continues (they fix the data order and the model).
_RESUME_KEYS = ("train_file", "model", "lora", "lora_target_modules", "batch_size", "grad_accum_steps", "seed", "max_prompt_tokens", "max_turns")


@dataclass(kw_only=True)
class SFTConfig(TrainConfig):
    """Settings of an SFT run (the shared fields of :class:`~stepagent_train.config.TrainConfig`, plus these)."""

    train_file: str = field(metadata={"help": "trajectory records (JSON Lines) to imitate, e.g. from stepagent-collect"})
    output_dir: str = field(metadata={"help": "run folder: checkpoints/, metrics.jsonl, base-model/ (offline model)"})
    warmup_steps: int = field(default=10, metadata={"help": "optimizer steps of linear warmup, then cosine decay to 10% of the peak"})
    num_epochs: float = field(default=1.0, metadata={"help": "passes over the data (ignored when max_steps is set)"})
    max_steps: int | None = field(default=None, metadata={"help": "optimizer steps to train; None: from num_epochs"})
    save_every: int = field(default=50, metadata={"help": "write a checkpoint every N optimizer steps (and at the end)"})
    prompt_loss_weight: float = field(default=0.0, metadata={"help": "weight of an extra next-token loss on the prompt tokens, a language-modelling signal on the observations for a model trained from scratch (0: action tokens only)"})

    def __post_init__(self):
        super().__post_init__()
        if self.model is None:
            raise ValueError("model must name the model to fine-tune, e.g. smollm2-135m or tiny")
        if not isinstance(self.save_every, int) or self.save_every < 1:
            raise ValueError(f"save_every must be an int >= 1, got {self.save_every!r}")
        if self.max_steps is not None and (not isinstance(self.max_steps, int) or self.max_steps < 1):
            raise ValueError(f"max_steps must be None or an int >= 1, got {self.max_steps!r}")
        if not self.num_epochs > 0:
            raise ValueError(f"num_epochs must be > 0, got {self.num_epochs!r}")
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {self.warmup_steps!r}")
        if not self.prompt_loss_weight >= 0:
            raise ValueError(f"prompt_loss_weight must be >= 0, got {self.prompt_loss_weight!r}; 0 trains on action tokens only")
        if not os.path.isfile(self.train_file):
            raise ValueError(f"train_file {self.train_file!r} does not exist; record demos with stepagent-collect first")


def sft_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor], num_tokens: int,
             prompt_loss_weight: float = 0.0, num_prompt_tokens: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """The summed negative log-likelihood of the batch's answer tokens, divided by ``num_tokens``.

    Prompt and padding tokens have label ``IGNORE_INDEX`` and carry no loss,
    unless ``prompt_loss_weight`` > 0: the prompt tokens' mean NLL over the step
    is then added with that weight (a language-modelling signal on the
    observations, for a model trained from scratch).
    Dividing the micro-batch's sum by the tokens of the whole optimizer step
    (every micro-batch of every process) makes the accumulated gradient the
    token mean over the step, however tokens fall across micro-batches.

    Args:
        model: The causal LM.
        batch: From :func:`~stepagent_train.batching.collate`.
        num_tokens: Answer tokens in the whole optimizer step.
        prompt_loss_weight: Weight of the prompt tokens' NLL (0: answer tokens only).
        num_prompt_tokens: Prompt tokens (after the first of each example) in the whole optimizer step.

    Returns:
        ``(loss, nll_sum)``: the loss to back-propagate and the detached summed NLL of the answer tokens.
    """
    if not prompt_loss_weight:
        logprobs, mask = answer_token_logprobs(model, batch)
        nll = -(logprobs * mask).sum()
        return nll / num_tokens, nll.detach()
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1].float()
    token_nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), batch["input_ids"][:, 1:], reduction="none")
    answer = batch["labels"][:, 1:] != IGNORE_INDEX
    prompt = batch["attention_mask"][:, 1:].bool() & ~answer
    nll = token_nll[answer].sum()
    loss = nll / num_tokens + prompt_loss_weight * token_nll[prompt].sum() / max(num_prompt_tokens, 1)
    return loss, nll.detach()


def _lr_lambda(warmup: int, total: int):
    def scale(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = (step - warmup) / max(1, total - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return scale


def train_sft(config: SFTConfig, offline_config: OfflineModelConfig | None = None, show_progress: bool = True) -> str:
    """Run SFT as ``config`` says; returns the last checkpoint folder (loadable as a policy).

    Args:
        config: The run's settings.
        offline_config: Sizes of the offline model, built when ``config.model`` is ``tiny``.
        show_progress: Show a progress bar over optimizer steps.
    """
    accelerator = make_accelerator(config.mixed_precision)
    os.makedirs(config.output_dir, exist_ok=True)
    records = read_trajectories(config.train_file)
    if not records:
        raise ValueError(f"train_file {config.train_file!r} holds no records")

    resume_from = latest_checkpoint(config.output_dir) if config.resume else None
    if config.resume and resume_from is None and accelerator.is_main_process:
        print(f"--resume: no checkpoint in {config.output_dir} yet; starting from scratch")
    if resume_from is not None:
        state = read_trainer_state(resume_from, config, _RESUME_KEYS)
        model, tokenizer, _ = load_model(resume_from, trainable=True)
    else:
        state = {"step": 0}
        base = _offline_base(config, records, offline_config, accelerator) if is_tiny(config.model) else config.model
        model, tokenizer, _ = load_model(base)
        if config.use_lora():
            model = add_lora(model, config.lora_r, config.lora_alpha, config.lora_dropout, config.lora_target_modules,
                             seed=config.seed)
        torch.manual_seed(config.seed)  # dropout draws from here; a resumed run restores the saved state instead
    model.train()

    builder = PromptBuilder(tokenizer, config.prompt_config())
    examples = [
        encode_example(builder, p, a, config.max_answer_tokens)
        for r in tqdm(records, desc="prompts", disable=not (show_progress and accelerator.is_main_process), leave=False)
        for p, a in examples_from_record(builder, r)
    ]
    lengths = [len(e.input_ids) for e in examples]
    world, rank = accelerator.num_processes, accelerator.process_index
    per_epoch = len(batch_schedule(lengths, config.batch_size, config.seed, 0))
    per_step = config.grad_accum_steps * world
    total_steps = config.max_steps or max(1, math.ceil(config.num_epochs * per_epoch / per_step))

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    # Not prepared by accelerate, which would step it once per process.
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(config.warmup_steps, total_steps))
    model, optimizer = accelerator.prepare(model, optimizer)
    if resume_from is not None:
        restore_training_state(resume_from, optimizer, scheduler, rank)

    metrics_path = os.path.join(config.output_dir, METRICS_FILE)
    start = state["step"]
    writer = None
    if accelerator.is_main_process:
        # Steps after the checkpoint were lost with the interrupted run; they are redone.
        truncate_jsonl(metrics_path, lambda row: row.get("step", 0) <= start)
        writer = tensorboard_writer(config.output_dir)

    schedules: dict[int, list[list[int]]] = {}

    def micro_batch(index: int) -> list[int]:
        epoch, position = divmod(index, per_epoch)
        if epoch not in schedules:
            schedules.clear()
            schedules[epoch] = batch_schedule(lengths, config.batch_size, config.seed, epoch)
        return schedules[epoch][position]

    pad = tokenizer.pad_token_id
    bar = tqdm(total=total_steps, initial=start, desc="sft", disable=not (show_progress and accelerator.is_main_process))
    began = time.perf_counter()
    for step in range(start, total_steps):
        first = step * per_step
        step_batches = [micro_batch(first + j) for j in range(per_step)]
        num_tokens = sum(examples[i].num_answer_tokens for b in step_batches for i in b)
        num_prompt = sum(len(examples[i].input_ids) - 1 - examples[i].num_answer_tokens for b in step_batches for i in b)
        mine = step_batches[rank::world]
        nll_total = torch.zeros((), device=accelerator.device)
        for j, indices in enumerate(mine):
            batch = {k: v.to(accelerator.device) for k, v in collate([examples[i] for i in indices], pad).items()}
            last = j == len(mine) - 1
            with accelerator.no_sync(model) if not last else nullcontext():
                # DDP averages gradients over processes; scaling by world keeps the step's token mean.
                loss, nll = sft_loss(model, batch, num_tokens, config.prompt_loss_weight, num_prompt)
                accelerator.backward(loss * world)
            nll_total += nll
        grad_norm = accelerator.clip_grad_norm_(params, config.max_grad_norm) if config.max_grad_norm > 0 else None
        lr = scheduler.get_last_lr()[0]  # the rate this step is taken with
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        nll_total = accelerator.reduce(nll_total, reduction="sum")
        done = step + 1
        if accelerator.is_main_process:
            row = {
                "step": done,
                "epoch": round(done * per_step / per_epoch, 4),
                "loss": float(nll_total) / num_tokens,
                "lr": lr,
                "answer_tokens": num_tokens,
                "grad_norm": None if grad_norm is None else float(grad_norm),
                "seconds": round(time.perf_counter() - began, 3),
            }
            append_jsonl(metrics_path, row)
            if writer is not None:
                for key in ("loss", "lr", "grad_norm"):
                    if row[key] is not None:
                        writer.add_scalar(f"train/{key}", row[key], done)
            bar.set_postfix(loss=f"{row['loss']:.3f}")
        bar.update()
        out_of_time = config.max_seconds is not None and _any(accelerator, time.perf_counter() - began >= config.max_seconds)
        if done % config.save_every == 0 or done == total_steps or out_of_time:
            save_training_checkpoint(accelerator, model, tokenizer, builder.config, optimizer, scheduler, config, {"step": done})
        if out_of_time:
            if accelerator.is_main_process:
                print(f"sft: stopped after step {done} of {total_steps}: max_seconds={config.max_seconds} reached "
                      "(--resume continues)", file=sys.stderr)
            break
    bar.close()
    if writer is not None:
        writer.close()
    accelerator.wait_for_everyone()
    return latest_checkpoint(config.output_dir)


def _any(accelerator, flag: bool) -> bool:
    """Whether ``flag`` is true on any process (so all processes stop at the same step)."""
    return bool(accelerator.reduce(torch.tensor(float(flag), device=accelerator.device), reduction="sum") > 0)


def _offline_base(config: SFTConfig, records: list[dict], offline_config: OfflineModelConfig | None, accelerator) -> str:
    """The offline default model of this run, built from the training records on first use."""
    base = os.path.join(config.output_dir, BASE_MODEL_DIR)
    if accelerator.is_main_process and not os.path.isdir(base):
        build_offline_model(record_texts(records, PromptConfig().system), base, offline_config)
    accelerator.wait_for_everyone()
    return os.path.abspath(base)
