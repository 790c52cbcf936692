"""Check that a text env follows the StepAgent env contract (docs/design.md).

Run :func:`check_text_env` on your own env, for example in its unit tests,
the way Gymnasium's ``check_env`` or PettingZoo's ``api_test`` are used::

    import gymnasium as gym
    import stepagent_envs
    from stepagent_envs.testing import check_text_env

    env = gym.make("StepShop-v0")
    check_text_env(env, env_fn=lambda: gym.make("StepShop-v0"))

    # An env over an external engine that cannot be pickled:
    check_text_env(engine_env, check_pickle=False)

A violation raises :class:`TextEnvCheckError` (an ``AssertionError``) whose
message names the check, the values seen and how to fix the env.
"""

from __future__ import annotations

import copy
import math
import pickle
import random
from collections.abc import Callable
from typing import Any, NoReturn

import gymnasium as gym
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

from stepagent_envs.contract import INFO_KEYS

__all__ = ["INVALID_ACTION", "TextEnvCheckError", "check_text_env"]

#: An action no env should accept; used to check the invalid-action contract.
INVALID_ACTION = "<<not an action 7f3a>>"

# Steps taken before branching (pickle, deepcopy, invalid action): far enough
# into the episode for its state to be more than the reset state.
_BRANCH_STEP = 3

_JSON_SCALARS = (str, int, float, bool, type(None))

# One recorded transition: (action, obs, reward, terminated, truncated, info);
# the reset is recorded with action, reward and flags set to None.
Transition = tuple[Any, Any, Any, Any, Any, dict]


class TextEnvCheckError(AssertionError):
    """A text env breaks the env contract; the message says which check failed."""


def check_text_env(
    env: gym.Env,
    *,
    seed: int = 0,
    num_steps: int = 20,
    check_pickle: bool = True,
    check_oracle: bool = True,
    oracle_max_steps: int | None = None,
    oracle_episodes: int = 3,
    env_fn: Callable[[], gym.Env] | None = None,
) -> None:
    """Check ``env`` against the StepAgent text-env contract.

    Checks, in order: Gymnasium's ``check_env`` on ``env.unwrapped``; Text
    observation and action spaces holding every observation; the ``info`` keys,
    types and JSON-like values after every reset and step; seeded determinism;
    pickle and deepcopy round-trips mid-episode; invalid actions leaving the
    state unchanged; and the expert oracle winning. The spaces and info checks
    are applied to every reset and step made by the later checks too.

    ``reset`` and ``step`` are called on ``env`` itself, so its wrappers take
    part; ``env.unwrapped`` is used only for ``check_env`` and
    ``expert_action``. ``env`` is left open (it is the caller's) and is left
    in some mid-episode state: reset it before using it again.

    Args:
        env: The env to check, wrapped or not.
        seed: The seed of the seeded episodes; the oracle check uses
            ``seed, seed + 1, ...``.
        num_steps: Steps of the seeded episode (at least 1); it stops earlier
            at termination or truncation. Actions are drawn with
            ``random.Random(seed)`` from ``info["valid_actions"]``, or sampled
            from a copy of the action space seeded with ``seed`` where the
            list is empty.
        check_pickle: Check that ``pickle`` and ``copy.deepcopy`` of the env
            mid-episode continue identically. Pass ``False`` for envs over an
            external engine, which branch by replaying the action prefix.
        check_oracle: Check that ``env.unwrapped.expert_action()`` wins, when
            the env has one.
        oracle_max_steps: Step limit of an oracle episode; defaults to
            ``env.spec.max_episode_steps``, or 100 where there is none.
        oracle_episodes: Number of oracle episodes (seeds) to check.
        env_fn: Optional factory of fresh instances of the same env; the seeded
            episode is then also replayed on one (closed afterwards) and must
            match, which catches state leaking between instances.

    Raises:
        TextEnvCheckError: A check failed.
        ValueError: ``num_steps`` or ``oracle_episodes`` is out of range.
    """
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    if oracle_episodes < 0:
        raise ValueError(f"oracle_episodes must be >= 0, got {oracle_episodes}")

    _check_gymnasium(env)
    _check_spaces(env)

    run = _seeded_run(env, seed, num_steps, "determinism run 1")
    rerun = _seeded_run(env, seed, num_steps, "determinism run 2")
    _compare_runs(run, rerun, seed, "the same env, run twice")
    if env_fn is not None:
        fresh = env_fn()
        try:
            fresh_run = _seeded_run(fresh, seed, num_steps, "determinism run on env_fn()")
        finally:
            fresh.close()
        _compare_runs(run, fresh_run, seed, "env and a fresh env_fn() instance")

    actions = [transition[0] for transition in run[1:]]
    # Branch no later than one step before the run's end: the prefix is then
    # never terminal and at least one action remains to compare with.
    branch = min(_BRANCH_STEP, len(actions) - 1)
    if check_pickle:
        _check_copies(env, seed, actions, branch)
    for k in sorted({0, branch}):
        _check_invalid_action(env, seed, actions, k)

    if check_oracle and hasattr(env.unwrapped, "expert_action"):
        if oracle_max_steps is None:
            spec_limit = env.spec.max_episode_steps if env.spec is not None else None
            oracle_max_steps = spec_limit if spec_limit is not None else 100
        for episode in range(oracle_episodes):
            _check_oracle(env, seed + episode, oracle_max_steps)


def _fail(check: str, problem: str, fix: str) -> NoReturn:
    raise TextEnvCheckError(f"[{check}] {problem}\n  fix: {fix}")


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _trace(actions: list[str]) -> str:
    """An action trace for a message: whole when short, else its start and its end."""
    if len(actions) <= 30:
        return _short(actions, 2000)
    head, tail = _short(actions[:10], 800), _short(actions[-20:], 1200)
    return f"{head} ... ({len(actions) - 30} more) ... {tail}"


# 1. Gymnasium's own checker -------------------------------------------------


def _check_gymnasium(env: gym.Env) -> None:
    try:
        check_env(env.unwrapped, skip_render_check=True)
    except Exception as error:
        raise TextEnvCheckError(
            f"[gymnasium check_env] gymnasium.utils.env_checker.check_env(env.unwrapped) "
            f"failed: {type(error).__name__}: {error}\n"
            "  fix: follow the Gymnasium Env API: reset() calls super().reset(seed=seed) "
            "and returns (obs, info); step() returns a 5-tuple with bool flags; every call "
            "returns a new info dict (never one reused and updated in place)."
        ) from error


# 2. Spaces and 3. info, applied to every reset and step ------------------------


def _check_spaces(env: gym.Env) -> None:
    for name in ("observation_space", "action_space"):
        space = getattr(env, name)
        if not isinstance(space, spaces.Text):
            _fail(
                "spaces",
                f"env.{name} is {space!r}, not a gymnasium.spaces.Text.",
                f"set self.{name} = stepagent_envs.contract.text_space(max_length).",
            )


def _check_obs(env: gym.Env, obs: Any, where: str) -> None:
    space = env.observation_space
    if obs in space:
        return
    if not isinstance(obs, str):
        reason = f"is a {type(obs).__name__}, not a str"
    elif not space.min_length <= len(obs) <= space.max_length:
        reason = f"has length {len(obs)}, outside [{space.min_length}, {space.max_length}]"
    else:
        outside = sorted({c for c in obs if c not in space.character_set})
        reason = f"has characters outside the space's charset: {outside}"
    _fail(
        "spaces",
        f"the observation of {where} {reason}: {_short(obs)}",
        "normalise every observation with stepagent_envs.contract.to_charset(text, max_length) "
        "(observation_space.max_length).",
    )


def _check_info(info: Any, where: str) -> None:
    if not isinstance(info, dict):
        _fail("info", f"info of {where} is a {type(info).__name__}, not a dict.", "return a dict.")
    missing = [key for key in INFO_KEYS if key not in info]
    if missing:
        _fail(
            "info",
            f"info of {where} lacks keys {missing}; it has {sorted(map(str, info))}.",
            f"put all of {list(INFO_KEYS)} in info on reset and on every step "
            "(stepagent_envs.contract.INFO_KEYS).",
        )
    expected = {
        "task": (str, "a str"),
        "task_id": (str, "a str"),
        "valid_actions": (list, "a list of str"),
        "won": (bool, "a bool"),
        "invalid": (bool, "a bool"),
    }
    for key, (kind, described) in expected.items():
        if not isinstance(info[key], kind):
            _fail(
                "info",
                f'info["{key}"] of {where} is {_short(info[key])} ({type(info[key]).__name__}).',
                f'make info["{key}"] {described} (convert numpy values with bool(), float()).',
            )
    strays = [a for a in info["valid_actions"] if not isinstance(a, str)]
    if strays:
        _fail(
            "info",
            f'info["valid_actions"] of {where} holds non-str items: {_short(strays)}.',
            'make info["valid_actions"] a list of full action strings ([] if the space is open).',
        )
    score = info["score"]
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
        _fail(
            "info",
            f'info["score"] of {where} is {_short(score)} ({type(score).__name__}).',
            'make info["score"] a float in [0, 1] (task progress or outcome so far).',
        )
    path = _non_json_path(info, "info")
    if path is not None:
        _fail(
            "info",
            f"{path[0]} of {where} is a {type(path[1]).__name__} ({_short(path[1])}); info must "
            "hold only JSON-like values (str, int, float, bool, None, and lists, tuples and "
            "dicts of them).",
            "put plain values in info, not objects: they make info compare by identity and "
            "break determinism and trajectory records.",
        )


def _non_json_path(value: Any, path: str) -> tuple[str, Any] | None:
    """The path and value of the first non-JSON-like value inside ``value``, if any."""
    if isinstance(value, _JSON_SCALARS):
        # A NaN never equals itself, so it would fail every determinism comparison.
        return (path, value) if isinstance(value, float) and math.isnan(value) else None
    if isinstance(value, (list, tuple)):
        items = enumerate(value)
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, _JSON_SCALARS):
                return f"{path} key {_short(key)}", key
        items = value.items()
    else:
        return path, value
    for key, item in items:
        found = _non_json_path(item, f"{path}[{key!r}]")
        if found is not None:
            return found
    return None


def _check_reset(env: gym.Env, seed: int, where: str) -> tuple[Any, dict]:
    obs, info = env.reset(seed=seed)
    where = f"reset(seed={seed}) ({where})"
    _check_obs(env, obs, where)
    _check_info(info, where)
    return obs, info


def _check_step(env: gym.Env, action: str, where: str) -> Transition:
    obs, reward, terminated, truncated, info = env.step(action)
    where = f"step({_short(action, 80)}) ({where})"
    _check_obs(env, obs, where)
    _check_info(info, where)
    return action, obs, reward, terminated, truncated, info


# 4. Seeded determinism ---------------------------------------------------------


def _seeded_run(env: gym.Env, seed: int, num_steps: int, where: str) -> list[Transition]:
    """Reset with ``seed`` and take up to ``num_steps`` reproducibly chosen actions."""
    rng = random.Random(seed)
    # A seeded copy, so sampling neither depends on nor disturbs the caller's space RNG.
    action_space = copy.deepcopy(env.action_space)
    action_space.seed(seed)
    obs, info = _check_reset(env, seed, where)
    run: list[Transition] = [(None, obs, None, None, None, info)]
    for step in range(num_steps):
        valid = info["valid_actions"]
        action = rng.choice(valid) if valid else action_space.sample()
        transition = _check_step(env, action, f"{where}, step {step + 1}")
        run.append(transition)
        info = transition[5]
        if transition[3] or transition[4]:
            break
    return run


def _first_difference(a: Transition, b: Transition) -> str | None:
    """Which output of two transitions differs first, with both values."""
    for name, x, y in zip(("obs", "reward", "terminated", "truncated"), a[1:5], b[1:5]):
        if x != y:
            return f"{name} differs: {_short(x)} vs {_short(y)}"
    info_a, info_b = a[5], b[5]
    for key in list(info_a) + [k for k in info_b if k not in info_a]:
        if key not in info_a or key not in info_b or info_a[key] != info_b[key]:
            return (
                f"info[{key!r}] differs: {_short(info_a.get(key, '<missing>'))} "
                f"vs {_short(info_b.get(key, '<missing>'))}"
            )
    return None


def _compare_runs(run_a: list[Transition], run_b: list[Transition], seed: int, what: str) -> None:
    # Runs of different lengths differ in a terminated/truncated flag where the shorter ends.
    for index, (a, b) in enumerate(zip(run_a, run_b)):
        label = "reset" if index == 0 else f"step {index} (action {_short(a[0], 80)})"
        if a[0] != b[0]:
            difference = f"the seeded action choice differs: {_short(a[0])} vs {_short(b[0])}"
        else:
            difference = _first_difference(a, b)
        if difference is not None:
            _fail(
                "determinism",
                f"{what}: reset(seed={seed}) and the same actions gave different outputs "
                f"at {label}: {difference}.",
                "draw everything random from self.np_random (seeded by super().reset(seed=seed)), "
                "never from the global random/numpy RNGs, time, ids of objects or set order; "
                "keep no state across reset() or across instances.",
            )


def _replay(env: gym.Env, seed: int, actions: list[str], where: str) -> dict:
    """Reset with ``seed``, take ``actions`` and return the last info."""
    _, info = _check_reset(env, seed, where)
    for action in actions:
        info = _check_step(env, action, where)[5]
    return info


# 5. Pickle and deepcopy mid-episode ---------------------------------------------


def _check_copies(env: gym.Env, seed: int, actions: list[str], branch: int) -> None:
    copiers = {
        "pickle.loads(pickle.dumps(env))": lambda e: pickle.loads(pickle.dumps(e)),
        "copy.deepcopy(env)": copy.deepcopy,
    }
    for name, copier in copiers.items():
        where = f"{name} check"
        _replay(env, seed, actions[:branch], where)
        try:
            clone = copier(env)
        except Exception as error:
            _fail(
                "pickle",
                f"{name} failed after reset(seed={seed}) and {branch} steps: "
                f"{type(error).__name__}: {error}",
                "keep locks, open files, lambdas, generators and engine handles out of the env's "
                "state, or give it __getstate__/__setstate__; pure-Python envs must branch "
                "mid-episode (docs/design.md, Branching). For an env over an external engine, pass "
                "check_pickle=False (it branches by replaying the action prefix).",
            )
        # The clone is not closed: a copy may share a resource the caller's env still uses.
        for step, action in enumerate(actions[branch:], start=branch + 1):
            original = _check_step(env, action, f"{where}, original")
            copied = _check_step(clone, action, f"{where}, copy")
            difference = _first_difference(original, copied)
            if difference is not None:
                _fail(
                    "pickle",
                    f"after {name} at step {branch}, step {step} (action {_short(action, 80)}) "
                    f"differs between the env and its copy: {difference}.",
                    "keep all episode state in plain attributes that copy (no module globals, "
                    "class-level caches or RNGs other than self.np_random).",
                )
            if original[3] or original[4]:
                break


# 6. Invalid actions ----------------------------------------------------------


def _check_invalid_action(env: gym.Env, seed: int, actions: list[str], k: int) -> None:
    prefix, action = actions[:k], actions[k]
    where = f"invalid-action check after {k} steps"
    before = _replay(env, seed, prefix, where)
    fix = (
        "a malformed or inapplicable action must not raise or change the state: return "
        'feedback text, reward 0, info["invalid"] = True and the same task, valid actions '
        "and score (docs/design.md, the env contract)."
    )
    try:
        _, obs, reward, terminated, _, info = _check_step(env, INVALID_ACTION, where)
    except TextEnvCheckError:
        raise
    except Exception as error:
        raise TextEnvCheckError(
            f"[invalid-action] step({INVALID_ACTION!r}) after reset(seed={seed}) and {k} steps "
            f"raised {type(error).__name__}: {error}\n  fix: {fix}"
        ) from error
    if reward != 0 or info["invalid"] is not True or terminated:
        _fail(
            "invalid-action",
            f"step({INVALID_ACTION!r}) after reset(seed={seed}) and {k} steps returned "
            f"reward={reward!r}, info['invalid']={info['invalid']!r}, terminated={terminated!r}; "
            f"expected 0, True, False. Observation: {_short(obs)}",
            fix,
        )
    for key in ("task", "task_id", "valid_actions", "score"):
        if info[key] != before[key]:
            _fail(
                "invalid-action",
                f"step({INVALID_ACTION!r}) after reset(seed={seed}) and {k} steps changed "
                f"info[{key!r}]: {_short(before[key])} -> {_short(info[key])}.",
                fix,
            )
    after_invalid = _check_step(env, action, where)
    _replay(env, seed, prefix, where)
    direct = _check_step(env, action, where)
    difference = _first_difference(after_invalid, direct)
    if difference is not None:
        _fail(
            "invalid-action",
            f"after reset(seed={seed}) and {k} steps, step({_short(action, 80)}) gives different "
            f"outputs with and without a preceding step({INVALID_ACTION!r}), so the invalid "
            f"action changed the state: {difference}.",
            fix,
        )


# 7. Expert oracle ------------------------------------------------------------


def _check_oracle(env: gym.Env, seed: int, max_steps: int) -> None:
    where = f"oracle episode seed={seed}"
    obs, info = _check_reset(env, seed, where)
    trace: list[str] = []
    ending = f"hit the step limit {max_steps}"
    for _ in range(max_steps):
        try:
            action = env.unwrapped.expert_action()
        except Exception as error:
            raise TextEnvCheckError(
                f"[oracle] expert_action() raised {type(error).__name__}: {error} "
                f"(seed={seed}, after {len(trace)} actions {_trace(trace)})\n"
                "  fix: the oracle must plan from any reachable state; where no exact plan "
                "exists, raise the documented exception of the env."
            ) from error
        if not isinstance(action, str):
            _fail(
                "oracle",
                f"expert_action() returned {_short(action)} ({type(action).__name__}), "
                f"not a str (seed={seed}, after {len(trace)} actions {_trace(trace)}).",
                "return the action as a full action string.",
            )
        trace.append(action)
        _, obs, _, terminated, truncated, info = _check_step(env, action, where)
        if terminated or truncated:
            ending = "terminated" if terminated else "truncated"
            break
    if info["won"] is not True:
        _fail(
            "oracle",
            f"following expert_action() from reset(seed={seed}) did not win: the episode {ending} "
            f"after {len(trace)} steps with info['won']={info['won']!r}, "
            f"score={info['score']!r}; actions {_trace(trace)}; "
            f"last observation {_short(obs, 300)}",
            "make expert_action() plan from the current state to the goal, and set "
            'info["won"] = True when the task is solved.',
        )
