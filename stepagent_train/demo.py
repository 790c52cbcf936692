"""The end-to-end demo: expert demos, the offline model, SFT, StepAgent, evaluation, a plot.

On StepShop-v0 (embedded catalogue) by default, with no hub access:

1. record the oracle's trajectories on train tasks;
2. build the offline default model (tokenizer trained on those trajectories);
3. SFT on them;
4. StepAgent from the SFT checkpoint: inspection of the expert's steps and
   step-level DPO reflection, in cycles, the best cycle picked on dev
   (:mod:`stepagent_train.step_dpo`);
5. evaluate the SFT and StepAgent agents, the random agent and the expert on
   the first test tasks, and both agents' step agreement along the expert's path;
6. print the table, write ``results.json`` and ``learning_curve.png``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field

import gymnasium as gym

import stepagent_envs  # noqa: F401  (registers the env ids)
from stepagent_envs.evaluate import ExpertAgent, RandomAgent, as_dicts, evaluate, format_table

from .checkpoint import write_json
from .collect import collect_expert
from .offline_model import OfflineModelConfig

__all__ = ["DemoConfig", "plot_learning_curve", "run_demo"]


@dataclass
class DemoConfig:
    """Settings of the demo; the defaults fit about 15 minutes on 2 CPU cores."""

    out_dir: str = field(default="runs/demo", metadata={"help": "folder for demos, the SFT run, results and the plot (its demo files are replaced)"})
    env: str = field(default="StepShop-v0", metadata={"help": "env id"})
    train_episodes: int = field(default=1000, metadata={"help": "expert episodes recorded on the train split"})
    test_episodes: int | None = field(default=100, metadata={"help": "first N test tasks evaluated (None: the whole split)"})
    max_steps: int = field(default=600, metadata={"help": "SFT optimizer steps"})
    batch_size: int = field(default=4, metadata={"help": "SFT examples per micro-batch (micro-batches group similar lengths)"})
    grad_accum_steps: int = field(default=4, metadata={"help": "micro-batches per SFT optimizer step (each step mixes several length groups)"})
    sft_seconds: float | None = field(default=420.0, metadata={"help": "cap on SFT time; SFT stops early (with a checkpoint) past it, keeping the demo within ~15 min on a busy machine (None: no cap)"})
    learning_rate: float = field(default=2e-3, metadata={"help": "SFT peak learning rate (the model starts from scratch)"})
    max_prompt_tokens: int = field(default=256, metadata={"help": "prompt token budget (a longer observation loses its middle)"})
    max_turns: int | None = field(default=0, metadata={"help": "past turns kept in prompts at most (None: as many as fit; 0: a WebShop page shows all the agent needs)"})
    prompt_loss_weight: float = field(default=0.0, metadata={"help": "SFT weight of the extra next-token loss on prompt tokens (0: action tokens only)"})
    stepagent_cycles: int = field(default=2, metadata={"help": "StepAgent inspection + reflection cycles (0: skip the StepAgent stage)"})
    stepagent_trajectories: int = field(default=48, metadata={"help": "expert trajectories inspected per StepAgent cycle"})
    stepagent_k: int = field(default=2, metadata={"help": "actions sampled per inspected step"})
    stepagent_learning_rate: float = field(default=1e-4, metadata={"help": "StepAgent reflection learning rate"})
    stepagent_beta: float = field(default=0.1, metadata={"help": "step-DPO beta"})
    stepagent_sft_weight: float = field(default=0.1, metadata={"help": "weight of the SFT term on the expert's action in reflection"})
    stepagent_dev_episodes: int = field(default=20, metadata={"help": "dev tasks evaluated after each StepAgent cycle to pick the best"})
    stepagent_seconds: float | None = field(default=180.0, metadata={"help": "cap on the StepAgent stage's time (None: no cap)"})
    num_envs: int = field(default=16, metadata={"help": "envs rolled out in parallel in evaluation"})
    seed: int = field(default=0, metadata={"help": "seed of the demos, the model, the data order and the random agent"})
    torch_threads: int | None = field(default=None, metadata={"help": "torch CPU threads (None: torch's default, one per core; 1 on a busy machine)"})

    def __post_init__(self):
        if self.stepagent_cycles < 0:
            raise ValueError(f"stepagent_cycles must be >= 0 (0 skips StepAgent), got {self.stepagent_cycles}")
        for name in ("train_episodes", "max_steps", "batch_size", "grad_accum_steps", "num_envs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.test_episodes is not None and self.test_episodes < 1:
            raise ValueError(f"test_episodes must be None or >= 1, got {self.test_episodes}")


def run_demo(config: DemoConfig | None = None, offline_config: OfflineModelConfig | None = None,
             show_progress: bool = True) -> dict:
    """Run the demo; returns the results (also in ``<out_dir>/results.json``).

    Args:
        config: Settings; defaults when None.
        offline_config: Sizes of the offline model; the defaults when None.
        show_progress: Show progress bars.

    Returns:
        ``{"results": [EvalResult as dict, ...] (sft, stepagent, random, expert),
        "inspection": {agent: {"step_agreement", "steps"}}, "checkpoints": {agent: folder},
        "stepagent": train_stepagent's summary or None, "seconds": {phase: s}, "table": str, "plot": path}``.
    """
    # Imported here so that building the command line needs no torch.
    import torch

    from .evaluate import evaluate_policy, inspect_policy
    from .policies import HFPolicy
    from .sft import METRICS_FILE, SFTConfig, train_sft
    from .step_dpo import StepAgentConfig, train_stepagent

    config = config or DemoConfig()
    if config.torch_threads is not None:
        torch.set_num_threads(config.torch_threads)
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

    def phase(name: str, began: float) -> None:
        seconds[name] = round(time.perf_counter() - began, 1)
        print(f"[demo] {name}: {seconds[name]} s", file=sys.stderr)

    began = time.perf_counter()
    env = gym.make(config.env, split="train")
    collect_expert(env, demos, config.train_episodes, seed=config.seed, show_progress=show_progress)
    env.close()
    phase("collect", began)

    began = time.perf_counter()
    sft = SFTConfig(train_file=demos, output_dir=run_dir, max_steps=config.max_steps, batch_size=config.batch_size,
                    grad_accum_steps=config.grad_accum_steps,
                    learning_rate=config.learning_rate, max_prompt_tokens=config.max_prompt_tokens,
                    max_turns=config.max_turns, prompt_loss_weight=config.prompt_loss_weight,
                    seed=config.seed, save_every=config.max_steps, max_seconds=config.sft_seconds)
    checkpoint = train_sft(sft, offline_config, show_progress=show_progress)
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
            num_envs=config.num_envs, seed=config.seed, max_seconds=config.stepagent_seconds,
        ), show_progress=show_progress)
        agents["stepagent"] = stepagent_summary["best_checkpoint"]
        phase("stepagent", began)

    results, inspection = [], {}
    for name, folder in agents.items():
        began = time.perf_counter()
        policy = HFPolicy.from_pretrained(folder, max_new_tokens=48)
        results.append(evaluate_policy(policy, config.env, "test", name, config.test_episodes, config.num_envs,
                                       show_progress=show_progress))
        agreement, steps = inspect_policy(policy, config.env, "test", config.test_episodes, config.num_envs,
                                          show_progress=show_progress)
        inspection[name] = {"step_agreement": agreement, "steps": steps}
        phase(f"eval {name}", began)
    began = time.perf_counter()
    env = gym.make(config.env, split="test")
    results.append(evaluate(env, RandomAgent(seed=config.seed), "random", config.test_episodes, show_progress))
    results.append(evaluate(env, ExpertAgent(env), "expert", config.test_episodes, show_progress))
    env.close()
    phase("eval random and expert", began)

    table = format_table(results)
    plot = plot_learning_curve(os.path.join(run_dir, METRICS_FILE), os.path.join(config.out_dir, "learning_curve.png"), results,
                               os.path.join(stepagent_dir, METRICS_FILE) if stepagent_summary else None)
    seconds["total"] = round(sum(seconds.values()), 1)
    inspection_line = "step agreement along the expert's path (inspection): " + ", ".join(
        f"{name} {v['step_agreement']:.3f}" for name, v in inspection.items()) + f" over {inspection['sft']['steps']} steps"
    summary = {"config": asdict(config), "checkpoints": agents, "results": as_dicts(results),
               "inspection": inspection, "stepagent": stepagent_summary,
               "seconds": seconds, "table": table, "plot": plot}
    write_json(os.path.join(config.out_dir, "results.json"), summary)
    print(table)
    print(inspection_line)
    print(f"[demo] {seconds['total']} s in all; plot {plot}; results {os.path.join(config.out_dir, 'results.json')}", file=sys.stderr)
    return summary


def plot_learning_curve(metrics_file: str, out: str, results=None, stepagent_metrics: str | None = None) -> str:
    """Plot the SFT loss per step, StepAgent's step-DPO loss when given, and the agents' test figures.

    Args:
        metrics_file: An SFT run's ``metrics.jsonl``.
        out: The PNG to write.
        results: ``EvalResult`` s for a bar panel (None: no bars).
        stepagent_metrics: A StepAgent run's ``metrics.jsonl`` (None: no StepAgent panel).

    Returns:
        ``out``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = [("SFT learning curve", "action-token NLL", "log", _read_rows(metrics_file), "tab:blue")]
    if stepagent_metrics and os.path.exists(stepagent_metrics):
        rows = [r for r in _read_rows(stepagent_metrics) if "event" not in r]
        curves.append(("StepAgent reflection", "step-DPO loss", "linear", rows, "tab:orange"))
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
        for offset, key, label in ((-0.27, "success_rate", "success rate"), (0.0, "mean_score", "mean score"),
                                   (0.27, "step_agreement", "step agreement")):
            ax.bar([x + offset for x in xs], [getattr(r, key) for r in results], 0.27, label=label)
        ax.set_xticks(list(xs), names)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"test ({results[0].episodes} tasks)")
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
