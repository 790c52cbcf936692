"""The end-to-end demo: expert demos, SFT of the pretrained default model, StepAgent, evaluation, a plot.

On StepShop-v0 (embedded catalogue) by default, with no hub access:

1. record the oracle's trajectories on train tasks;
2. SFT of a LoRA adapter on ``model`` (SmolLM2-135M-Instruct by default) for
   a fixed number of optimizer steps;
3. StepAgent from the SFT adapter: inspection of the expert's steps and
   step-level DPO reflection, in cycles, the best cycle picked on dev
   (:mod:`stepagent_train.step_dpo`);
4. evaluate the SFT and StepAgent agents, the random agent and the expert on
   the first test tasks, with 95% bootstrap intervals over tasks; and every
   agent's agreement with the expert along the expert's path, per step kind;
5. print the tables and whether each trained agent beats the random agent
   (the lower end of its interval above random's mean), write
   ``results.json`` and ``learning_curve.png``.

Step counts, not the clock, decide what is trained: the same seed gives the
same table on an idle or a loaded machine (same torch thread count). The
optional time caps are guards only; when one fires, the output says so loudly.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace

import gymnasium as gym

import stepagent_envs  # noqa: F401  (registers the env ids)
from stepagent_envs.evaluate import ExpertAgent, RandomAgent, as_dicts, evaluate, format_table

from .checkpoint import checkpoint_step, write_json
from .collect import collect_expert
from .models import DEFAULT_MODEL, check_model_name, is_tiny
from .offline_model import OfflineModelConfig

__all__ = ["DemoConfig", "plot_learning_curve", "run_demo"]

_PRECISIONS = ("auto", "bf16", "fp32")


@dataclass
class DemoConfig:
    """Settings of the demo; the defaults took 14-19 minutes on 2 idle CPU cores with native bf16."""

    out_dir: str = field(default="runs/demo", metadata={"help": "folder for demos, the runs, results and the plot (its demo files are replaced)"})
    env: str = field(default="StepShop-v0", metadata={"help": "env id"})
    model: str = field(default=DEFAULT_MODEL, metadata={"help": "model: smollm2-135m (pretrained, LoRA), tiny (from scratch, all weights: tests only), a hub id org/name or a folder"})
    train_episodes: int = field(default=400, metadata={"help": "expert episodes recorded on the train split"})
    test_episodes: int | None = field(default=100, metadata={"help": "first N test tasks evaluated (None: the whole split)"})
    inspect_episodes: int | None = field(default=30, metadata={"help": "first N test tasks of the per-step-kind agreement along the expert's path (None: the whole split)"})
    max_steps: int = field(default=80, metadata={"help": "SFT optimizer steps"})
    batch_size: int = field(default=8, metadata={"help": "SFT examples per micro-batch (micro-batches group similar lengths)"})
    grad_accum_steps: int = field(default=1, metadata={"help": "micro-batches per SFT optimizer step"})
    learning_rate: float = field(default=1e-3, metadata={"help": "SFT peak learning rate (LoRA on the pretrained model; ~2e-3 for tiny)"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_target_modules: str = field(default="q_proj,k_proj,v_proj,o_proj", metadata={"help": "modules the LoRA adapter wraps (all-linear: every linear layer, ~25% slower)"})
    max_prompt_tokens: int = field(default=256, metadata={"help": "prompt token budget (a longer observation loses its middle)"})
    max_turns: int | None = field(default=0, metadata={"help": "past turns kept in prompts at most (None: as many as fit; 0: a WebShop page shows all the agent needs)"})
    stepagent_cycles: int = field(default=2, metadata={"help": "StepAgent inspection + reflection cycles (0: skip the StepAgent stage)"})
    stepagent_trajectories: int = field(default=16, metadata={"help": "expert trajectories inspected per StepAgent cycle"})
    stepagent_k: int = field(default=2, metadata={"help": "actions sampled per inspected step"})
    stepagent_learning_rate: float = field(default=1e-4, metadata={"help": "StepAgent reflection learning rate (the SFT adapter keeps training)"})
    stepagent_beta: float = field(default=0.1, metadata={"help": "step-DPO beta"})
    stepagent_sft_weight: float = field(default=1.0, metadata={"help": "weight of the SFT term on the expert's action in reflection (it anchors the actions DPO would push down everywhere, such as Buy Now)"})
    stepagent_dev_episodes: int = field(default=20, metadata={"help": "dev tasks evaluated after each StepAgent cycle to pick the best"})
    eval_last_cycle: bool = field(default=False, metadata={"help": "also evaluate StepAgent's last cycle on test (as sa-cycleN) when dev picked an earlier one (~3-5 more minutes)"})
    precision: str = field(default="auto", metadata={"help": "auto (bf16 where the CPU or GPU computes it natively, else fp32), bf16 or fp32: autocast in training, weights in evaluation"})
    sft_seconds: float | None = field(default=None, metadata={"help": "guard on SFT time: past it SFT stops early and the output says so (None: no guard; the step count decides)"})
    stepagent_seconds: float | None = field(default=None, metadata={"help": "guard on the StepAgent stage's time, as sft_seconds (None: no guard)"})
    num_envs: int = field(default=16, metadata={"help": "envs rolled out in parallel in evaluation"})
    seed: int = field(default=0, metadata={"help": "seed of the demos, the data order, sampling and the random agent"})
    torch_threads: int | None = field(default=None, metadata={"help": "torch CPU threads (None: torch's default, one per core); fix it to get the same table on another machine"})

    def __post_init__(self):
        if self.stepagent_cycles < 0:
            raise ValueError(f"stepagent_cycles must be >= 0 (0 skips StepAgent), got {self.stepagent_cycles}")
        for name in ("train_episodes", "max_steps", "batch_size", "grad_accum_steps", "num_envs", "lora_r"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("test_episodes", "inspect_episodes"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be None or >= 1, got {getattr(self, name)}")
        if self.precision not in _PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; expected one of {', '.join(_PRECISIONS)}")
        check_model_name(self.model)


def run_demo(config: DemoConfig | None = None, offline_config: OfflineModelConfig | None = None,
             show_progress: bool = True) -> dict:
    """Run the demo; returns the results (also in ``<out_dir>/results.json``).

    Args:
        config: Settings; defaults when None.
        offline_config: Sizes of the ``tiny`` model (only with ``model="tiny"``).
        show_progress: Show progress bars.

    Returns:
        ``{"results": [EvalResult as dict, with score_ci95 and success_ci95] (sft, stepagent,
        random, expert), "inspection": {agent: {"step_agreement", "steps", "by_kind"}},
        "beats_random": {agent: {"score", "success"}}, "checkpoints", "stepagent" (its summary or
        None), "acting": {agent: {"ranked", "generated"}}, "guards_fired", "seconds", "table", "plot"}``.
    """
    import torch

    from .evaluate import evaluate_policy, inspect_policy
    from .models import resolve_model
    from .policies import CallablePolicy, HFPolicy
    from .sft import METRICS_FILE, SFTConfig, train_sft
    from .step_dpo import StepAgentConfig, train_stepagent

    config = config or DemoConfig()
    if config.torch_threads is not None:
        torch.set_num_threads(config.torch_threads)
    bf16 = _use_bf16(config.precision)
    mixed = "bf16" if bf16 else "no"
    os.makedirs(config.out_dir, exist_ok=True)
    demos = os.path.join(config.out_dir, "demos.jsonl")
    run_dir = os.path.join(config.out_dir, "sft")
    stepagent_dir = os.path.join(config.out_dir, "stepagent")
    for stale in (demos, run_dir, stepagent_dir):
        if os.path.isdir(stale):
            shutil.rmtree(stale)
        elif os.path.exists(stale):
            os.remove(stale)
    seconds: dict[str, float] = {}
    guards: list[str] = []

    def phase(name: str, began: float) -> None:
        seconds[name] = round(time.perf_counter() - began, 1)
        print(f"[demo] {name}: {seconds[name]} s", file=sys.stderr)

    began = time.perf_counter()
    env = gym.make(config.env, split="train")
    collect_expert(env, demos, config.train_episodes, seed=config.seed, show_progress=show_progress)
    env.close()
    phase("collect", began)
    if not is_tiny(config.model):
        began = time.perf_counter()
        resolve_model(config.model)  # converts the default model once (cached), so SFT's time is training
        phase("model", began)

    began = time.perf_counter()
    sft = SFTConfig(train_file=demos, output_dir=run_dir, model=config.model, lora_r=config.lora_r,
                    lora_alpha=2 * config.lora_r, lora_target_modules=config.lora_target_modules,
                    max_steps=config.max_steps, batch_size=config.batch_size, grad_accum_steps=config.grad_accum_steps,
                    learning_rate=config.learning_rate, warmup_steps=min(10, config.max_steps // 10),
                    max_prompt_tokens=config.max_prompt_tokens, max_turns=config.max_turns, seed=config.seed,
                    save_every=config.max_steps, max_seconds=config.sft_seconds, mixed_precision=mixed)
    checkpoint = train_sft(sft, offline_config, show_progress=show_progress)
    done = checkpoint_step(checkpoint)
    if done < config.max_steps:
        guards.append(f"sft_seconds={config.sft_seconds} cut SFT at step {done} of {config.max_steps}")
    phase("sft", began)

    agents = {"sft": checkpoint}
    stepagent_summary = None
    if config.stepagent_cycles:
        began = time.perf_counter()
        stepagent_summary = train_stepagent(StepAgentConfig(
            output_dir=stepagent_dir, env=config.env, train_file=demos, model=checkpoint,
            cycles=config.stepagent_cycles, trajectories=config.stepagent_trajectories, k=config.stepagent_k,
            learning_rate=config.stepagent_learning_rate, beta=config.stepagent_beta,
            sft_weight=config.stepagent_sft_weight, dev_episodes=config.stepagent_dev_episodes,
            num_envs=config.num_envs, seed=config.seed, max_seconds=config.stepagent_seconds, mixed_precision=mixed,
        ), show_progress=show_progress)
        agents["stepagent"] = stepagent_summary["best_checkpoint"]
        last = stepagent_summary["cycles"][-1] if stepagent_summary["cycles"] else None
        if config.eval_last_cycle and last is not None and stepagent_summary["best_cycle"] != last["cycle"]:
            # The dev pick is not the last cycle: show what the cycles did too.
            agents[f"sa-cycle{last['cycle']}"] = last["checkpoint"]
        if stepagent_summary.get("stopped_early"):
            guards.append(f"stepagent_seconds={config.stepagent_seconds} cut the StepAgent stage short")
        phase("stepagent", began)

    results, inspection, acting = [], {}, {}
    dtype = torch.bfloat16 if bf16 else None
    evaluated: dict[str, str] = {}  # folder -> the agent it was evaluated as
    for name, folder in agents.items():
        began = time.perf_counter()
        if folder in evaluated:  # the same weights (StepAgent's dev pick was the SFT start): same figures
            same = evaluated[folder]
            results.append(replace(next(r for r in results if r.agent == same), agent=name))
            inspection[name], acting[name] = inspection[same], acting[same]
            continue
        evaluated[folder] = name
        policy = HFPolicy.from_pretrained(folder, dtype=dtype, merge_adapter=True, max_new_tokens=48)
        results.append(evaluate_policy(policy, config.env, "test", name, config.test_episodes, config.num_envs,
                                       show_progress=show_progress))
        inspection[name] = inspect_policy(policy, config.env, "test", config.inspect_episodes, config.num_envs,
                                          show_progress=show_progress)
        acting[name] = dict(policy.stats)
        phase(f"eval {name}", began)
    began = time.perf_counter()
    env = gym.make(config.env, split="test")
    results.append(evaluate(env, RandomAgent(seed=config.seed), "random", config.test_episodes, show_progress))
    results.append(evaluate(env, ExpertAgent(env), "expert", config.test_episodes, show_progress))
    env.close()
    randomly = RandomAgent(seed=config.seed)
    random_policy = CallablePolicy(lambda p: randomly(p.observation, {"valid_actions": p.valid_actions, "task": p.task}))
    inspection["random"] = inspect_policy(random_policy, config.env, "test", config.inspect_episodes, config.num_envs,
                                          show_progress=show_progress)
    phase("eval random and expert", began)

    random_result = next(r for r in results if r.agent == "random")
    beats = {r.agent: {"score": r.score_ci95[0] > random_result.mean_score,
                       "success": r.success_ci95[0] > random_result.success_rate}
             for r in results if r.agent in agents}
    table = format_table(results)
    kinds = format_kinds(inspection)
    verdicts = "\n".join(
        f"{name} vs random: score {'BEATS' if b['score'] else 'does NOT beat'} random "
        f"(95% CI low {next(r for r in results if r.agent == name).score_ci95[0]:.3f} vs random mean {random_result.mean_score:.3f}); "
        f"success {'BEATS' if b['success'] else 'does NOT beat'} random" for name, b in beats.items())
    plot = plot_learning_curve(os.path.join(run_dir, METRICS_FILE), os.path.join(config.out_dir, "learning_curve.png"), results,
                               os.path.join(stepagent_dir, METRICS_FILE) if stepagent_summary else None)
    seconds["total"] = round(sum(seconds.values()), 1)
    summary = {"config": asdict(config), "precision": "bf16" if bf16 else "fp32", "checkpoints": agents,
               "results": as_dicts(results), "inspection": inspection, "beats_random": beats, "acting": acting,
               "stepagent": stepagent_summary, "guards_fired": guards, "seconds": seconds, "table": table,
               "kinds_table": kinds, "plot": plot}
    write_json(os.path.join(config.out_dir, "results.json"), summary)
    print(table)
    print("\nagreement with the expert along the expert's path, per step kind (the expert: 1 by construction):")
    print(kinds)
    print()
    print(verdicts)
    if stepagent_summary:
        dev = [(0, stepagent_summary["initial_dev"])] + [(c["cycle"], c["dev"]) for c in stepagent_summary["cycles"]]
        print("StepAgent dev mean score by cycle (0: the SFT start): " + ", ".join(
            f"{i}: {d['mean_score']:.3f}" for i, d in dev if d) +
            f"; best on dev: cycle {stepagent_summary['best_cycle']} (the stepagent row)")
    for guard in guards:
        print(f"WARNING: time guard fired: {guard}; the table is not the fixed-step result", file=sys.stderr)
    print(f"[demo] {seconds['total']} s in all; plot {plot}; results {os.path.join(config.out_dir, 'results.json')}", file=sys.stderr)
    return summary


def format_kinds(inspection: dict[str, dict]) -> str:
    """A table of each agent's step agreement per step kind (steps in parentheses)."""
    kinds = sorted({k for v in inspection.values() for k in v["by_kind"]})
    head = f"{'agent':<10} " + " ".join(f"{k:>16}" for k in kinds) + f" {'all':>16}"
    rows = [head, "-" * len(head)]
    for name, v in inspection.items():
        cells = [f"{v['by_kind'][k]['agreement']:.3f} ({v['by_kind'][k]['steps']})" if k in v["by_kind"] else "-" for k in kinds]
        rows.append(f"{name:<10} " + " ".join(f"{c:>16}" for c in cells) + f" {v['step_agreement']:>10.3f} ({v['steps']})")
    return "\n".join(rows)


def _use_bf16(precision: str) -> bool:
    """Whether to compute in bf16: asked for, or ``auto`` on a device that computes it natively."""
    import torch

    if precision != "auto":
        return precision == "bf16"
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def plot_learning_curve(metrics_file: str, out: str, results=None, stepagent_metrics: str | None = None) -> str:
    """Plot the SFT loss per step, StepAgent's step-DPO loss when given, and the agents' test figures.

    Args:
        metrics_file: An SFT run's ``metrics.jsonl``.
        out: The PNG to write.
        results: ``EvalResult`` s for a bar panel with 95% intervals (None: no bars).
        stepagent_metrics: A StepAgent run's ``metrics.jsonl`` (None: no StepAgent panel).

    Returns:
        ``out``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = [("SFT learning curve", "action-token NLL", "log", _read_rows(metrics_file), "tab:blue")]
    rows = [r for r in _read_rows(stepagent_metrics) if "event" not in r] \
        if stepagent_metrics and os.path.exists(stepagent_metrics) else []
    if rows:  # no panel where reflection did not run
        curves.append(("StepAgent reflection", "step-DPO + sft_weight x expert NLL", "linear", rows, "tab:orange"))
    panels = len(curves) + bool(results)
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4), squeeze=False)
    for ax, (title, ylabel, scale, rows, color) in zip(axes[0], curves):
        steps = [r["step"] for r in rows]
        losses = [r["loss"] for r in rows]
        window = max(1, len(losses) // 20)
        smooth = [sum(losses[max(0, i - window + 1) : i + 1]) / len(losses[max(0, i - window + 1) : i + 1]) for i in range(len(losses))]
        ax.plot(steps, losses, color=color, alpha=0.3, label="loss per step")
        ax.plot(steps, smooth, color=color, label=f"moving average ({window})")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel(ylabel)
        ax.set_yscale(scale)
        ax.set_title(title)
        ax.legend()
    if results:
        ax = axes[0][-1]
        names = [r.agent for r in results]
        xs = range(len(results))
        for offset, key, ci, label in ((-0.27, "success_rate", "success_ci95", "success rate"),
                                       (0.0, "mean_score", "score_ci95", "mean score"),
                                       (0.27, "step_agreement", None, "step agreement")):
            values = [getattr(r, key) for r in results]
            errors = None
            if ci:
                errors = [[v - getattr(r, ci)[0] for v, r in zip(values, results)],
                          [getattr(r, ci)[1] - v for v, r in zip(values, results)]]
            bars = ax.bar([x + offset for x in xs], values, 0.27, yerr=errors, capsize=3, label=label)
            ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)  # a zero bar still shows its value
        ax.set_xticks(list(xs), names)
        ax.set_ylabel("fraction of tasks / steps (0 to 1)")
        ax.set_ylim(0, 1.15)
        ax.set_title(f"test ({results[0].episodes} tasks; bars: 95% CI over tasks)")
        ax.legend()
    fig.tight_layout()
    tmp = out + ".tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, out)
    return out


def _read_rows(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
