"""Candidate ranking against generating the same click actions, same model, same prompts, batch 16.

    python benchmarks/bench_ranking.py                          # the default model, zero-shot
    python benchmarks/bench_ranking.py --model runs/demo/sft    # a trained checkpoint (fairer to generation)
    python benchmarks/bench_ranking.py --dtype bf16             # bf16 weights (CPUs with AMX / AVX512-BF16)

The prompts are the click steps (those with ``valid_actions``) of expert
trajectories on StepShop-v0's test split, built by the shared prompt builder.
Ranking scores every candidate with the prompt run once
(:meth:`HFPolicy.candidate_logprobs`); generation decodes greedily up to
``--max-new-tokens`` and parses the answer. Prints, for each, actions per
second (median of ``--repeats``), the validity rate (the action is one of the
page's clickables) and agreement with the expert, then the speed ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import gymnasium as gym
import torch

import stepagent_envs  # noqa: F401
from stepagent_train.collect import collect_expert
from stepagent_train.models import DEFAULT_MODEL
from stepagent_train.policies import HFPolicy
from stepagent_train.prompts import PromptConfig, examples_from_record
from wrappers import exact_match


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"model name, folder, checkpoint or hub id (default: {DEFAULT_MODEL})")
    parser.add_argument("--prompts", type=int, default=64, help="click-step prompts timed (default: 64)")
    parser.add_argument("--batch-size", type=int, default=16, help="prompts per forward / generate call (default: 16)")
    parser.add_argument("--max-new-tokens", type=int, default=24, help="longest generated answer (default: 24)")
    parser.add_argument("--max-prompt-tokens", type=int, default=256, help="prompt budget (default: 256)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats; the median is quoted (default: 3)")
    parser.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32", help="weight dtype (default: fp32)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    dtype = torch.bfloat16 if args.dtype == "bf16" else None
    config = PromptConfig(max_prompt_tokens=args.max_prompt_tokens, max_turns=0)
    policy = HFPolicy.from_pretrained(args.model, device="cpu", dtype=dtype, prompt_config=config, merge_adapter=True,
                                      max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                                      rank_batch_size=args.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "demos.jsonl")
        records = collect_expert(gym.make("StepShop-v0", split="test"), path, max(8, args.prompts), seed=0, show_progress=False)
    examples = [(p, a) for r in records for p, a in examples_from_record(policy.builder, r) if p.valid_actions][: args.prompts]
    prompts = [p for p, _ in examples]

    def rank() -> list[str]:
        return policy.act(prompts)

    def generate() -> list[str]:
        return [policy.builder.parse(t) for t in policy.generate(prompts, seed=0)]

    figures = {}
    for name, run in (("rank candidates", rank), ("generate", generate)):
        run()  # warm-up
        times, actions = [], []
        for _ in range(args.repeats):
            began = time.perf_counter()
            actions = run()
            times.append(time.perf_counter() - began)
        figures[name] = {
            "actions_per_s": len(prompts) / statistics.median(times),
            "valid": sum(a in p.valid_actions for a, p in zip(actions, prompts)) / len(prompts),
            "expert_agreement": sum(exact_match(a, e) for a, (_, e) in zip(actions, examples)) / len(prompts),
        }
    candidates = sum(len(p.valid_actions) for p in prompts) / len(prompts)
    print(f"{args.model} ({args.dtype}), {len(prompts)} click prompts ({candidates:.1f} candidates each), batch {args.batch_size}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats}")
    print(f"{'method':<16} {'actions/s':>10} {'valid':>7} {'expert agree':>13}")
    for name, f in figures.items():
        print(f"{name:<16} {f['actions_per_s']:>10.2f} {f['valid']:>7.3f} {f['expert_agreement']:>13.3f}")
    ratio = figures["rank candidates"]["actions_per_s"] / figures["generate"]["actions_per_s"]
    print(f"ranking / generation speed: {ratio:.2f}x")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"model": args.model, "dtype": args.dtype, "prompts": len(prompts), "batch_size": args.batch_size,
                       "figures": figures, "speed_ratio": ratio}, f, indent=2)


if __name__ == "__main__":
    main()
