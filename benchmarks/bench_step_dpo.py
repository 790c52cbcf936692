"""Our step-DPO update against TRL's DPOTrainer on the same job, side by side in one run.

    pip install -e '.[bench]'            # trl and datasets (benchmark only)
    python benchmarks/bench_step_dpo.py  # offline default model, StepShop-v0 pairs

The job: preference pairs from StepShop-v0 expert demonstrations (long
multi-turn prompts, up to ``--max-prompt-tokens``; chosen = the expert's action,
rejected = another action of the same episode, a few tokens each), the offline
default model as the policy and a second initialisation of it as the reference
(so the first step's loss is not the trivial ``log 2``), the same beta, batch
size, constant learning rate, gradient clipping and batches (length-grouped
once with :func:`stepagent_train.sft.batch_schedule`, then read in that order by
both: TRL with ``train_sampling_strategy="sequential"``).

* ours: :func:`stepagent_train.step_dpo.reflection_step` (one row per pair,
  ``[prompt | chosen | rejected]`` with a custom attention mask: the prompt is
  run once for both answers) and AdamW;
* TRL: ``DPOTrainer`` reading our exported ``pairs.jsonl`` as is, with its
  fastest settings for this job: reference log-probabilities precomputed
  (``precompute_ref_log_probs=True``), its fused LM head (on by default: only
  answer positions are projected), no logging, no saving; ``padding_free`` is
  reported as TRL itself resolves it (TRL 1.16 disables it: "temporarily
  unavailable"). Both run in float32 (TRL's configs default to bf16 autocast,
  even on CPU, which changes its log-probabilities by ~1e-2 and would make the
  loss comparison meaningless).

Both exclude the reference pass from the timing (each computes it once before
training). Prints pairs/s of each (median of ``--repeats`` alternating runs),
the ratio, and the first step's loss of each on the same first batch, plus the
largest difference of the reference log-probabilities and a check that TRL's
tokenisation of the exported pairs gives our token ids.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import statistics
import tempfile
import time
import warnings

import gymnasium as gym
import torch

import stepagent_envs  # noqa: F401
from stepagent_train.collect import collect_expert
from stepagent_train.offline_model import OfflineModelConfig, build_offline_model, record_texts
from stepagent_train.policies import load_model
from stepagent_train.prompts import PromptBuilder, PromptConfig, examples_from_record
from stepagent_train.batching import batch_schedule
from stepagent_train.step_dpo import StepPair, export_pairs, reference_logprobs, reflection_step
from wrappers import read_trajectories


def build_pairs(records: list[dict], builder: PromptBuilder, count: int, min_prompt_tokens: int) -> list[StepPair]:
    """Pairs at steps with a long prompt: chosen = the expert's action, rejected = the next
    different action of the same episode (a short, plausible wrong action)."""
    pairs = []
    for r, record in enumerate(records):
        examples = examples_from_record(builder, record)
        actions = [a for _, a in examples]
        for t, (prompt, action) in enumerate(examples):
            other = next((a for a in actions[t + 1 :] + actions[:t] if a != action), None)
            if other is None or len(prompt.input_ids) < min_prompt_tokens:
                continue
            pairs.append(StepPair(list(prompt.input_ids), builder.answer_ids(prompt, action), builder.answer_ids(prompt, other),
                                  record=r, step=t, chosen=action, rejected=other, prompt_text=prompt.text,
                                  chosen_text=builder.answer_text(prompt, action), rejected_text=builder.answer_text(prompt, other)))
            if len(pairs) == count:
                return pairs
    raise SystemExit(f"only {len(pairs)} pairs with prompts of >= {min_prompt_tokens} tokens; collect more episodes (--episodes)")


def run_ours(model, pairs, batches, pad_id, args) -> tuple[float, float]:
    """Train over ``batches``; returns (seconds, first step's loss)."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.learning_rate, weight_decay=0.0)
    model.train()
    first = None
    began = time.perf_counter()
    for batch in batches:
        row = reflection_step(model, [[pairs[i] for i in batch]], pad_id, args.beta)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        first = row["loss"] if first is None else first
    return time.perf_counter() - began, first


def make_trl(model, ref_model, tokenizer, dataset, steps, out, args):
    """A DPOTrainer over the exported pairs (reference log-probabilities precomputed in its constructor)."""
    from trl import DPOConfig, DPOTrainer

    config = DPOConfig(
        output_dir=out, per_device_train_batch_size=args.batch_size, gradient_accumulation_steps=1,
        learning_rate=args.learning_rate, lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0,
        max_grad_norm=1.0, beta=args.beta, loss_type=["sigmoid"], max_steps=steps,
        precompute_ref_log_probs=True, precompute_ref_batch_size=args.batch_size, padding_free=True,
        max_length=None, train_sampling_strategy="sequential", disable_dropout=True,
        logging_strategy="no", save_strategy="no", report_to=[], use_cpu=True,
        dataloader_num_workers=0, seed=0, disable_tqdm=True,
        bf16=False, fp16=False,  # TRL turns bf16 autocast on by default, on CPU too; both sides run float32
    )
    trainer = DPOTrainer(model=model, ref_model=ref_model, args=config, train_dataset=dataset, processing_class=tokenizer)
    losses = []
    compute = trainer.compute_loss

    def recorded(*a, **kw):
        loss = compute(*a, **kw)
        if not losses:
            losses.append(float((loss[0] if isinstance(loss, tuple) else loss).detach()))
        return loss

    trainer.compute_loss = recorded
    return trainer, losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="StepShop-v0")
    parser.add_argument("--episodes", type=int, default=60, help="expert episodes the pairs come from")
    parser.add_argument("--pairs", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--max-prompt-tokens", type=int, default=512)
    parser.add_argument("--min-prompt-tokens", type=int, default=256, help="use steps whose prompt has at least this many tokens")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steadiest on a shared machine)")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("TQDM_DISABLE", "1")
    logging.getLogger("transformers").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    import datasets
    import trl

    datasets.disable_progress_bars()

    with tempfile.TemporaryDirectory() as tmp:
        demos = os.path.join(tmp, "demos.jsonl")
        collect_expert(gym.make(args.env, split="train"), demos, args.episodes, show_progress=False)
        records = read_trajectories(demos)
        texts = list(record_texts(records, PromptConfig().system))
        policy_dir = build_offline_model(texts, os.path.join(tmp, "policy"), OfflineModelConfig(seed=0))
        # The reference: the same architecture and tokenizer (trained on the same text), weights from another seed.
        ref_dir = build_offline_model(texts, os.path.join(tmp, "reference"), OfflineModelConfig(seed=1))
        reference, ref_tokenizer, _ = load_model(ref_dir)
        policy, tokenizer, _ = load_model(policy_dir)
        if ref_tokenizer.get_vocab() != tokenizer.get_vocab():
            raise SystemExit("the two offline models' tokenizers differ; the benchmark needs one tokenizer")
        builder = PromptBuilder(tokenizer, PromptConfig(max_prompt_tokens=args.max_prompt_tokens))
        pairs = build_pairs(records, builder, args.pairs, args.min_prompt_tokens)
        lengths = [len(p.prompt_ids) + len(p.chosen_ids) + len(p.rejected_ids) for p in pairs]
        batches = batch_schedule(lengths, args.batch_size, seed=0, epoch=0)
        order = [i for b in batches for i in b]
        pairs = [pairs[i] for i in order]  # both read the pairs in this order, batch by batch
        batches = [list(range(s, min(s + args.batch_size, len(pairs)))) for s in range(0, len(pairs), args.batch_size)]
        pad = tokenizer.pad_token_id

        began = time.perf_counter()
        reference.eval()
        reference_logprobs(reference, pairs, pad, args.batch_size)
        ours_ref_seconds = time.perf_counter() - began
        path = export_pairs(pairs, os.path.join(tmp, "pairs.jsonl"), tokenizer.eos_token)
        dataset = datasets.load_dataset("json", data_files=path, split="train")
        initial = copy.deepcopy(policy.state_dict())

        trl_model, _, _ = load_model(policy_dir)
        trl_ref, _, _ = load_model(ref_dir)
        began = time.perf_counter()
        trainer, _ = make_trl(trl_model, trl_ref, tokenizer, dataset, len(batches), os.path.join(tmp, "trl"), args)
        trl_ref_seconds = time.perf_counter() - began
        data = trainer.train_dataset
        same_tokens = all(list(data[i]["prompt_ids"]) == p.prompt_ids and list(data[i]["chosen_ids"]) == p.chosen_ids
                          and list(data[i]["rejected_ids"]) == p.rejected_ids for i, p in enumerate(pairs))
        ref_diff = max(max(abs(data[i]["ref_chosen_logps"] - p.ref_chosen_logp), abs(data[i]["ref_rejected_logps"] - p.ref_rejected_logp))
                       for i, p in enumerate(pairs))
        padding_free = trainer.padding_free

        timings: dict[str, list[float]] = {"ours": [], "trl": []}
        first_losses: dict[str, float] = {}
        run_ours(policy, pairs, batches[:2], pad, args)  # warm-up (allocator, kernels)
        for repeat in range(args.repeats):
            policy.load_state_dict(initial)
            seconds, loss = run_ours(policy, pairs, batches, pad, args)
            timings["ours"].append(seconds)
            first_losses.setdefault("ours", loss)

            trl_model.load_state_dict(initial)
            trainer, losses = make_trl(trl_model, trl_ref, tokenizer, dataset, len(batches), os.path.join(tmp, f"trl{repeat}"), args)
            began = time.perf_counter()
            trainer.train()
            timings["trl"].append(time.perf_counter() - began)
            first_losses.setdefault("trl", losses[0])

    total = len(pairs)
    figures = {
        name: {"pairs": total, "seconds": [round(s, 3) for s in runs], "pairs_per_s": round(total / statistics.median(runs), 2)}
        for name, runs in timings.items()
    }
    figures["ours"]["reference_seconds"] = round(ours_ref_seconds, 2)
    figures["trl"]["reference_and_setup_seconds"] = round(trl_ref_seconds, 2)
    figures["ratio"] = round(figures["ours"]["pairs_per_s"] / figures["trl"]["pairs_per_s"], 2)
    figures["first_step_loss"] = {"ours": first_losses["ours"], "trl": first_losses["trl"],
                                  "difference": abs(first_losses["ours"] - first_losses["trl"])}
    figures["reference_logp_max_difference"] = ref_diff
    figures["same_token_ids"] = same_tokens
    figures["trl_version"] = trl.__version__
    figures["trl_padding_free"] = padding_free
    figures["mean_tokens"] = {"prompt": round(sum(len(p.prompt_ids) for p in pairs) / total, 1),
                              "chosen": round(sum(len(p.chosen_ids) for p in pairs) / total, 1),
                              "rejected": round(sum(len(p.rejected_ids) for p in pairs) / total, 1)}
    figures["batch_size"], figures["beta"], figures["torch_threads"] = args.batch_size, args.beta, torch.get_num_threads()

    print(f"{'run':<5} {'pairs':>6} {'median s':>9} {'pairs/s':>8}")
    for name in ("ours", "trl"):
        f = figures[name]
        print(f"{name:<5} {f['pairs']:>6} {statistics.median(f['seconds']):>9.2f} {f['pairs_per_s']:>8}")
    print(f"speed-up of ours over TRL {trl.__version__} DPOTrainer: {figures['ratio']}x "
          f"(batch {args.batch_size}, mean tokens {figures['mean_tokens']}, {figures['torch_threads']} torch threads, "
          f"TRL padding_free resolved to {padding_free})")
    print(f"first-step loss: ours {first_losses['ours']:.6f}, TRL {first_losses['trl']:.6f}, "
          f"difference {figures['first_step_loss']['difference']:.2e}; reference log-prob max difference {ref_diff:.2e}; "
          f"same token ids: {same_tokens}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
