"""The reproduction benchmark: the claims of StepAgent, LLM4Teach and ARPO on our envs, with intervals.

    python benchmarks/reproduce.py --preset cpu-small --out runs/reproduce
    python benchmarks/reproduce.py --preset cpu-small --out runs/reproduce --only A:StepGrid-v0
    python benchmarks/reproduce.py --preset gpu --out runs/reproduce-gpu --model HuggingFaceTB/SmolLM2-1.7B-Instruct
    python benchmarks/reproduce.py --preset gpu --toy --out /tmp/toy     # the pipeline at toy size (the tests do this)

Tables (a preset fixes envs, rows, seeds and budgets; ``--only`` picks a table or a cell):

* **A, StepAgent**: rows SFT, ETO, PPO and GRPO on the outcome reward, GiGPO,
  StepAgent implicit (step-DPO), StepAgent inverse (a learned step reward +
  outcome), and the inverse reflection without step reward (outcome alone, the
  same cycles). The implicit reflection's ablation without step reward is
  trajectory-level preference, i.e. ETO at the same budget: its row is ETO's.
  Cells: test score and success (mean over seeds, 95% t interval over seeds),
  step agreement with the expert along the expert's path, and the cost.
* **B, LLM4Teach**: on StepGrid-v0 levels, a student taught by an imperfect
  oracle (error rate ``teacher_epsilon``) plus PPO vs PPO alone vs the teacher
  acting alone: curves (rollout success vs env steps) and the final test table.
* **C, ARPO**: ARPO vs GRPO from the same SFT start: test score and tool calls per episode.

Every claim gets a verdict from the numbers: the paired difference over seeds
(same seeds, same start) with a 95% t interval: *holds* when the interval is
above 0, *does not hold* when below, else *inconclusive*. Writes
``results.md``, ``results.json``, ``table_a.png``, ``table_b.png``, ``table_c.png``.
Every cell is a run folder: a killed run continues where it stopped, finished
cells and evaluations are read back, never recomputed. The report also keeps
the rows an earlier invocation into the same folder measured (same preset,
model and size), so a table filled a few rows per sitting reads whole.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from stepagent_train.checkpoint import latest_checkpoint, write_json  # noqa: E402
from stepagent_train.config import parse_env_kwargs  # noqa: E402
from stepagent_train.experiments import (  # noqa: E402
    Budget, cell_cost, cell_done, evaluate_cached, evaluate_teacher, inspect_cached, paired_interval, t_interval, train_cell,
)
from stepagent_train.stages import collect_demos, sft_stage  # noqa: E402

#: Table A's rows: (name, algorithm, reward); "sft" is the shared start.
ROWS_A = (("sft", None, None), ("eto", "eto", ""), ("ppo-outcome", "ppo", "outcome"), ("grpo-outcome", "grpo", "outcome"),
          ("gigpo", "gigpo", "outcome"), ("stepagent-implicit", "stepagent", ""), ("stepagent-inverse", "stepagent_irl", "step"),
          ("inverse-no-step-reward", "stepagent_irl", "outcome"))
ROWS_C = (("sft", None, None), ("grpo", "grpo", "outcome"), ("arpo", "arpo", "outcome"))
ALL_ROWS = {"A": ROWS_A, "B": (("llm4teach", "llm4teach", "outcome"), ("ppo", "ppo", "outcome")), "C": ROWS_C}
#: Figures from the papers, cited beside ours (larger models and budgets), never as ours.
REFERENCES = [
    "StepAgent (From Novice to Expert): WebShop 68.0 with step reward vs 67.2 without; ScienceWorld 64.8 vs 63.6; "
    "+2.9 over ETO on HotpotQA.",
    "GiGPO paper (Qwen2.5-1.5B): WebShop success GRPO 56.8, GiGPO 67.4.",
    "ARPO (Qwen2.5-7B): 58.3 vs GRPO 56.5 on average, with about half the tool calls.",
    "LLM4Teach: the student learns faster than PPO alone and ends above its imperfect LLM teacher (MiniGrid).",
]


@dataclass
class EnvSetup:
    """One env of a table: its demos, SFT start, budget and evaluation size."""

    env: str
    env_kwargs: str | None = None
    demos: int = 200
    sft_steps: int = 80
    sft_lr: float = 1e-3
    test_episodes: int = 50
    inspect_episodes: int = 20
    budget: Budget = field(default_factory=Budget)
    sft_model: str | None = None  # None: the preset's model
    tools: tuple[str, ...] = ("python", "search", "lookup")


def _presets() -> dict[str, dict]:
    shop = dict(max_prompt_tokens=256, max_turns=0)
    cpu_budget = Budget(iterations=2, tasks=8, group_size=4, k=2, lr=1e-4, batch_size=8, sft_weight=1.0, irl_rollouts="free",
                        irl_outcome_weight=1.0, max_new_tokens=48, num_envs=16)
    gpu_budget = replace(cpu_budget, iterations=6, tasks=32, group_size=8, batch_size=16, lr=5e-5)
    grid = '{"level": "DoorKey-5x5", "max_steps": 40}'
    student = Budget(iterations=12, tasks=8, lr=3e-3, batch_size=16, max_prompt_tokens=256, num_envs=16)
    return {
        "cpu-small": {
            "model": "smollm2-135m", "seeds": [0, 1, 2], "teacher_epsilon": 0.3,
            "A": [EnvSetup("StepGrid-v0", grid, demos=200, test_episodes=50, inspect_episodes=10,
                           budget=replace(cpu_budget, max_prompt_tokens=256)),
                  EnvSetup("StepShop-v0", None, demos=200, test_episodes=50, budget=replace(cpu_budget, **shop))],
            "B": [EnvSetup("StepGrid-v0", '{"level": "LLM4Teach-SimpleDoorKey", "max_steps": 40}', demos=50, sft_steps=1,
                           sft_lr=3e-3, sft_model="tiny", test_episodes=50, inspect_episodes=0, budget=student),
                  EnvSetup("StepGrid-v0", '{"level": "LLM4Teach-LavaDoorKey", "max_steps": 40}', demos=50, sft_steps=1,
                           sft_lr=3e-3, sft_model="tiny", test_episodes=50, inspect_episodes=0, budget=student)],
            "C": [EnvSetup("StepMath-v0", '{"tool_timeout": 2.0}', demos=200, test_episodes=50, inspect_episodes=0,
                           budget=replace(cpu_budget, iterations=2, tasks=4, max_new_tokens=96))],
        },
        "gpu": {
            "model": "smollm2-135m", "seeds": [0, 1, 2], "teacher_epsilon": 0.3, "mixed_precision": "bf16",
            "A": [EnvSetup("StepGrid-v0", grid, demos=400, sft_steps=300, budget=gpu_budget, test_episodes=200),
                  EnvSetup("StepShop-v0", None, demos=400, sft_steps=300, budget=replace(gpu_budget, **shop), test_episodes=200),
                  EnvSetup("StepHotpot-v0", None, demos=400, sft_steps=300, budget=gpu_budget, test_episodes=200),
                  EnvSetup("StepSciWorld-v0", '{"max_episode_steps": 40}', demos=200, sft_steps=300, budget=gpu_budget,
                           test_episodes=100)],
            "B": [EnvSetup("StepGrid-v0", f'{{"level": "LLM4Teach-{level}", "max_steps": 100}}', demos=50, sft_steps=1,
                           sft_lr=3e-3, sft_model="tiny", test_episodes=200, inspect_episodes=0,
                           budget=replace(student, iterations=200, tasks=16))
                  for level in ("SimpleDoorKey", "LavaDoorKey", "ColoredDoorKey", "TwoDoor")],
            "C": [EnvSetup("StepMath-v0", '{"tool_timeout": 2.0}', demos=400, sft_steps=300, test_episodes=200,
                           budget=replace(gpu_budget, max_new_tokens=192)),
                  EnvSetup("StepHotpot-v0", None, demos=400, sft_steps=300, test_episodes=200, budget=gpu_budget)],
        },
    }


PRESETS = tuple(_presets())


def toy(preset: dict) -> dict:
    """The preset at toy size: the tiny model, two seeds, one iteration of two tasks, a few test tasks."""
    def small(s: EnvSetup) -> EnvSetup:
        kwargs = parse_env_kwargs(s.env_kwargs)
        if s.env == "StepGrid-v0":
            kwargs["max_steps"] = 8
        if s.env == "StepSciWorld-v0":
            kwargs["max_episode_steps"] = 4
        budget = replace(s.budget, iterations=1, tasks=2, group_size=2, initial_rollouts=1, k=1, batch_size=4, lr=1e-3,
                         num_envs=2, max_new_tokens=8, max_prompt_tokens=256)
        return replace(s, env_kwargs=json.dumps(kwargs), demos=4, sft_steps=2, test_episodes=2,
                       inspect_episodes=min(s.inspect_episodes, 1), budget=budget, sft_model="tiny")
    return {**preset, "model": "tiny", "seeds": [0, 1], "mixed_precision": "no",
            **{t: [small(s) for s in preset[t]] for t in "ABC"}}


# -- running the cells ---------------------------------------------------------
def _folder(out: str, table: str, setup: EnvSetup) -> str:
    kwargs = parse_env_kwargs(setup.env_kwargs)
    tag = setup.env if table != "B" else f"{setup.env}-{kwargs.get('level', 'default')}"
    return os.path.join(out, table, tag)


def _start(folder: str, setup: EnvSetup, preset: dict) -> tuple[str, str]:
    """The env's demos and the SFT start every row of the table begins from."""
    kwargs = parse_env_kwargs(setup.env_kwargs)
    demos = collect_demos(setup.env, kwargs, setup.demos, 0, os.path.join(folder, "demos.jsonl"), show_progress=False)
    b = setup.budget
    start = sft_stage(demos, os.path.join(folder, "sft"), dict(
        model=setup.sft_model or preset["model"], max_steps=setup.sft_steps, learning_rate=setup.sft_lr,
        batch_size=16, max_prompt_tokens=b.max_prompt_tokens or 512, max_turns=b.max_turns, seed=0,
        mixed_precision=b.mixed_precision), show_progress=False)
    return demos, latest_checkpoint(start) or start


def run_table(table: str, setup: EnvSetup, rows, preset: dict, out: str) -> dict:
    """Train and evaluate every (row, seed) cell of one env of a table; returns per row its per-seed figures."""
    folder = _folder(out, table, setup)
    os.makedirs(folder, exist_ok=True)
    kwargs = parse_env_kwargs(setup.env_kwargs)
    demos, start = _start(folder, setup, preset)
    budget = replace(setup.budget, mixed_precision=preset.get("mixed_precision", setup.budget.mixed_precision),
                     teacher_epsilon=preset["teacher_epsilon"])
    result = {}
    for name, algorithm, reward in rows:
        runs = [(None, start)] if algorithm is None else []
        for seed in ([] if algorithm is None else preset["seeds"]):
            run = os.path.join(folder, f"{name}-seed{seed}")
            if not cell_done(run, budget.iterations):
                print(f"[{table} {setup.env}] {name} seed {seed}", flush=True)
                train_cell(algorithm, reward, setup.env, setup.env_kwargs, seed, run, start, demos, budget, show_progress=False)
            runs.append((run, latest_checkpoint(run)))
        figures = []
        for run, checkpoint in runs:
            label = os.path.basename(run) if run else "sft"
            ev = evaluate_cached(os.path.join(folder, "evaluations.json"), label, checkpoint, setup.env, kwargs,
                                 setup.test_episodes, budget.num_envs, budget.max_new_tokens,
                                 os.path.join(folder, f"test-{label}.jsonl"), list(setup.tools))
            agree = inspect_cached(os.path.join(folder, "inspections.json"), label, checkpoint, setup.env, kwargs,
                                   setup.inspect_episodes, budget.num_envs, budget.max_new_tokens)["step_agreement"] \
                if setup.inspect_episodes else float("nan")
            cost = cell_cost(run) if run else {}
            curve = _curve(run) if run else []
            figures.append({"score": ev["mean_score"], "success": ev["success_rate"], "agreement": agree,
                            "tool_calls": ev.get("tool_calls", float("nan")), "cost": cost, "curve": curve})
        result[name] = figures
    if table == "B":
        result["teacher"] = [_teacher(setup, preset["teacher_epsilon"])]
    return result


def _curve(run: str) -> list[tuple[int, float]]:
    """(cumulative env steps, rollout success) per iteration of a run."""
    with open(os.path.join(run, "summary.json"), encoding="utf-8") as f:
        cycles = json.load(f)["cycles"]
    steps, points = 0, []
    for c in cycles:
        steps += c.get("env_steps", 0) + c.get("free_env_steps", 0)
        points.append((steps, c.get("success_rate", c.get("free_success_rate", float("nan")))))
    return points


def _teacher(setup: EnvSetup, epsilon: float) -> dict:
    result = evaluate_teacher(setup.env, parse_env_kwargs(setup.env_kwargs), epsilon, setup.test_episodes)
    return {"score": result.mean_score, "success": result.success_rate, "agreement": float("nan"),
            "tool_calls": float("nan"), "cost": {}, "curve": []}


# -- claims --------------------------------------------------------------------
def verdict(a: list[float], b: list[float]) -> dict:
    """The paired difference ``a - b`` over seeds with its 95% t interval, and what it says."""
    diff, low, high = paired_interval(a, b)
    word = "inconclusive" if not low == low else "holds" if low > 0 else "does not hold" if high < 0 else "inconclusive"
    return {"difference": diff, "interval": [low, high], "verdict": word}


def _claim(text: str, key: str, a_name: str, a: list[dict] | None, b_name: str, b: list[dict] | None, where: str) -> dict:
    if a is None or b is None:  # a row left out by --rows: the claim is listed, not decided
        missing = " and ".join(n for n, x in ((a_name, a), (b_name, b)) if x is None)
        return {"claim": text, "where": where, "measure": key, "difference": float("nan"), "interval": [float("nan")] * 2,
                "verdict": "not measured", "paragraph": f"{where}: {text}: NOT MEASURED (row {missing} not run)."}
    got = verdict([x[key] for x in a], [x[key] for x in b])
    low, high = got["interval"]
    got.update(claim=text, where=where, measure=key,
               paragraph=f"{where}: {text}: {got['verdict'].upper()}. {a_name} {np.mean([x[key] for x in a]):.3f} vs "
                         f"{b_name} {np.mean([x[key] for x in b]):.3f}; difference {got['difference']:+.3f}, 95% interval "
                         f"[{low:+.3f}, {high:+.3f}] over {len(a)} seeds.")
    return got


def _auc(figures: list[dict] | None) -> list[dict] | None:
    """Per seed, the mean rollout success over training (None where the row was not run)."""
    if figures is None:
        return None
    return [{"auc": float(np.nanmean([s for _, s in x["curve"]])) if x["curve"] else float("nan")} for x in figures]


def claims(tables: dict) -> list[dict]:
    """Every claim's verdict from the tables' numbers."""
    out = []
    for env, rows in tables.get("A", {}).items():
        at = f"Table A, {env}"
        out += [_claim("step reward beats the final reward alone (inverse reflection vs the same without step reward)",
                       "score", "stepagent-inverse", rows.get("stepagent-inverse"), "no step reward",
                       rows.get("inverse-no-step-reward"), at),
                _claim("step-level beats trajectory-level preference (StepAgent implicit vs ETO)", "score",
                       "stepagent-implicit", rows.get("stepagent-implicit"), "eto", rows.get("eto"), at),
                _claim("StepAgent (inverse) beats ETO", "score", "stepagent-inverse", rows.get("stepagent-inverse"), "eto",
                       rows.get("eto"), at),
                _claim("StepAgent (implicit) beats SFT", "score", "stepagent-implicit", rows.get("stepagent-implicit"), "sft",
                       rows.get("sft"), at),
                _claim("StepAgent (inverse) beats SFT", "score", "stepagent-inverse", rows.get("stepagent-inverse"), "sft",
                       rows.get("sft"), at),
                _claim("the agent's actions approach the expert's (agreement along the expert's path, implicit vs SFT)",
                       "agreement", "stepagent-implicit", rows.get("stepagent-implicit"), "sft", rows.get("sft"), at),
                _claim("PPO on the outcome reward improves on its SFT start", "score", "ppo-outcome", rows.get("ppo-outcome"),
                       "sft", rows.get("sft"), at),
                _claim("GRPO on the outcome reward improves on its SFT start", "score", "grpo-outcome",
                       rows.get("grpo-outcome"), "sft", rows.get("sft"), at),
                _claim("GiGPO improves on its SFT start", "score", "gigpo", rows.get("gigpo"), "sft", rows.get("sft"), at),
                _claim("GiGPO's step-group credit beats GRPO (GiGPO paper)", "score", "gigpo", rows.get("gigpo"),
                       "grpo-outcome", rows.get("grpo-outcome"), at)]
    for level, rows in tables.get("B", {}).items():
        at = f"Table B, {level}"
        out += [_claim("the student learns faster than PPO alone (mean rollout success over training)", "auc",
                       "llm4teach", _auc(rows.get("llm4teach")), "ppo", _auc(rows.get("ppo")), at),
                _claim("the student ends above its imperfect teacher (test success)", "success", "llm4teach",
                       rows.get("llm4teach"), "teacher", rows.get("teacher"), at)]
    for env, rows in tables.get("C", {}).items():
        at = f"Table C, {env}"
        out += [_claim("ARPO scores higher than GRPO", "score", "arpo", rows.get("arpo"), "grpo", rows.get("grpo"), at),
                _claim("ARPO uses fewer tool calls than GRPO (GRPO's calls minus ARPO's)", "tool_calls", "grpo",
                       rows.get("grpo"), "arpo", rows.get("arpo"), at)]
    return out


# -- report --------------------------------------------------------------------
def _cell(values: list[float], digits: int = 3) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    low, high = t_interval(values)
    return f"{np.mean(values):.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def table_markdown(rows: dict[str, list[dict]]) -> str:
    lines = ["| row | score | success | expert-path agreement | tool calls/ep | env steps | optimizer steps | minutes |",
             "|---|---|---|---|---|---|---|---|"]
    for name, figures in rows.items():
        costs = [f["cost"] for f in figures if f["cost"]]
        cost = [f"{np.mean([c[k] for c in costs]):.0f}" if costs else "-" for k in ("env_steps", "optimizer_steps")]
        minutes = f"{np.mean([c['seconds'] for c in costs]) / 60:.1f}" if costs else "-"
        lines.append(f"| {name} | {_cell([f['score'] for f in figures])} | {_cell([f['success'] for f in figures])} | "
                     f"{_cell([f['agreement'] for f in figures])} | {_cell([f['tool_calls'] for f in figures], 2)} | "
                     f"{cost[0]} | {cost[1]} | {minutes} |")
    return "\n".join(lines)


def with_earlier(out: str, preset_name: str, preset: dict, toy: bool, tables: dict) -> tuple[dict, dict[str, list[str]]]:
    """``tables`` plus the rows an earlier invocation into ``out`` reported and this one did not run.

    A table is filled a few rows per sitting (``--only``, ``--rows``); each row's cells stay cached in the same folders,
    so its figures are what running it again would read back. Only an earlier report of the same preset, model and size
    is used. Returns the merged tables (rows in the table's order) and, per ``"TABLE ENV"``, the rows read back.
    """
    path = os.path.join(out, "results.json")
    if not os.path.exists(path):
        return tables, {}
    with open(path, encoding="utf-8") as f:
        earlier = json.load(f)
    if (earlier.get("preset"), earlier.get("model"), earlier.get("toy")) != (preset_name, preset["model"], toy):
        return tables, {}
    merged: dict = {}
    read_back: dict[str, list[str]] = {}
    for t in "ABC":
        order = [name for name, _, _ in ALL_ROWS[t]] + ["teacher"]
        for where in (os.path.basename(_folder(out, t, s)) for s in preset[t]):
            now, before = tables.get(t, {}).get(where, {}), earlier["tables"].get(t, {}).get(where, {})
            rows = {name: now.get(name, before.get(name)) for name in order if name in now or name in before}
            if rows:
                merged.setdefault(t, {})[where] = rows
            if missing := [name for name in rows if name not in now]:
                read_back[f"{t} {where}"] = missing
    return merged, read_back


def write_report(out: str, preset_name: str, preset: dict, tables: dict, seconds: float, toy: bool = False,
                 read_back: dict[str, list[str]] | None = None) -> str:
    found = claims(tables)
    names = {"A": "Table A: StepAgent", "B": "Table B: LLM4Teach", "C": "Table C: ARPO"}
    parts = [f"# Reproduction, preset `{preset_name}`\n",
             f"Model `{preset['model']}`, seeds {preset['seeds']}; cells: mean over seeds with a 95% t interval over seeds "
             f"(the SFT start and the teacher are one policy: no interval). Wall time of this invocation: "
             f"{seconds / 60:.1f} min.\n"]
    if read_back:
        parts.append("Rows reported by an earlier invocation into this folder and not run by this one (their cells are "
                     "cached there): " + "; ".join(f"{where}: {', '.join(names)}" for where, names in read_back.items())
                     + ".\n")
    for t in "ABC":
        for where, rows in tables.get(t, {}).items():
            parts.append(f"## {names[t]}, {where}\n\n{table_markdown(rows)}\n")
    parts.append("## Claims (the interval decides)\n\n" + "\n".join(f"* {c['paragraph']}" for c in found) + "\n")
    parts.append("## Reference points (papers' figures, larger models and budgets; not ours)\n\n"
                 + "\n".join(f"* {r}" for r in REFERENCES) + "\n")
    text = "\n".join(parts)
    with open(os.path.join(out, "results.md"), "w", encoding="utf-8") as f:
        f.write(text)
    write_json(os.path.join(out, "results.json"), {"preset": preset_name, "model": preset["model"], "toy": toy,
                                                   "seeds": preset["seeds"], "tables": tables, "read_back": read_back or {}, "claims": found, "references": REFERENCES})
    _plots(out, tables)
    return text


def _plots(out: str, tables: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for t, key, label in (("A", "score", "test score"), ("C", "score", "test score")):
        if not tables.get(t):
            continue
        fig, axes = plt.subplots(1, len(tables[t]), figsize=(5.5 * len(tables[t]), 4), squeeze=False)
        for axis, (where, rows) in zip(axes[0], tables[t].items()):
            names = list(rows)
            means = [np.mean([f[key] for f in rows[n]]) for n in names]
            errors = [[m - (t_interval([f[key] for f in rows[n]])[0]) if len(rows[n]) > 1 else 0 for n, m in zip(names, means)],
                      [(t_interval([f[key] for f in rows[n]])[1]) - m if len(rows[n]) > 1 else 0 for n, m in zip(names, means)]]
            axis.bar(range(len(names)), means, yerr=np.nan_to_num(errors), capsize=3, color="tab:blue", alpha=0.8)
            axis.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=8)
            axis.set(title=where, ylabel=f"{label} (95% t interval over seeds)")
            axis.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(out, f"table_{t.lower()}.png"), dpi=110)
        plt.close(fig)
    if tables.get("B"):
        fig, axes = plt.subplots(1, len(tables["B"]), figsize=(5.5 * len(tables["B"]), 4), squeeze=False)
        for axis, (where, rows) in zip(axes[0], tables["B"].items()):
            for k, name in enumerate(("llm4teach", "ppo")):
                for j, figures in enumerate(rows[name]):
                    if figures["curve"]:
                        xs, ys = zip(*figures["curve"])
                        axis.plot(xs, ys, color=f"C{k}", alpha=0.8, label=name if j == 0 else None)
            axis.axhline(rows["teacher"][0]["success"], color="grey", linestyle="--", label="teacher (test)")
            axis.set(title=where, xlabel="env steps", ylabel="rollout success")
            axis.legend(fontsize=8)
            axis.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "table_b.png"), dpi=110)
        plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=PRESETS, default="cpu-small", help="cpu-small (2 CPU cores) or gpu (one large GPU)")
    parser.add_argument("--out", required=True, help="output folder (resumable: finished cells are read back)")
    parser.add_argument("--only", action="append", default=None,
                        help="repeatable: a table (A, B, C) or a cell TABLE:ENV (B: TABLE:ENV-LEVEL), e.g. A:StepGrid-v0")
    parser.add_argument("--rows", default=None,
                        help="comma-separated rows to run, e.g. sft,ppo-outcome,grpo-outcome (default: every row); the "
                             "report keeps the rows an earlier invocation into --out measured, and a claim whose rows "
                             "were never run is listed as not measured")
    parser.add_argument("--model", default=None, help="the model SFT starts from (default: the preset's; a hub id on a GPU)")
    parser.add_argument("--toy", action="store_true", help="the preset at toy size: tiny model, two seeds, a few steps")
    args = parser.parse_args(argv)
    preset = _presets()[args.preset]
    if args.toy:
        preset = toy(preset)
    if args.model:
        preset["model"] = args.model
    os.makedirs(args.out, exist_ok=True)
    began = time.perf_counter()
    tables: dict = {}
    rows = ALL_ROWS
    if args.rows:
        wanted = [r.strip() for r in args.rows.split(",") if r.strip()]
        known = sorted({name for table in rows.values() for name, _, _ in table})
        unknown = [r for r in wanted if r not in known]
        if unknown or not wanted:
            raise SystemExit(f"unknown rows {unknown or args.rows!r} in --rows; expected some of {', '.join(known)}")
        rows = {t: tuple(r for r in table if r[0] in wanted) for t, table in rows.items()}
    for t in "ABC":
        for setup in preset[t]:
            where = os.path.basename(_folder(args.out, t, setup))
            if not rows[t] or args.only and not any(o in (t, f"{t}:{where}") for o in args.only):
                continue
            tables.setdefault(t, {})[where] = run_table(t, setup, rows[t], preset, args.out)
    if not tables:
        raise SystemExit(f"--only {args.only} matched no table or cell of preset {args.preset}")
    tables, read_back = with_earlier(args.out, args.preset, preset, args.toy, tables)
    print(write_report(args.out, args.preset, preset, tables, time.perf_counter() - began, args.toy, read_back))
    write_json(os.path.join(args.out, "preset.json"), {"preset": args.preset, "toy": args.toy, "model": preset["model"],
                                                       "setups": {t: [asdict(s) for s in preset[t]] for t in "ABC"}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
