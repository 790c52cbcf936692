"""Fuzz every registered env with 10,000 hostile actions (the suite runs 2,000).

For each env (TextWorld with and without its valid-action list) prints the
actions played, episodes, actions the env marked invalid, how many of those
were followed on a deep copy (hidden state unchanged), failures (exceptions
or contract violations, each with its action trace) and the seconds taken.
StepSciWorld-v0 runs over a JVM and cannot be deep-copied: state keys only,
and 2,000 actions by default (about 6 minutes). StepMath-v0's python tool
runs each ``python[...]`` in a fresh sandboxed process (about 35 ms); its
hostile-program fuzz is ``benchmarks/fuzz_sandbox.py``.

Usage: python benchmarks/fuzz_envs.py [--actions 10000] [--sciworld-actions 2000] [--seed 0] [--only StepShop-v0]
"""

from __future__ import annotations

import argparse
import time

CASES = (
    ("StepShop-v0", {}),
    ("StepHotpot-v0", {}),
    ("StepGrid-v0", {}),
    ("StepTextWorld-v0", {"num_games": 20}),
    ("StepTextWorld-v0", {"num_games": 20, "valid_actions": False}),
    ("StepSciWorld-v0", {"valid_actions": False}),
    ("StepMath-v0", {"tool_timeout": 1.0}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actions", type=int, default=10_000, help="actions per env (default: 10,000)")
    parser.add_argument("--sciworld-actions", type=int, default=2_000, help="actions on StepSciWorld-v0 (default: 2,000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the action draws and resets (default: 0)")
    parser.add_argument("--only", default=None, help="fuzz only this env id")
    args = parser.parse_args()

    import gymnasium as gym

    import stepagent_envs  # noqa: F401
    from stepagent_envs.fuzz import fuzz_text_env

    print(f"{'env':<42} {'actions':>8} {'episodes':>8} {'invalid':>8} {'on copy':>8} {'failures':>8} {'seconds':>8}")
    failures = []
    for env_id, kwargs in CASES:
        if args.only and env_id != args.only:
            continue
        env = gym.make(env_id, **kwargs)
        start = time.perf_counter()
        actions = args.sciworld_actions if env_id == "StepSciWorld-v0" else args.actions
        report = fuzz_text_env(env, actions, seed=args.seed, raise_on_failure=False)
        env.close()
        label = env_id + "".join(f" {k}={v}" for k, v in kwargs.items())
        print(f"{label:<42} {report.actions:>8} {report.episodes:>8} {report.invalid:>8} {report.next_checks:>8} "
              f"{len(report.failures):>8} {time.perf_counter() - start:>8.1f}", flush=True)
        failures += [f"{label}: {line}" for line in report.failures]
    for line in failures:
        print(line)


if __name__ == "__main__":
    main()
