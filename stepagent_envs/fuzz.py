"""Fuzz a text env: thousands of hostile actions, no exception, invalid ones change nothing.

:func:`fuzz_text_env` plays a seeded mix of actions through one env: its own
valid actions and expert actions (to reach deep states), mutations of them,
tool calls with broken brackets, random Unicode (lone surrogates, control and
zero-width characters, right-to-left marks, emoji), empty and 20,000-character
strings, interpreter escapes (``\\N``, ``\\help``), format and path strings,
and values that are not strings at all. After every step it checks that:

* ``step`` returned (no exception) an observation the observation space holds
  and an ``info`` with every contract key;
* an action the env marks ``info["invalid"]`` paid reward 0, did not
  terminate the episode and left the task, task id, valid actions, score and
  win flag as they were;
* where the env can be deep-copied, the next action gives the same outputs as
  it gives on a copy taken before the invalid one (sampled: every
  ``next_check_every``-th invalid action), so the invalid action changed no
  hidden state either.

The suite runs it per env (``tests/test_fuzz.py``, 2,000 actions; 300 on the
JVM-backed StepSciWorld-v0); ``benchmarks/fuzz_envs.py`` runs 10,000.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from .contract import INFO_KEYS, ExpertUnavailable
from .testing import TextEnvCheckError

__all__ = ["FuzzReport", "fuzz_actions", "fuzz_text_env"]

_TOOLS = ("search", "click", "lookup", "finish", "go", "open", "take", "python", "answer", "focus on", "teleport to")
_ODD_CHARS = (
    "\x00", "\x07", "\x1b", "\x7f", "\t", "\n", "\r", "\x0b", "\x0c", "\u200b", "\u200f", "\u202e", "\ufeff",
    "\ud800", "\udfff", "\U0001f600", "\u0301", "\u00e9", "\u4e2d", "\u05d0", "\uffff", "[", "]", "\\", '"', "'",
)
_SPECIAL = (
    "", " ", "\n", "\t\t", "[]", "[[[", "]]]", "\\N", "\\help", "\\s", "\\n", "x \\N", "\\\\", "%s%n%x", "{0}{1}",
    "${HOME}", "../../etc/passwd", "'; DROP TABLE products; --", "<script>alert(1)</script>", "null", "None",
    "click[", "search[]", "search[[x]]", "finish[]", "lookup[", "\ud800", "teleport to greenhouse\ud800\x0c",
    "\r\x0c\ud800",
)
_NOT_STRINGS: tuple[Callable[[], Any], ...] = (
    lambda: None, lambda: b"look around", lambda: bytearray(b"go"), lambda: 5, lambda: 2.5, lambda: True,
    lambda: ["search[x]"], lambda: {"action": "search[x]"}, lambda: object(),
)


def _random_text(rng: random.Random, length: int) -> str:
    pool = "abcdefghijklmnopqrstuvwxyz ABC0123456789[]()-_.,!?"
    return "".join(rng.choice(_ODD_CHARS) if rng.random() < 0.3 else rng.choice(pool) for _ in range(length))


def _mutate(rng: random.Random, action: str) -> str:
    chars = list(action)
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(5)
        at = rng.randint(0, len(chars))
        if kind == 0:
            chars.insert(at, rng.choice(_ODD_CHARS))
        elif kind == 1 and chars:
            del chars[min(at, len(chars) - 1)]
        elif kind == 2:
            chars = list("".join(chars).upper() if rng.random() < 0.5 else "".join(chars).swapcase())
        elif kind == 3:
            chars.insert(at, rng.choice(("  ", "[", "]", "][", "\\")))
        else:
            chars = chars[: rng.randint(0, len(chars))]
    return "".join(chars)


def fuzz_actions(rng: random.Random, info: dict, expert: str | None) -> Any:
    """One fuzz action for the state ``info`` describes (``expert``: the expert's action, if any)."""
    roll = rng.random()
    valid = info.get("valid_actions") or []
    if roll < 0.25 and valid:
        return rng.choice(valid)
    if roll < 0.40 and expert is not None:
        return expert
    if roll < 0.55:
        return _mutate(rng, rng.choice(valid) if valid and rng.random() < 0.5 else (expert or "look"))
    if roll < 0.67:
        tool = rng.choice(_TOOLS)
        return f"{tool}{rng.choice(('[', ' [', '(', ''))}{_random_text(rng, rng.randint(0, 30))}{rng.choice((']', '', ']]'))}"
    if roll < 0.80:
        return _random_text(rng, rng.randint(1, 60))
    if roll < 0.88:
        return rng.choice(_SPECIAL)
    if roll < 0.92:
        return _random_text(rng, rng.randint(600, 20_000))
    return rng.choice(_NOT_STRINGS)()


@dataclass
class FuzzReport:
    """What a fuzz run did and found.

    Attributes:
        env: The env's id (or class name).
        actions: Actions played.
        episodes: Episodes started.
        invalid: Actions the env marked invalid.
        next_checks: Invalid actions whose next action was compared with a copy's.
        failures: What went wrong, one line each with the action (empty when the env held).
    """

    env: str
    actions: int = 0
    episodes: int = 0
    invalid: int = 0
    next_checks: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.env}: {self.actions} actions over {self.episodes} episodes, {self.invalid} invalid "
                f"({self.next_checks} followed on a copy): {len(self.failures)} failures")


def _expert(env: gym.Env) -> str | None:
    oracle = getattr(env.unwrapped, "expert_action", None)
    if oracle is None:
        return None
    try:
        return oracle()
    except ExpertUnavailable:
        return None


def _outputs(transition: tuple) -> tuple:
    # Not ``truncated``: the step limit counts the invalid step too, so the copy may end a step later.
    obs, reward, terminated, _, info = transition
    return obs, reward, terminated, {k: info[k] for k in INFO_KEYS}


def fuzz_text_env(env: gym.Env, num_actions: int = 2000, seed: int = 0, next_check_every: int = 10,
                  raise_on_failure: bool = True) -> FuzzReport:
    """Play ``num_actions`` fuzz actions through ``env`` and check the contract after each.

    Args:
        env: The env (made with ``gym.make``, so its step limit truncates episodes).
        num_actions: Actions to play, over as many episodes as they take.
        seed: Seeds the action draws and the resets (episode ``i`` resets with ``seed + i``).
        next_check_every: Compare the action after every this-many-th invalid action with
            the same action on a deep copy taken before it (0: never; envs that cannot be
            deep-copied are skipped).
        raise_on_failure: Raise at the first failure instead of collecting them all.

    Returns:
        The :class:`FuzzReport`.

    Raises:
        TextEnvCheckError: A check failed and ``raise_on_failure`` is set.
    """
    if num_actions < 1 or next_check_every < 0:
        raise ValueError(f"num_actions must be >= 1 and next_check_every >= 0, got {num_actions}, {next_check_every}")
    rng = random.Random(seed)
    name = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    report = FuzzReport(name)
    copyable = next_check_every > 0
    trace: list[str] = []

    def fail(problem: str) -> None:
        line = f"{problem} (after reset(seed={seed + report.episodes - 1}) and actions {trace[-5:]})"
        if raise_on_failure:
            raise TextEnvCheckError(f"[fuzz] {name}: {line}")
        report.failures.append(line)

    def play(target: gym.Env, action: Any) -> tuple | None:
        """``target.step(action)``; None (the failure recorded) where it raised."""
        try:
            return target.step(action)
        except Exception as error:  # the contract: an action never raises
            fail(f"step({repr(action)[:80]}) raised {type(error).__name__}: {str(error)[:200]}")
            return None

    info = env.reset(seed=seed)[1]
    report.episodes = 1
    while report.actions < num_actions:
        action = fuzz_actions(rng, info, _expert(env))
        trace.append(repr(action)[:80])
        twin = None
        if copyable and report.invalid % next_check_every == next_check_every - 1:
            try:
                twin = copy.deepcopy(env)
            except Exception:  # an env over an external engine: state keys only
                copyable = False
        transition = play(env, action)
        report.actions += 1
        if transition is not None:
            obs, reward, terminated, truncated, after = transition
            missing = [k for k in INFO_KEYS if k not in after]
            if missing or not env.observation_space.contains(obs):
                fail(f"step({trace[-1]}) gave info without {missing} or an observation outside the space: {obs!r:.120}")
            elif after["invalid"] is True:
                report.invalid += 1
                changed = [k for k in ("task", "task_id", "valid_actions", "score", "won") if after[k] != info[k]]
                if reward != 0 or terminated or changed:
                    fail(f"invalid step({trace[-1]}) paid {reward!r}, terminated={terminated} or changed {changed}")
                elif twin is not None and not truncated:
                    transition = _follow(env, twin, fuzz_actions(rng, info, _expert(env)), trace, play, fail)
                    report.next_checks += 1
                    report.actions += 1
        if twin is not None:
            twin.close()
        if transition is None or transition[2] or transition[3]:  # raised, terminated or truncated
            info = env.reset(seed=seed + report.episodes)[1]
            report.episodes += 1
            trace.clear()
        else:
            info = transition[4]
    return report


def _follow(env: gym.Env, twin: gym.Env, action: Any, trace: list[str], play, fail) -> tuple | None:
    """Step ``action`` on ``env`` (just after an invalid action) and on ``twin`` (a copy taken
    before it); the outputs must agree. Returns ``env``'s transition (None where it raised)."""
    trace.append(repr(action)[:80])
    mine = play(env, action)
    theirs = play(twin, action) if mine is not None else None
    if mine is not None and theirs is not None and _outputs(mine) != _outputs(theirs):
        diff = next(f"{a!r:.150} != {b!r:.150}" for a, b in zip(_outputs(mine), _outputs(theirs)) if a != b)
        fail(f"step({trace[-1]}) after the invalid step({trace[-2]}) differs from the same step on a copy taken "
             f"before it, so the invalid action changed the state: {diff}")
    return mine
