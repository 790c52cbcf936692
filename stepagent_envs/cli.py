"""The ``stepagent`` command line.

``stepagent demo``: the README's main job. Until the trainer lands it plays a
random agent and the expert on every task of StepShop-v0's test split
(embedded default catalogue) and prints success rate, mean score and step
agreement with the expert.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import gymnasium as gym

from . import ENV_IDS
from .evaluate import ExpertAgent, RandomAgent, as_dicts, evaluate, format_table


def _demo(args: argparse.Namespace) -> int:
    kwargs = {"split": args.split}
    if args.data_dir:
        kwargs["data_dir"] = args.data_dir
    start = time.perf_counter()
    env = gym.make(args.env, **kwargs)
    print(f"{args.env} split={args.split}: {len(env.unwrapped.task_ids())} tasks "
          f"(loaded in {time.perf_counter() - start:.1f} s)", file=sys.stderr)
    results = [
        evaluate(env, RandomAgent(seed=args.seed), "random", args.episodes),
        evaluate(env, ExpertAgent(env), "expert", args.episodes),
    ]
    env.close()
    print(format_table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(as_dicts(results), f, indent=2)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stepagent", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="evaluate the random agent and the expert on a test split and print a table")
    demo.add_argument("--env", default="StepShop-v0", choices=ENV_IDS, help="env id (default: StepShop-v0)")
    demo.add_argument("--split", default="test", choices=("train", "dev", "test"), help="split to evaluate (default: test)")
    demo.add_argument("--episodes", type=int, default=None, help="evaluate only the first N tasks of the split (default: all)")
    demo.add_argument("--data-dir", default=None, help="WebShop-format data folder (default: the embedded generated catalogue)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the random agent (default: 0)")
    demo.add_argument("--json", default=None, help="also write the results as JSON to this file")
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
