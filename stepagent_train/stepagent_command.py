"""The ``stepagent`` command line (in the trainer package: ``demo`` trains; ``baselines``
needs only the env package, and nothing here imports torch until ``demo`` runs).

* ``stepagent demo``: the README's main job. On StepShop-v0 (embedded default
  catalogue, no hub access) it records expert demos, builds the offline default
  model, fine-tunes it, evaluates it against the random agent and the expert on
  the test split, prints the table and writes a learning-curve plot. It needs
  the trainer's extra (``pip install torch==2.13.0 && pip install -e ".[train]"``).
* ``stepagent baselines``: the random agent and the expert on a split of any
  env; needs nothing beyond the base install.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time

import gymnasium as gym

from stepagent_envs import ENV_IDS
from stepagent_envs.evaluate import ExpertAgent, RandomAgent, as_dicts, evaluate, format_table

_TRAIN_STACK = ("torch", "transformers", "peft", "accelerate", "matplotlib")


def _baselines(args: argparse.Namespace) -> int:
    kwargs = {"split": args.split}
    if args.data_path:
        kwargs["data_path"] = args.data_path
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


def _demo(args: argparse.Namespace) -> int:
    missing = [name for name in _TRAIN_STACK if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(
            f"stepagent demo trains a model and needs {', '.join(missing)}: "
            "pip install torch==2.13.0 && pip install -e \".[train]\" "
            "(`stepagent baselines` runs the random agent and the expert without them)"
        )
    from .cli import run_demo_from_args

    return run_demo_from_args(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stepagent", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="expert demos, the offline model, SFT and StepAgent, evaluated on StepShop-v0's test split")
    from .cli import add_demo_arguments  # builds the flags without importing torch

    add_demo_arguments(demo)
    demo.set_defaults(func=_demo)
    base = sub.add_parser("baselines", help="evaluate the random agent and the expert on a split and print a table")
    base.add_argument("--env", default="StepShop-v0", choices=ENV_IDS, help="env id (default: StepShop-v0)")
    base.add_argument("--split", default="test", choices=("train", "dev", "test"), help="split to evaluate (default: test)")
    base.add_argument("--episodes", type=int, default=None, help="evaluate only the first N tasks of the split (default: all)")
    base.add_argument("--data-path", "--data-dir", dest="data_path", default=None,
                      help="the env's data_path: real data in the original's format (StepShop-v0: a WebShop "
                           "folder; StepHotpot-v0: a HotpotQA JSON file); default: the embedded data")
    base.add_argument("--seed", type=int, default=0, help="seed of the random agent (default: 0)")
    base.add_argument("--json", default=None, help="also write the results as JSON to this file")
    base.set_defaults(func=_baselines)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
