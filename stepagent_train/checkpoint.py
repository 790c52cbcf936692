"""Training checkpoints: written atomically, found again on resume.

A checkpoint is a folder ``<output_dir>/checkpoints/step-<N>`` holding the
model (``save_pretrained``, safetensors: the full weights, or the LoRA adapter),
the tokenizer and ``prompt_config.json`` (so it loads as a policy by path), and
``trainer/`` with the optimizer, scheduler and RNG states and
``trainer_state.json``. It is written under a temporary name and renamed into
place, so a folder named ``step-<N>`` is always complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable

__all__ = ["CHECKPOINTS", "METRICS_FILE", "TRAINER_DIR", "append_jsonl", "atomic_dir", "checkpoint_step", "latest_checkpoint", "prune_checkpoints",
           "read_trainer_state", "restore_training_state", "save_training_checkpoint", "truncate_jsonl", "write_checkpoint",
           "write_json"]

CHECKPOINTS = "checkpoints"
METRICS_FILE = "metrics.jsonl"
TRAINER_DIR = "trainer"
_STEP_DIR = re.compile(r"^step-(\d+)$")


def write_checkpoint(output_dir: str, step: int, write: Callable[[str], None]) -> str:
    """Create ``<output_dir>/checkpoints/step-<step>`` atomically.

    Args:
        output_dir: The run's folder.
        step: The optimizer step the checkpoint is taken after.
        write: ``write(folder)`` saves everything into the (temporary) folder.

    Returns:
        The checkpoint folder.
    """
    return atomic_dir(os.path.join(output_dir, CHECKPOINTS, f"step-{step}"), write, replace=True)


def atomic_dir(final: str, write: Callable[[str], None], replace: bool = False) -> str:
    """Create the folder ``final`` atomically: ``write(tmp)`` fills a temporary sibling, renamed into place.

    An interrupted write leaves no half-written ``final`` (the temporary folder is removed).

    Args:
        final: The folder to create.
        write: ``write(folder)`` saves everything into the temporary folder.
        replace: Replace an existing ``final`` whole (else it must not exist).

    Returns:
        ``final``.
    """
    parent = os.path.dirname(os.path.abspath(final))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(final)}-", dir=parent)
    try:
        write(tmp)
        if replace and os.path.exists(final):
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def write_json(path: str, data) -> str:
    """Write ``data`` as indented JSON to ``path`` atomically (a temporary file renamed into place)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)
    return path


def read_trainer_state(checkpoint: str, config, keys: tuple[str, ...]) -> dict:
    """The checkpoint's ``trainer_state.json``, after checking that ``config`` agrees with the saved run on ``keys``.

    Args:
        checkpoint: A checkpoint folder.
        config: The resuming run's config (a dataclass with ``output_dir``).
        keys: Config fields that fix the data and its order: a resumed run must share them.

    Raises:
        ValueError: A key differs; the message names it, both values and the fix.
    """
    with open(os.path.join(checkpoint, TRAINER_DIR, "trainer_state.json"), encoding="utf-8") as f:
        state = json.load(f)
    for key in keys:
        if state["config"][key] != getattr(config, key):
            raise ValueError(
                f"--resume: {key} is {getattr(config, key)!r} but the run in {config.output_dir} used "
                f"{state['config'][key]!r}; resume with the same {key}, or pick a new output_dir"
            )
    return state


def save_training_checkpoint(accelerator, model, tokenizer, prompt_config, optimizer, scheduler, config, state: dict,
                             modules: dict | None = None) -> str:
    """Write the one checkpoint format of every trainer (all processes call it; rank 0 writes).

    The folder loads as a policy by path (weights or LoRA adapter, tokenizer,
    ``prompt_config.json``); ``trainer/`` holds ``optimizer.pt``, ``scheduler.pt``
    (when there is a scheduler), ``rng_<rank>.pt`` for every process (gathered to
    rank 0), ``<name>.pt`` for each extra module (a value head) and
    ``trainer_state.json`` (``state`` plus the config).

    Args:
        accelerator: The run's ``accelerate.Accelerator``.
        model: The (prepared) model.
        tokenizer: Its tokenizer.
        prompt_config: The :class:`~stepagent_train.prompts.PromptConfig` prompts were built with.
        optimizer: The optimizer.
        scheduler: The LR scheduler, or None.
        config: The run's config dataclass (saved for resume checks).
        state: The run's position: ``step`` (the folder's name) and whatever the trainer needs to resume.
        modules: Extra torch modules (a value head) to save by name.

    Returns:
        The checkpoint folder.
    """
    import torch
    from dataclasses import asdict

    from .models import save_weights

    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    if accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        rngs = gather_object([rng])  # in rank order
    else:
        rngs = [rng]
    folder = os.path.join(config.output_dir, CHECKPOINTS, f"step-{state['step']}")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        def write(tmp: str) -> None:
            save_weights(accelerator.unwrap_model(model), tmp)
            tokenizer.save_pretrained(tmp)
            prompt_config.save(tmp)
            trainer = os.path.join(tmp, TRAINER_DIR)
            os.makedirs(trainer)
            torch.save(optimizer.state_dict(), os.path.join(trainer, "optimizer.pt"))
            if scheduler is not None:
                torch.save(scheduler.state_dict(), os.path.join(trainer, "scheduler.pt"))
            for rank, saved in enumerate(rngs):
                torch.save(saved, os.path.join(trainer, f"rng_{rank}.pt"))
            for name, module in (modules or {}).items():
                torch.save(accelerator.unwrap_model(module).state_dict(), os.path.join(trainer, f"{name}.pt"))
            write_json(os.path.join(trainer, "trainer_state.json"), {**state, "config": asdict(config)})

        write_checkpoint(config.output_dir, state["step"], write)
        prune_checkpoints(config.output_dir, config.save_total_limit)
    accelerator.wait_for_everyone()
    return folder


def restore_training_state(checkpoint: str, optimizer, scheduler, rank: int = 0, modules: dict | None = None) -> None:
    """Load what :func:`save_training_checkpoint` wrote into ``optimizer``, ``scheduler`` (may be None),
    the extra ``modules`` and this process's RNG (the model itself is loaded by path)."""
    import torch

    trainer = os.path.join(checkpoint, TRAINER_DIR)
    optimizer.load_state_dict(torch.load(os.path.join(trainer, "optimizer.pt"), map_location="cpu", weights_only=True))
    if scheduler is not None:
        scheduler.load_state_dict(torch.load(os.path.join(trainer, "scheduler.pt"), weights_only=True))
    for name, module in (modules or {}).items():
        module.load_state_dict(torch.load(os.path.join(trainer, f"{name}.pt"), map_location="cpu", weights_only=True))
    rng_file = os.path.join(trainer, f"rng_{rank}.pt")
    if os.path.exists(rng_file):
        rng = torch.load(rng_file, weights_only=True)
        torch.set_rng_state(rng["cpu"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])


def checkpoint_step(checkpoint: str) -> int:
    """The optimizer step of a ``checkpoints/step-N`` folder."""
    match = _STEP_DIR.match(os.path.basename(os.path.normpath(checkpoint)))
    if match is None:
        raise ValueError(f"{checkpoint!r} is not a checkpoint folder (checkpoints/step-N)")
    return int(match.group(1))


def _steps(output_dir: str) -> list[tuple[int, str]]:
    parent = os.path.join(output_dir, CHECKPOINTS)
    if not os.path.isdir(parent):
        return []
    found = [(int(m.group(1)), os.path.join(parent, name)) for name in os.listdir(parent) if (m := _STEP_DIR.match(name))]
    return sorted(found)


def latest_checkpoint(output_dir: str) -> str | None:
    """The checkpoint folder with the highest step, or None when there is none."""
    steps = _steps(output_dir)
    return steps[-1][1] if steps else None


def prune_checkpoints(output_dir: str, keep: int) -> None:
    """Delete all but the ``keep`` latest checkpoints (and leftovers of interrupted writes)."""
    for _, path in _steps(output_dir)[:-keep]:
        shutil.rmtree(path, ignore_errors=True)
    parent = os.path.join(output_dir, CHECKPOINTS)
    for name in os.listdir(parent):
        if name.startswith(".step-"):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)


def append_jsonl(path: str, row: dict) -> None:
    """Append one JSON line in a single write (a crash never leaves half a line)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(row) + "\n").encode())
    finally:
        os.close(fd)


def truncate_jsonl(path: str, keep: Callable[[dict], bool]) -> None:
    """Rewrite a JSON Lines file with only the rows ``keep`` accepts (temp file + rename);
    a torn last line is dropped."""
    if not os.path.exists(path):
        return
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if keep(row):
                rows.append(line if line.endswith("\n") else line + "\n")
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(rows)
    os.replace(tmp, path)
