"""StepGrid's levels, seed splits and task ids, over the ``minigrid`` package.

A level is a registered MiniGrid or BabyAI id without its ``-v0`` suffix, and
a task is one seeded layout of it: ``"MiniGrid-DoorKey-5x5/1234"`` is
``gym.make("MiniGrid-DoorKey-5x5-v0").reset(seed=1234)``.
"""

from __future__ import annotations

import contextlib
import io

import gymnasium as gym
import minigrid  # noqa: F401  (importing it registers the MiniGrid-* and BabyAI-* ids)

from .llm4teach_levels import LLM4TEACH_LEVELS  # registers LLM4Teach-*-v0

#: Levels planned by :mod:`.planner` (shortest plans over the full grid).
MINIGRID_LEVELS = (
    "MiniGrid-DoorKey-5x5",
    "MiniGrid-DoorKey-6x6",
    "MiniGrid-DoorKey-8x8",
    "MiniGrid-LavaGapS5",
    "MiniGrid-LavaGapS6",
    "MiniGrid-LavaGapS7",
    "MiniGrid-LavaCrossingS9N1",
    *LLM4TEACH_LEVELS,
)
#: Levels advised by minigrid's BabyAIBot (see :mod:`.babyai_expert`).
BABYAI_LEVELS = (
    "BabyAI-GoToObj",
    "BabyAI-GoToLocal",
    "BabyAI-PickupLoc",
    "BabyAI-UnlockPickup",
    "BabyAI-KeyCorridorS3R3",
)
LEVELS = MINIGRID_LEVELS + BABYAI_LEVELS

#: Disjoint seed ranges of the splits (StepGrid-v0's task lists; shared by every level).
SPLITS = {"test": range(0, 1_000), "dev": range(1_000, 2_000), "train": range(2_000, 102_000)}


def check_level(level: str) -> str:
    """The canonical name of ``level`` (one of :data:`LEVELS`), else a ValueError naming them.

    Short names and gym ids are aliases: ``"DoorKey-5x5"``, ``"doorkey-5x5"`` and
    ``"MiniGrid-DoorKey-5x5-v0"`` all name ``"MiniGrid-DoorKey-5x5"``.
    """
    if level in LEVELS:
        return level
    if isinstance(level, str):
        key = level.strip().lower().removesuffix("-v0")
        for name in LEVELS:
            if key in (name.lower(), name.lower().split("-", 1)[1]):
                return name
    raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)} "
                     "(or their short names, such as 'DoorKey-5x5')")


def task_id(level: str, seed: int) -> str:
    """The id of ``level``'s layout drawn with ``seed``."""
    return f"{level}/{seed}"


def parse_task_id(task: str) -> tuple[str, int]:
    """The (level, seed) of a task id such as ``"MiniGrid-DoorKey-5x5/1234"``."""
    level, slash, seed = str(task).rpartition("/")
    if not slash or not seed.isdigit():
        raise ValueError(f"task_id {task!r} is not '<level>/<seed>', e.g. 'MiniGrid-DoorKey-5x5/1234'")
    return check_level(level), int(seed)


def make_engine(level: str, max_steps: int | None = None):
    """A bare (unwrapped) minigrid env of ``level``; ``max_steps`` replaces its own limit when given."""
    kwargs = {} if max_steps is None else {"max_steps": max_steps}
    return gym.make(f"{level}-v0", disable_env_checker=True, **kwargs).unwrapped


def reset_engine(engine, seed: int) -> dict:
    """Reset ``engine`` to the layout of ``seed`` and return its observation."""
    # BabyAI prints every layout its rejection sampling discards ("Sampling rejected: ...").
    with contextlib.redirect_stdout(io.StringIO()):
        obs, _ = engine.reset(seed=seed)
    return obs
