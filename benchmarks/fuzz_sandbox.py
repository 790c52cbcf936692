"""Fuzz StepMath-v0's python sandbox with 1,000 hostile programs (the suite runs 51).

Sends each program through ``env.step("python[...]")`` and checks that the
step returns within the time limit plus a margin, leaves no process behind,
leaves the parent and a sentinel process alive, creates no file outside the
sandbox folder, leaks no secret, and gives the agent a clear error text (see
:mod:`stepagent_envs.math.sandbox_fuzz`). Runs once with bubblewrap when it
works here and once without (the other four layers alone), and prints the
layers, per-kind counts, median and largest step time, and every failure.
Run it on a quiet machine: files other processes create meanwhile in the
watched folders (/tmp, the home and working folders) count as failures.

Usage: python benchmarks/fuzz_sandbox.py [--programs 1000] [--seed 0] [--timeout 1.0]
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", type=int, default=1000, help="hostile programs per run (default: 1,000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the programs (default: 0)")
    parser.add_argument("--timeout", type=float, default=1.0, help="the env's per-call time limit in seconds (1.0)")
    args = parser.parse_args()

    from stepagent_envs.math.sandbox import bwrap_status, layers
    from stepagent_envs.math.sandbox_fuzz import fuzz_sandbox

    print("layers:", ", ".join(f"{k}: {v}" for k, v in layers().items()))
    runs = [False] + ([True] if bwrap_status() == "on" else [])
    failures = []
    for use_bwrap in runs:
        start = time.perf_counter()
        report = fuzz_sandbox(args.programs, seed=args.seed, tool_timeout=args.timeout, use_bwrap=use_bwrap,
                              progress=True)
        label = "with bwrap" if use_bwrap else "without bwrap"
        print(f"\n{label}: {report.calls} programs, {len(report.failures)} failures, step seconds median "
              f"{statistics.median(report.seconds):.3f} max {report.max_seconds:.2f} (limit {args.timeout:g}), "
              f"{time.perf_counter() - start:.0f} s in all")
        print("  " + ", ".join(f"{kind} {count}" for kind, count in report.kinds.items()))
        failures += [f"{label}: {line}" for line in report.failures]
    for line in failures:
        print(line)


if __name__ == "__main__":
    main()
