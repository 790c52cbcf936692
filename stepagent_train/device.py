"""One place that makes the ``accelerate`` Accelerator the trainers run under."""

from __future__ import annotations

__all__ = ["make_accelerator"]


def make_accelerator(mixed_precision: str = "no"):
    """An ``accelerate.Accelerator`` with ``mixed_precision`` (``no``, ``bf16``, ``fp16``).

    accelerate keeps one process-wide state and refuses a second Accelerator
    with another precision. In a single process (a notebook, the demo running
    SFT then StepAgent, a test session) that state is reset so each run gets
    the precision it asked for; under ``accelerate launch`` (several
    processes) it is left alone, as the launcher set it.

    Without CUDA the accelerator is told it is on CPU, so several CPU processes
    started by ``torchrun --nproc_per_node N`` (or ``python -m torch.distributed.run``)
    form one gloo group (accelerate only does so with ``cpu=True``).
    """
    import torch
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, PartialState

    cpu = not torch.cuda.is_available()
    if AcceleratorState._shared_state and PartialState(cpu=cpu).num_processes == 1:
        if AcceleratorState().mixed_precision != mixed_precision:
            AcceleratorState._reset_state()
    return Accelerator(mixed_precision=mixed_precision, cpu=cpu)
