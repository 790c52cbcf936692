"""On-policy RL speed on one machine: rollout steps/s batched vs one env at a time, and update tokens/s.

    python benchmarks/bench_rl.py                       # the default model, StepShop-v0
    python benchmarks/bench_rl.py --model runs/demo/sft --episodes 16 --dtype bf16

Rollouts sample with :meth:`HFPolicy.sample` (what GRPO and PPO collect with):
the same episodes played with ``--num-envs`` envs stepped together (one
batched policy call per step) and with one env, side by side; then one GRPO
update (forward and backward of :func:`~stepagent_train.critic_free.critic_free_loss`) over
the collected turns, timed per micro-batch, in tokens/s (prompt and answer
tokens the forward runs: every candidate of a ranked turn). Medians of
``--repeats`` timed passes.

With ``--trl`` (needs ``pip install trl``): one GRPO step of ours against TRL's
``GRPOTrainer`` on the same single-turn prompts (the env's first observation:
an open search box, so answers are generated), model, batch and group size,
float32 on CPU: TRL with ``loss_type="dapo"`` (the token mean over the batch,
as ours), ``scale_rewards="none"`` (advantage ``r - group mean``: ours with
``std_normalize=False``), ``beta=0``; reward: token F1 of the parsed search
against the expert's. Our loss is computed on TRL's own completions (captured
by the reward function), so the first-step losses must agree (ratio 1); the
step times (generation and update) are compared in tokens/s.
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
from stepagent_train.critic_free import critic_free_loss  # noqa: E402
from stepagent_train.onpolicy import Turn, unit_scores  # noqa: E402
from stepagent_train.policies import HFPolicy, Sample, load_model  # noqa: E402
from stepagent_train.prompts import PromptBuilder, PromptConfig  # noqa: E402
from stepagent_train.rollout import rollout_samples  # noqa: E402


def trainable_policy(name: str, dtype, seed: int, **kwargs) -> HFPolicy:
    """A sampling policy whose weights (or LoRA adapter) train."""
    model, tokenizer, folder = load_model(name, dtype=dtype, trainable=True)
    config = (PromptConfig.load(folder) if os.path.isdir(folder) else None) or PromptConfig()
    return HFPolicy(model, tokenizer, PromptBuilder(tokenizer, config), temperature=1.0, seed=seed, **kwargs)


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
    parser.add_argument("--trl", action="store_true", help="also compare one GRPO step with TRL's GRPOTrainer")
    parser.add_argument("--trl-prompts", type=int, default=4, help="prompts of the TRL comparison (each --group-size times)")
    parser.add_argument("--group-size", type=int, default=4)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    dtype = torch.bfloat16 if args.dtype == "bf16" else None
    model_name = latest_checkpoint(args.model) or args.model if os.path.isdir(args.model) else args.model
    policy = trainable_policy(model_name, dtype, args.seed)
    specs = episode_specs(gym.make(args.env, split="train"), args.episodes, args.seed)

    batched, turns = play(policy, args.env, specs, args.num_envs)
    single, single_turns = play(policy, args.env, specs, 1)
    print(f"{args.env}, {args.episodes} episodes, {args.dtype}, model {model_name}")
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
            logprobs, entropies, *_ = unit_scores(model, chunk, pad, 1.0)
            loss, _ = critic_free_loss(logprobs, entropies, chunk, 0.2, 0.0, 0.0, units)
            loss.backward()
            tokens += sum(len(t.prompt_ids) + sum(len(c) for c in (t.sample.candidates or [t.sample.token_ids])) for t in chunk)
        model.zero_grad(set_to_none=True)
        rates.append(tokens / (time.perf_counter() - began))
    print(f"update (forward + backward, micro-batches of {args.batch_size} turns): median {statistics.median(rates):.0f} "
          f"tokens/s over {args.repeats} passes of {tokens} tokens ({len(items)} turns)")
    if args.trl:
        compare_with_trl(model_name, args)


def compare_with_trl(model_name: str, args) -> None:
    """One GRPO step of ours against TRL's on TRL's completions (see the module docstring)."""
    from datasets import Dataset
    from trl import GRPOConfig as TRLConfig
    from trl import GRPOTrainer

    from stepagent_train.advantages import grpo
    from wrappers.metrics import token_f1

    def fresh():
        return trainable_policy(model_name, None, args.seed, max_new_tokens=32)

    ours = fresh()
    env = gym.make(args.env, split="train")
    prompts, experts = [], {}
    for spec in episode_specs(env, args.trl_prompts, args.seed):
        obs, info = env.reset(seed=spec["seed"], options=spec["options"])
        prompt = ours.builder.build(info["task"], [], obs)
        prompts.append(prompt)
        experts[prompt.text] = env.unwrapped.expert_action()
    captured = {}

    def reward(prompts, completions, completion_ids, **_):
        rewards = [token_f1(ours.builder.parse(c), experts[p]) for p, c in zip(prompts, completions)]
        captured.update(prompts=list(prompts), ids=[list(c) for c in completion_ids], rewards=rewards)
        return rewards

    with tempfile.TemporaryDirectory() as tmp:
        settings = TRLConfig(output_dir=tmp, num_generations=args.group_size, per_device_train_batch_size=len(prompts) * args.group_size,
                             gradient_accumulation_steps=1, max_completion_length=32, temperature=1.0, top_p=1.0, top_k=0,
                             beta=0.0, loss_type="dapo", scale_rewards="none", learning_rate=1e-6, max_steps=1,
                             logging_steps=1, use_cpu=True, bf16=False, report_to="none", seed=args.seed, save_strategy="no")
        trl_policy = fresh()
        trainer = GRPOTrainer(model=trl_policy.model, reward_funcs=reward, args=settings,
                              train_dataset=Dataset.from_list([{"prompt": p.text} for p in prompts]),
                              processing_class=trl_policy.tokenizer)
        began = time.perf_counter()
        trainer.train()
        trl_seconds = time.perf_counter() - began
    trl_loss = next(row["loss"] for row in trainer.state.log_history if "loss" in row)

    by_text = {p.text: p for p in prompts}
    texts, ids = captured["prompts"], captured["ids"]
    groups = [texts.index(t) for t in texts]  # the same prompt text is one group
    advantages = grpo([[r] for r in captured["rewards"]], groups, std_normalize=False)
    model = ours.model.train()
    turns = []
    for text, completion, advantage in zip(texts, ids, advantages):
        placeholder = Sample("", completion, [0.0] * len(completion), [0.0] * len(completion))
        turns.append(Turn(list(by_text[text].input_ids), placeholder, 0.0, 0, "", advantage=advantage[0]))
    with torch.no_grad():
        for t, lp in zip(turns, unit_scores(model, turns, ours.tokenizer.pad_token_id, 1.0).logprobs):
            t.sample.logprobs = lp.tolist()  # the sampling policy's (ratio 1 at the first step)
    units = sum(t.units for t in turns)
    logprobs, entropies, *_ = unit_scores(model, turns, ours.tokenizer.pad_token_id, 1.0)
    loss, _ = critic_free_loss(logprobs, entropies, turns, 0.2, 0.0, 0.0, units)
    print(f"TRL GRPOTrainer vs ours on TRL's {len(turns)} completions: first-step loss TRL {trl_loss:.6f}, "
          f"ours {loss.item():.6f}, |difference| {abs(trl_loss - loss.item()):.2e}")

    # Our step on the same prompts: sample the group, then one update, timed as TRL's step was.
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6)
    began = time.perf_counter()
    grouped = [p for p in prompts for _ in range(args.group_size)]
    samples = ours.sample(grouped)
    rewards = [[token_f1(s.action, experts[p.text])] for p, s in zip(grouped, samples)]
    step_advantages = grpo(rewards, [i // args.group_size for i in range(len(samples))], std_normalize=False)
    step_turns = [Turn(list(p.input_ids), s, 0.0, 0, "", advantage=a[0])
                  for p, s, a in zip(grouped, samples, step_advantages)]
    logprobs, entropies, *_ = unit_scores(model, step_turns, ours.tokenizer.pad_token_id, 1.0)
    critic_free_loss(logprobs, entropies, step_turns, 0.2, 0.0, 0.0, sum(t.units for t in step_turns))[0].backward()
    optimizer.step()
    our_seconds = time.perf_counter() - began
    trl_tokens = sum(len(by_text[t].input_ids) + len(c) for t, c in zip(texts, ids))
    our_tokens = sum(len(t.prompt_ids) + t.units for t in step_turns)
    print(f"one GRPO step (generate {len(turns)} answers + update), float32: TRL {trl_tokens / trl_seconds:.0f} tokens/s "
          f"({trl_seconds:.1f} s, trainer set-up excluded), ours {our_tokens / our_seconds:.0f} tokens/s ({our_seconds:.1f} s); "
          f"ratio ours/TRL {our_tokens / our_seconds / (trl_tokens / trl_seconds):.2f}x")


if __name__ == "__main__":
    main()
