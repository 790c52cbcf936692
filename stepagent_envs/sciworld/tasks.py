"""The 30 ScienceWorld tasks, as the installed ``scienceworld`` package lists them (the paper's order)."""

from __future__ import annotations

from .engine import scienceworld_constants

#: The engine's simplification names (its ``getPossibleSimplifications``); ``"easy"`` picks a set of them per task.
SIMPLIFICATIONS = ("teleportAction", "openDoors", "openContainers", "selfWateringFlowerPots", "noElectricalAction")


def task_names() -> tuple[str, ...]:
    """Every task name, from ``boil`` to ``mendelian-genetics-unknown-plant``."""
    return tuple(task["task_name"] for task in scienceworld_constants().TASKS)


def needs_electrical_actions(task: str) -> bool:
    """Whether ``task`` needs the ``connect`` actions (the engine's rule: circuits and conductivity)."""
    return "power-component" in task or "conductivity" in task
