"""The run loop of every cycle-based trainer: collect → score → optimise → dev-eval → keep best.

An algorithm (StepAgent's step-DPO, PPO, GRPO, ...) gives two things:

* ``cycle_data(cycle) -> CycleData``: the cycle's training items, collected and
  scored with the current policy (inspection pairs with reference
  log-probabilities, rollouts with advantages), its report figures and the
  schedule (optimizer steps, each a list of micro-batches of item indices);
* ``train_step(data, micro_batches) -> dict``: forward and backward of one
  optimizer step's micro-batches (gradients accumulate), returning its figures.

:func:`open_session` loads the model once (a run's checkpoint on resume, else
the start model, with a new LoRA adapter where the config asks), builds the
prompt builder from the prompt config saved with the model and prepares it
with ``accelerate``. :func:`run_cycles` then runs the cycles: the optimizer
(AdamW; fresh each cycle or kept across cycles), gradient clipping, a
``metrics.jsonl`` row per optimizer step and per cycle, checkpoints
(:func:`~stepagent_train.checkpoint.save_training_checkpoint`) every
``config.save_every`` steps inside a cycle when the algorithm's cycle data can be
rebuilt on resume, and at every cycle's end; dev evaluation after each cycle
(cached in ``cycle-N/dev.json``); ``best/``, a copy of the best cycle's
checkpoint by dev; ``summary.json``. A resumed run continues at the step it
stopped, mid-cycle too.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from tqdm import tqdm

from .checkpoint import (
    CHECKPOINTS, METRICS_FILE, TRAINER_DIR, append_jsonl, latest_checkpoint, read_trainer_state, restore_training_state,
    save_training_checkpoint, truncate_jsonl, write_json,
)
from .config import SELECT_BY, EnvTrainConfig
from .device import make_accelerator
from .models import add_lora
from .policies import HFPolicy, load_model
from .prompts import PromptBuilder, PromptConfig

__all__ = ["BEST_DIR", "SUMMARY_FILE", "CycleData", "Session", "check_output_dir", "cycle_file", "load_start_model",
           "open_session", "read_json", "run_cycles", "tensorboard_writer"]

BEST_DIR = "best"
SUMMARY_FILE = "summary.json"


@dataclass
class CycleData:
    """What one cycle trains on.

    Attributes:
        items: The training items (pairs, steps), indexed by the schedule.
        report: The cycle's collection figures (kept in the cycle's report and metrics row).
        schedule: Per optimizer step, its micro-batches of item indices.
    """

    items: list
    report: dict
    schedule: list[list[list[int]]]


@dataclass
class Session:
    """A loaded, prepared model and where the run stands."""

    accelerator: object
    model: torch.nn.Module
    tokenizer: object
    builder: PromptBuilder
    state: dict
    resume_from: str | None
    modules: dict = field(default_factory=dict)

    @property
    def pad(self) -> int:
        return self.tokenizer.pad_token_id

    def policy(self, **kwargs) -> HFPolicy:
        """The current model as a policy (for rollouts and evaluation)."""
        return HFPolicy(self.accelerator.unwrap_model(self.model), self.tokenizer, self.builder, **kwargs)


def open_session(config, start_model: str, resume_keys: tuple[str, ...], new_lora: bool | None = None,
                 modules: Callable[[torch.nn.Module], dict] | None = None, name: str | None = None) -> Session:
    """Load the model once: the latest checkpoint of ``config.output_dir`` on resume, else ``start_model``.

    Args:
        config: A :class:`~stepagent_train.config.TrainConfig`.
        start_model: A model or adapter folder, or a hub id; an adapter keeps training.
        resume_keys: Config fields a resumed run must share with the saved run.
        new_lora: Put a new LoRA adapter on a full model (None: ``config.use_lora()``).
        modules: ``modules(model) -> {name: module}``: extra trained modules (a value head),
            restored from the checkpoint on resume.
        name: The algorithm's name; given, the run must be one process (its data is not split by rank yet).
    """
    accelerator = make_accelerator(config.mixed_precision)
    if name is not None and accelerator.num_processes > 1:
        raise RuntimeError(f"{name} runs in one process; it was launched in {accelerator.num_processes}. Run it with "
                           "python -m stepagent_train.cli (one GPU), not accelerate launch; for fast rollouts at scale "
                           "serve the model with vLLM and use the HTTP policy")
    resume_from = latest_checkpoint(config.output_dir) if config.resume else None
    if resume_from is not None:
        state = read_trainer_state(resume_from, config, resume_keys)
        if state["cycle_step"] == state["cycle_steps"]:  # the checkpoint ends its cycle: the next one starts fresh
            state = {**state, "cycle": state["cycle"] + 1, "cycle_step": 0, "cycle_steps": None,
                     "cycle_steps_done": state["cycle_steps"]}
        model, tokenizer, folder = load_model(resume_from, trainable=True)
    else:
        state = {"step": 0, "cycle": 1, "cycle_step": 0, "cycle_steps": None}
        model, tokenizer, folder = load_start_model(config, start_model, new_lora)
        torch.manual_seed(config.seed)  # dropout draws from here; a resumed run restores the saved state instead
    builder = PromptBuilder(tokenizer, config.prompt_config(PromptConfig.load(folder) if os.path.isdir(folder) else None))
    extra = modules(model) if modules else {}
    if resume_from is not None and extra:
        for name, module in extra.items():
            module.load_state_dict(torch.load(os.path.join(resume_from, TRAINER_DIR, f"{name}.pt"), weights_only=True))
    model = accelerator.prepare(model)
    extra = {name: accelerator.prepare(module) for name, module in extra.items()}
    return Session(accelerator, model, tokenizer, builder, state, resume_from, extra)


def load_start_model(config, start_model: str, new_lora: bool | None = None):
    """``(model, tokenizer, folder)`` of the run's starting policy: ``start_model`` (an adapter keeps
    training) with a new LoRA adapter on a full model where ``new_lora`` (None: ``config.use_lora()``) says."""
    model, tokenizer, folder = load_model(start_model, trainable=True)
    lora = config.use_lora() if new_lora is None else new_lora
    if lora and not hasattr(model, "peft_config"):
        model = add_lora(model, config.lora_r, config.lora_alpha, config.lora_dropout, config.lora_target_modules,
                         seed=config.seed)
    return model, tokenizer, folder


def run_cycles(config: EnvTrainConfig, session: Session, cycles: int, cycle_data: Callable[[int], CycleData],
               train_step: Callable[[CycleData, list[list[int]]], dict], start_model: str, name: str,
               fresh_optimizer: bool = True, resumable_mid_cycle: bool = True, eval_initial: bool = True,
               eval_every: int = 1, show_progress: bool = True) -> dict:
    """Run ``cycles`` cycles (see the module docstring); returns the summary (also ``summary.json``).

    Args:
        config: The run's settings (optimiser, checkpoints, dev evaluation).
        session: From :func:`open_session`.
        cycles: Cycles to run in all (a resumed run continues where it stopped).
        cycle_data: ``cycle_data(cycle)``: the cycle's items, report and schedule.
        train_step: ``train_step(data, micro_batches)``: one optimizer step's forward and backward.
        start_model: The starting policy (cycle 0, a candidate for best when evaluated).
        name: The algorithm's name (progress bars, messages).
        fresh_optimizer: A new AdamW each cycle (StepAgent: the objective changes with the
            reference); else one optimizer for the run.
        resumable_mid_cycle: ``cycle_data`` rebuilds the same data on resume, so checkpoints may be
            written inside a cycle; else only at cycle ends.
        eval_initial: Evaluate the starting policy on dev first.
        eval_every: Evaluate on dev after every N-th cycle (and after the last).
        show_progress: Show progress bars.

    Returns:
        ``best_checkpoint``, ``best_cycle`` (0: the starting policy), ``start_model``,
        ``initial_dev``, ``cycles`` (reports: ``cycle``, ``steps``, ``checkpoint``, ``dev``,
        ``seconds`` and the cycle data's report), ``stopped_early``.
    """
    out, accelerator, model, state = config.output_dir, session.accelerator, session.model, session.state
    resume_from = session.resume_from
    began = time.perf_counter()
    metrics_path = os.path.join(out, METRICS_FILE)
    writer = tensorboard_writer(out) if accelerator.is_main_process else None
    # Steps after the checkpoint were lost with the interrupted run and are redone; so is an unfinished cycle's report.
    truncate_jsonl(metrics_path, lambda row: row.get("step", 0) <= state["step"] and
                   (row.get("event") != "cycle" or os.path.exists(cycle_file(out, row["cycle"], "report.json"))))
    params = [p for m in (model, *session.modules.values()) for p in m.parameters() if p.requires_grad]

    def make_optimizer():
        return accelerator.prepare(torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay))

    optimizer = None if fresh_optimizer else make_optimizer()
    if optimizer is not None and resume_from is not None:
        restore_training_state(resume_from, optimizer, None, accelerator.process_index)

    def evaluate_dev(cycle: int) -> dict | None:
        path = cycle_file(out, cycle, "dev.json")
        if os.path.exists(path):
            return read_json(path)["dev"]
        if config.dev_episodes == 0:
            return None
        from .evaluate import evaluate_policy

        model.eval()
        policy = session.policy(max_new_tokens=config.max_new_tokens, batch_size=config.generation_batch_size)
        result = asdict(evaluate_policy(policy, config.env, "dev", f"cycle-{cycle}", config.dev_episodes, config.num_envs,
                                        config.env_kwargs_dict(), show_progress=show_progress))
        write_json(path, {"cycle": cycle, "dev": result})
        return result

    initial_dev = evaluate_dev(0) if eval_initial and resume_from is None else _cached_dev(out, 0)
    reports: list[dict] = [read_json(cycle_file(out, c, "report.json")) for c in range(1, state["cycle"])
                           if os.path.exists(cycle_file(out, c, "report.json"))]

    def save(cycle: int, cycle_step: int, cycle_steps: int, step: int) -> str:
        return save_training_checkpoint(accelerator, model, session.tokenizer, session.builder.config, optimizer, None, config,
                                        {"step": step, "cycle": cycle, "cycle_step": cycle_step, "cycle_steps": cycle_steps},
                                        session.modules)

    def finish_cycle(cycle: int, report: dict, total: int, checkpoint: str, seconds: dict) -> None:
        """Dev evaluation, the cycle's report and metrics row, and best/."""
        mark = time.perf_counter()
        dev = evaluate_dev(cycle) if cycle % eval_every == 0 or cycle == cycles else None
        seconds["dev"] = round(time.perf_counter() - mark, 2)
        full = {"cycle": cycle, **report, "steps": total, "checkpoint": checkpoint, "dev": dev, "seconds": seconds}
        if writer is not None:
            for key in ("mean_return", "success_rate", "mean_score", "agreement", "pairs"):
                if isinstance(report.get(key), (int, float)):
                    writer.add_scalar(f"cycle/{key}", report[key], cycle)
            for key, value in (dev or {}).items():
                if isinstance(value, (int, float)):
                    writer.add_scalar(f"dev/{key}", value, cycle)
        if accelerator.is_main_process:
            append_jsonl(metrics_path, {"event": "cycle", "step": state["step"], **{k: v for k, v in full.items()
                                                                                    if k not in ("checkpoint", "steps")}})
            write_json(cycle_file(out, cycle, "report.json"), full)
        reports.append(full)
        if accelerator.is_main_process:
            _keep_best(out, config.select_by, initial_dev, reports)

    last = state["cycle"] - 1
    if resume_from is not None and last >= 1 and not os.path.exists(cycle_file(out, last, "report.json")):
        # Interrupted between the end of a cycle's training and its report: the loaded checkpoint is that cycle's end.
        finish_cycle(last, read_json(cycle_file(out, last, "collect.json")), state["cycle_steps_done"], resume_from, {})

    stopped = False
    for cycle in range(state["cycle"], cycles + 1):
        fresh = state["cycle"] != cycle or state["cycle_steps"] is None  # this cycle has no optimizer step yet
        seconds: dict[str, float] = {}
        mark = time.perf_counter()
        data = cycle_data(cycle)
        seconds["collect"] = round(time.perf_counter() - mark, 2)
        if accelerator.is_main_process:
            write_json(cycle_file(out, cycle, "collect.json"), data.report)
        total = len(data.schedule)
        first = 0 if fresh else state["cycle_step"]
        base_step = state["step"] - first  # global step before this cycle's first optimizer step
        if fresh_optimizer:
            optimizer = make_optimizer()
            if not fresh and first > 0:
                restore_training_state(resume_from, optimizer, None, accelerator.process_index)

        mark = time.perf_counter()
        model.train()
        bar = tqdm(total=total, initial=first, desc=f"{name} cycle {cycle}",
                   disable=not (show_progress and accelerator.is_main_process), leave=False)
        done = first
        for step in range(first, total):
            row = train_step(data, data.schedule[step])
            grad_norm = accelerator.clip_grad_norm_(params, config.max_grad_norm) if config.max_grad_norm > 0 else None
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            done = step + 1
            row = {"step": base_step + done, "cycle": cycle, "cycle_step": done, **row, "lr": config.learning_rate,
                   "grad_norm": None if grad_norm is None else float(grad_norm),
                   "seconds": round(time.perf_counter() - began, 3)}
            if accelerator.is_main_process:
                append_jsonl(metrics_path, row)
            if writer is not None:
                for key, value in row.items():
                    if isinstance(value, (int, float)) and key not in ("step", "cycle", "cycle_step"):
                        writer.add_scalar(f"train/{key}", value, row["step"])
            bar.set_postfix(loss=f"{row['loss']:.3f}")
            bar.update()
            stopped = config.max_seconds is not None and _any(accelerator, time.perf_counter() - began >= config.max_seconds)
            if resumable_mid_cycle and (done % config.save_every == 0 or stopped) and done < total:
                save(cycle, done, total, base_step + done)
            if stopped and resumable_mid_cycle:
                break
        bar.close()
        seconds["train"] = round(time.perf_counter() - mark, 2)
        if stopped and done < total:
            print(f"{name}: stopped in cycle {cycle} after step {done} of {total}: max_seconds={config.max_seconds} "
                  "reached (resume continues)", file=sys.stderr)
            break
        checkpoint = save(cycle, total, total, base_step + total)
        state = {"step": base_step + total, "cycle": cycle + 1, "cycle_step": 0, "cycle_steps": None}
        finish_cycle(cycle, data.report, total, checkpoint, seconds)
        stopped = config.max_seconds is not None and _any(accelerator, time.perf_counter() - began >= config.max_seconds) \
            and cycle < cycles
        if stopped:
            print(f"{name}: stopped after cycle {cycle} of {cycles}: max_seconds={config.max_seconds} "
                  "reached (resume continues)", file=sys.stderr)
            break

    best_cycle = _best_cycle(config.select_by, initial_dev, reports)
    best = start_model if best_cycle == 0 else os.path.join(out, BEST_DIR)
    summary = {"best_checkpoint": None if best_cycle is None else best, "best_cycle": best_cycle, "start_model": start_model,
               "initial_dev": initial_dev, "cycles": reports, "stopped_early": stopped}
    if writer is not None:
        writer.close()
    if accelerator.is_main_process:
        write_json(os.path.join(out, SUMMARY_FILE), summary)
    accelerator.wait_for_everyone()
    return summary


def check_output_dir(config, kind: str) -> None:
    """A run never overwrites another run's cycles by accident: a used folder needs resume."""
    if config.resume or not os.path.isdir(config.output_dir):
        return
    used = [n for n in os.listdir(config.output_dir) if n in (CHECKPOINTS, "sft", BEST_DIR, METRICS_FILE) or n.startswith("cycle-")]
    if used:
        raise ValueError(f"output_dir {config.output_dir!r} already holds a {kind} run ({', '.join(sorted(used))}); "
                         "pass resume=True (--resume) to continue it, or pick an empty output_dir")


def cycle_file(out: str, cycle: int, name: str) -> str:
    return os.path.join(out, f"cycle-{cycle}", name)


def read_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _any(accelerator, flag: bool) -> bool:
    """Whether ``flag`` is true on any process (so all processes stop at the same step)."""
    if accelerator.num_processes == 1:
        return flag
    return bool(accelerator.reduce(torch.tensor(float(flag), device=accelerator.device), reduction="sum") > 0)


def _score(dev: dict, select_by: str) -> tuple:
    return tuple(dev[k] for k in (select_by, *[s for s in SELECT_BY if s != select_by]))


def _best_cycle(select_by: str, initial_dev: dict | None, reports: list[dict]) -> int | None:
    """The best cycle by dev (0: the starting policy); the last cycle when nothing was evaluated."""
    candidates = ([(0, initial_dev)] if initial_dev else []) + [(c["cycle"], c["dev"]) for c in reports if c["dev"]]
    if not candidates:
        return reports[-1]["cycle"] if reports else None
    best = candidates[0]
    for candidate in candidates[1:]:
        if _score(candidate[1], select_by) > _score(best[1], select_by):  # ties keep the earlier
            best = candidate
    return best[0]


def _keep_best(out: str, select_by: str, initial_dev: dict | None, reports: list[dict]) -> None:
    """Copy the latest cycle's checkpoint to ``best/`` when it is the best so far (without its
    optimizer state: best/ is for loading as a policy)."""
    if _best_cycle(select_by, initial_dev, reports) != reports[-1]["cycle"]:
        return
    target = os.path.join(out, BEST_DIR)
    tmp, old = os.path.join(out, f".best-tmp{os.getpid()}"), os.path.join(out, f".best-old{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(reports[-1]["checkpoint"], tmp, ignore=shutil.ignore_patterns(TRAINER_DIR))
    write_json(os.path.join(tmp, "best.json"), {"cycle": reports[-1]["cycle"], "dev": reports[-1]["dev"]})
    if os.path.exists(target):
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def _cached_dev(out: str, cycle: int) -> dict | None:
    path = cycle_file(out, cycle, "dev.json")
    return read_json(path)["dev"] if os.path.exists(path) else None


def tensorboard_writer(output_dir: str):
    """A TensorBoard writer under ``<output_dir>/tensorboard`` when TensorBoard is installed, else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(os.path.join(output_dir, "tensorboard"))
