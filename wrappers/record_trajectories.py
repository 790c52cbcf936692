"""Write and read trajectory records: one JSON line per finished episode (docs/design.md)."""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import gymnasium as gym
from pydantic import TypeAdapter
from typing_extensions import NotRequired, TypedDict

from stepagent_envs.records import validate_json_text

__all__ = ["RecordTrajectories", "read_trajectories"]

# How much of the file's end is read at a time when looking for the last newline.
_CHUNK = 1 << 16


class RecordTrajectories(gym.Wrapper):
    """Appends one trajectory record per finished episode to a JSON Lines file.

    A record (docs/design.md, trajectory record) is::

        {"env_id", "task_id", "task", "seed",
         "steps": [{"observation", "action", "reward", "expert_action", "step_reward", "valid_actions"}],
         "won", "score"}

    * ``env_id``: ``env.spec.id``, or None for an env made without ``gym.make``;
    * ``task_id``, ``task``: from the reset ``info`` (None where absent);
      ``seed``: the seed passed to ``reset`` (None if none);
    * step ``t``: ``observation`` is the one the agent saw before acting,
      ``action`` the action this wrapper was given (one JSON cannot hold, such
      as bytes, a numpy integer or an object, is stored as its ``repr`` and the
      step gets ``"action_is_repr": true``); ``reward`` is the env's own
      reward (``info["env_reward"]`` when an :class:`~wrappers.ExpertStepReward`
      is inside this wrapper, else the reward returned), and ``expert_action``
      and ``step_reward`` come from ``info`` when an ExpertStepReward is inside,
      else they are null; ``valid_actions`` is ``info["valid_actions"]`` of the
      state the action was chosen in (``[]`` where the space is open), so a
      trainer sees the candidates the agent chose from;
    * ``won``, ``score``: from the last step's ``info`` (None where absent).

    So the record does not depend on whether the ExpertStepReward is inside or
    outside, except that its fields are null when it is outside. With a
    :class:`~wrappers.ParseAction` outside this wrapper the actions are the
    parsed ones; with one inside they are the model's whole answers, format
    errors included.

    An episode is written when it terminates or truncates; one cut short by
    ``reset`` or ``close`` is dropped. Each record is one ``write`` of the whole
    line to the file opened with ``O_APPEND`` (then ``fsync``), so a process
    that dies never leaves a half-written line behind, and several processes
    may append to one file. The file is opened per record, so the wrapper holds
    no file handle: pickled and deep-copied envs (branches) append to the same
    file.

    If the file ends without a newline when the wrapper is created, its last
    line was torn by a crash: that tail is truncated (with a warning) before
    anything is appended.

    Args:
        env: The env to record.
        path: The JSON Lines file; created when missing, appended to otherwise.
        fsync: Call ``fsync`` after each record, so records survive a crash of
            the machine, not only of the process. Turn it off for throughput
            on slow disks.

    Raises:
        OSError: ``path`` cannot be opened for appending.
    """

    def __init__(self, env: gym.Env, path: str | os.PathLike, fsync: bool = True):
        super().__init__(env)
        # Absolute, so copies unpickled under another working directory write the same file.
        self.path = os.path.abspath(os.fspath(path))
        self.fsync = fsync
        self.env_id = env.spec.id if env.spec is not None else None
        _truncate_torn_tail(self.path)
        self._record: dict[str, Any] | None = None
        self._obs: Any = None
        self._valid: list[str] = []

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the env and start a new record; an unfinished one is dropped."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._record = {
            "env_id": self.env_id,
            "task_id": info.get("task_id"),
            "task": info.get("task"),
            "seed": seed,
            "steps": [],
        }
        self._obs = obs
        self._valid = list(info.get("valid_actions") or [])
        return obs, info

    def step(self, action: Any):
        """Step the env, add the step to the record, and write the record when the episode ends."""
        if self._record is None:
            raise RuntimeError("RecordTrajectories: call reset() before step() (and after an episode ends)")
        obs, reward, terminated, truncated, info = self.env.step(action)
        step = {
            "observation": self._obs,
            "action": action,
            "reward": float(info.get("env_reward", reward)),
            "expert_action": info.get("expert_action"),
            "step_reward": info.get("step_reward"),
            "valid_actions": self._valid,
        }
        if not _is_json(action):
            step["action"], step["action_is_repr"] = repr(action), True
        self._record["steps"].append(step)
        self._obs = obs
        self._valid = list(info.get("valid_actions") or [])
        if terminated or truncated:
            record, self._record = self._record, None
            record["won"] = bool(info["won"]) if "won" in info else None
            record["score"] = float(info["score"]) if "score" in info else None
            self._write(record)
        return obs, reward, terminated, truncated, info

    def close(self):
        """Drop an unfinished episode and close the env."""
        self._record = None
        super().close()

    def _write(self, record: dict[str, Any]) -> None:
        # default=repr: any other value a wrapped env put in its observation or info must not cost the episode.
        line = (json.dumps(record, default=repr) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, line)
            # A regular file takes the line in one write; should a full disk cut it
            # short, finish it rather than leave a tail the next record is glued to.
            while written < len(line):
                written += os.write(fd, line[written:])
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)


def _is_json(value: Any) -> bool:
    """Whether ``value`` is stored as itself in JSON (not by a fallback)."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):  # bytes, numpy scalars, objects; circular containers
        return False
    return True


class _Step(TypedDict):
    """What is read of a recorded step (other fields are kept as they are): the action; the
    observation where present (a trainer needs it; expert demos replayed by action need not)."""

    observation: NotRequired[str]
    action: str


class _Record(TypedDict):
    """What a trainer reads of a trajectory record (other fields are kept as they are)."""

    task: NotRequired[str | None]
    steps: list[_Step]
    won: NotRequired[bool | None]
    score: NotRequired[float | None]


_RECORD = TypeAdapter(_Record)
_FIX = ("expected one trajectory record per line: an object with a 'steps' list of {action: string, "
        "observation: string, ...} (docs/design.md, trajectory record)")


def read_trajectories(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The trajectory records of a JSON Lines file, in file order (blank lines skipped).

    Args:
        path: The file, as written by :class:`RecordTrajectories`.

    Raises:
        DataError: (a ValueError) A line is not JSON or not a trajectory record (a
            step without an ``action`` string, ...); the message names the line and
            the field (``demos.jsonl: line 3 .steps[1]: missing field ['action']``).
    """
    records = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            validate_json_text(_RECORD, line, os.fspath(path), _FIX, loc=(number,), unit="line")
            records.append(json.loads(line))  # the whole record, fields beyond the schema's included
    return records


def _truncate_torn_tail(path: str) -> None:
    """Create ``path`` if missing; if it ends without a newline, cut it after its last newline."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return
        keep = _end_of_last_line(fd, size)
        os.ftruncate(fd, keep)
        os.fsync(fd)
    finally:
        os.close(fd)
    warnings.warn(
        f"{path} ended with a torn line (a writer died mid-record); truncated its last "
        f"{size - keep} bytes, keeping {keep} bytes of whole records",
        RuntimeWarning,
        stacklevel=3,
    )


def _end_of_last_line(fd: int, size: int) -> int:
    """The offset just after the last newline of the file (0 if it has none)."""
    end = size
    while end > 0:
        start = max(0, end - _CHUNK)
        newline = os.pread(fd, end - start, start).rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        end = start
    return 0
