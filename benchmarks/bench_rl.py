"""On-policy RL speed on one machine: rollout steps/s batched vs one env at a time, and update tokens/s.

    python benchmarks/bench_rl.py                       # the default model, StepShop-v0
    python benchmarks/bench_rl.py --model runs/demo/sft --episodes 16 --dtype bf16

Rollouts sample with :meth:`HFPolicy.sample` (what GRPO and PPO collect with):
the same episodes played with ``--num-envs`` envs stepped together (one
batched policy call per step) and with one env, side by side; then one GRPO
update (forward and backward of :func:`~stepagent_train.grpo.grpo_loss`) over
the collected turns, timed per micro-batch, in tokens/s (prompt and answer
tokens the forward runs: every candidate of a ranked turn). Medians of
``--repeats`` timed passes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import gymnasium as gym  # noqa: E402
import torch  # noqa: E402

import stepagent_envs  # noqa: E402,F401
from stepagent_train.checkpoint import latest_checkpoint  # noqa: E402
from stepagent_train.collect import episode_specs  # noqa: E402
from stepagent_train.grpo import grpo_loss  # noqa: E402
from stepagent_train.onpolicy import Turn, unit_scores  # noqa: E402
from stepagent_train.policies import HFPolicy  # noqa: E402
from stepagent_train.rollout import rollout_samples  # noqa: E402


def play(policy: HFPolicy, env_id: str, specs: list[dict], num_envs: int):
    """``(seconds, turns)`` of playing ``specs`` with ``num_envs`` envs."""
    envs = [gym.make(env_id, split="train") for _ in range(num_envs)]
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        _, played = rollout_samples(policy, envs, specs, os.path.join(tmp, "r.jsonl"), show_progress=False)
        seconds = time.perf_counter() - began
    for env in envs:
        env.close()
    return seconds, [t for episode in played for t in episode]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m", help="model, SFT checkpoint or run folder")
    parser.add_argument("--env", default="StepShop-v0")
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8, help="turns per update micro-batch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    dtype = torch.bfloat16 if args.dtype == "bf16" else None
    model = latest_checkpoint(args.model) or args.model if os.path.isdir(args.model) else args.model
    policy = HFPolicy.from_pretrained(model, device="cpu", dtype=dtype, temperature=1.0, seed=args.seed)
    specs = episode_specs(gym.make(args.env, split="train"), args.episodes, args.seed)

    batched, turns = play(policy, args.env, specs, args.num_envs)
    single, single_turns = play(policy, args.env, specs, 1)
    print(f"{args.env}, {args.episodes} episodes, {args.dtype}, model {model}")
    print(f"rollout: batched ({args.num_envs} envs) {len(turns) / batched:.2f} steps/s ({len(turns)} steps, {batched:.1f} s); "
          f"one at a time {len(single_turns) / single:.2f} steps/s ({len(single_turns)} steps, {single:.1f} s); "
          f"ratio {len(turns) / batched / (len(single_turns) / single):.2f}x")

    items = [Turn(list(t["prompt"].input_ids), t["sample"], 0.0, 0, "", advantage=1.0) for t in turns]
    pad = policy.tokenizer.pad_token_id
    model = policy.model.train()
    rates, units = [], sum(t.units for t in items)
    for _ in range(args.repeats):
        began, tokens = time.perf_counter(), 0
        for start in range(0, len(items), args.batch_size):
            chunk = items[start : start + args.batch_size]
            logprobs, entropies, _ = unit_scores(model, chunk, pad, 1.0)
            loss, _ = grpo_loss(logprobs, entropies, chunk, 0.2, 0.0, 0.0, units)
            loss.backward()
            tokens += sum(len(t.prompt_ids) + sum(len(c) for c in (t.sample.candidates or [t.sample.token_ids])) for t in chunk)
        model.zero_grad(set_to_none=True)
        rates.append(tokens / (time.perf_counter() - began))
    print(f"update (forward + backward, micro-batches of {args.batch_size} turns): median {statistics.median(rates):.0f} "
          f"tokens/s over {args.repeats} passes of {tokens} tokens ({len(items)} turns)")


if __name__ == "__main__":
    main()
