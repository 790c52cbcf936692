"""Batched rollouts over N envs against one env at a time, with the same model and episodes.

    python benchmarks/bench_rollout.py                       # offline default model, 16 envs
    python benchmarks/bench_rollout.py --model runs/demo/sft  # a trained checkpoint or a hub id

Both runs play the same test tasks with greedy decoding; the batched run makes
one generate call per step for all live envs, the sequential run one per env
step. Prints env steps per second of each and the speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import gymnasium as gym
import torch

import stepagent_envs  # noqa: F401
from stepagent_train.collect import collect_expert
from stepagent_train.evaluate import PolicySpec, load_policy
from stepagent_train.offline_model import build_offline_model, record_texts
from stepagent_train.prompts import PromptConfig
from stepagent_train.rollout import rollout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="StepShop-v0")
    parser.add_argument("--model", default=None, help="checkpoint, model folder or hub id (default: a fresh offline model)")
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            demos = os.path.join(tmp, "demos.jsonl")
            collect_expert(gym.make(args.env, split="train"), demos, 50, show_progress=False)
            from wrappers import read_trajectories

            model = build_offline_model(record_texts(read_trajectories(demos), PromptConfig().system), os.path.join(tmp, "model"))
        policy = load_policy(PolicySpec(model, max_new_tokens=args.max_new_tokens, batch_size=args.num_envs))
        envs = [gym.make(args.env, split="test") for _ in range(args.num_envs)]
        specs = [{"seed": None, "options": {"task_id": t}} for t in envs[0].unwrapped.task_ids()[: args.episodes]]
        rollout(policy, envs[:1], specs[:1], show_progress=False)  # warm-up

        figures = {}
        for name, pool in (("batched", envs), ("sequential", envs[:1])):
            began = time.perf_counter()
            records = rollout(policy, pool, specs, show_progress=False)
            seconds = time.perf_counter() - began
            steps = sum(len(r["steps"]) for r in records)
            figures[name] = {"envs": len(pool), "episodes": len(records), "steps": steps,
                             "seconds": round(seconds, 2), "steps_per_s": round(steps / seconds, 2)}
    figures["speedup"] = round(figures["batched"]["steps_per_s"] / figures["sequential"]["steps_per_s"], 2)
    figures["torch_threads"] = torch.get_num_threads()
    print(f"{'run':<11} {'envs':>4} {'episodes':>8} {'steps':>6} {'seconds':>8} {'steps/s':>8}")
    for name in ("batched", "sequential"):
        f = figures[name]
        print(f"{name:<11} {f['envs']:>4} {f['episodes']:>8} {f['steps']:>6} {f['seconds']:>8} {f['steps_per_s']:>8}")
    print(f"speed-up of batched over sequential: {figures['speedup']}x ({figures['torch_threads']} torch threads)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
