"""Recorded expert demonstrations, used as the expert of :class:`~wrappers.ExpertStepReward`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from .record_trajectories import read_trajectories

__all__ = ["Demonstrations", "MissingDemonstrationError"]


class MissingDemonstrationError(LookupError):
    """No recorded expert action for this task id and step: the task has no
    demonstration, or the episode ran past the end of it."""


class Demonstrations:
    """Expert actions from trajectory records (docs/design.md format), looked up by
    task id and step index: the action of step ``t`` of the task ``task_id`` is
    ``record["steps"][t]["action"]`` of that task's record.

    Only the task ids and actions are kept. The object is read-only, so copies
    of a wrapped env (``copy.deepcopy`` when branching) share it.

    Args:
        records: A path to a JSON Lines file of trajectory records, or a
            sequence of record dicts. Each record needs ``task_id`` and
            ``steps`` (a list of dicts with an ``action`` str). A task may
            appear more than once only with the same actions.

    Raises:
        ValueError: A record lacks those fields, or two records of one task
            disagree.
        TypeError: ``records`` is neither a path nor a sequence of dicts.
    """

    def __init__(self, records: str | os.PathLike | Sequence[Mapping[str, Any]]):
        if isinstance(records, (str, os.PathLike)):
            source = os.fspath(records)
            records = read_trajectories(records)
        elif isinstance(records, Sequence):
            source = "the given records"
        else:
            raise TypeError(
                f"demonstrations must be a path to a JSON Lines file or a list of record dicts, "
                f"got {type(records).__name__}"
            )
        self.actions: dict[str, list[str]] = {}
        for index, record in enumerate(records):
            task_id, actions = _task_actions(record, f"record {index} of {source}")
            known = self.actions.setdefault(task_id, actions)
            if known != actions:
                raise ValueError(
                    f"record {index} of {source} is a second demonstration of task {task_id!r} "
                    "with different actions; keep one demonstration per task"
                )

    def __deepcopy__(self, memo: dict) -> Demonstrations:
        return self

    def action(self, task_id: Any, step: int) -> str:
        """The recorded expert action of step ``step`` (from 0) of task ``task_id``.

        Args:
            task_id: The episode's ``info["task_id"]``.
            step: How many steps the episode has taken so far.

        Raises:
            MissingDemonstrationError: No demonstration of ``task_id``, or it
                has ``step`` steps or fewer.
        """
        actions = self.actions.get(task_id)
        if actions is None:
            raise MissingDemonstrationError(
                f"no demonstration of task {task_id!r} ({len(self.actions)} tasks have one); "
                "record one for it, or use the env's expert_action() or an expert callable"
            )
        if step >= len(actions):
            raise MissingDemonstrationError(
                f"the demonstration of task {task_id!r} has {len(actions)} steps and the episode "
                f"asks for step {step + 1}; demonstrations are aligned by step index, so an agent "
                'that leaves the expert\'s path can outrun them: use follow="expert", or an '
                "expert that plans from the current state"
            )
        return actions[step]


def _task_actions(record: Any, where: str) -> tuple[Any, list[str]]:
    """The task id and the action list of one trajectory record."""
    if not isinstance(record, Mapping) or "task_id" not in record or not isinstance(record.get("steps"), list):
        raise ValueError(
            f"{where} is not a trajectory record: it needs 'task_id' and a 'steps' list "
            f"(docs/design.md, trajectory record); got {_keys(record)}"
        )
    actions = []
    for t, step in enumerate(record["steps"]):
        action = step.get("action") if isinstance(step, Mapping) else None
        if not isinstance(action, str):
            raise ValueError(f"{where}: steps[{t}] has no 'action' str (got {step!r:.120})")
        actions.append(action)
    return record["task_id"], actions


def _keys(record: Any) -> str:
    return f"keys {sorted(map(str, record))}" if isinstance(record, Mapping) else f"a {type(record).__name__}"
