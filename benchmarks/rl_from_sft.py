"""On-policy RL from one SFT checkpoint, several seeds: does it improve the test score over SFT?

    python benchmarks/rl_from_sft.py --env StepGrid-v0 --sft-model tiny --out runs/rl-grid
    python benchmarks/rl_from_sft.py --env StepShop-v0 --start runs/demo/sft --out runs/rl-shop --seeds 0
    python benchmarks/rl_from_sft.py --env StepShop-v0 --sft-model smollm2-135m --algos eto,stepagent,stepagent_irl ...

Steps: expert demos of the train split and SFT on them (or ``--start``, an
existing SFT checkpoint); then for every algorithm (``--algos``, e.g.
``grpo:outcome,grpo:step,ppo:outcome``) and seed a run from that checkpoint;
then every policy (SFT and each run's last iteration, not a dev pick) is
evaluated greedily on the first ``--test-episodes`` test tasks. Writes
``results.json``, ``results.md`` (test success and score with 95% bootstrap
intervals over tasks; the mean over seeds with a t interval over seeds) and
``curves.png`` (rollout success and return per iteration, one line per seed).
Every cell is resumable: a finished run or evaluation is read back, never redone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from stepagent_envs.evaluate import EvalResult, format_table  # noqa: E402
from stepagent_train.checkpoint import latest_checkpoint, write_json  # noqa: E402
from stepagent_train.config import parse_env_kwargs  # noqa: E402
from stepagent_train.experiments import (  # noqa: E402
    FROM_DEMOS, Budget, cell_done, evaluate_cached, evaluate_teacher, inspect_cached, t_interval, train_cell,
)
from stepagent_train.stages import collect_demos, sft_stage  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="StepGrid-v0", help="env id every run trains and is tested on")
    parser.add_argument("--env-kwargs", default=None, help="gym.make arguments as JSON, e.g. '{\"max_steps\": 64}'")
    parser.add_argument("--out", required=True, help="output folder (resumable)")
    parser.add_argument("--start", default=None, help="an SFT checkpoint or run folder to start from (skips demos and SFT)")
    parser.add_argument("--sft-model", default="tiny", help="model SFT starts from when --start is not given")
    parser.add_argument("--demos", type=int, default=200, help="expert episodes for SFT")
    parser.add_argument("--sft-steps", type=int, default=300, help="SFT optimizer steps (without --start)")
    parser.add_argument("--sft-lr", type=float, default=3e-3, help="SFT learning rate (without --start)")
    parser.add_argument("--algos", default="grpo:outcome,grpo:step,ppo:outcome",
                        help="comma list of algorithm:reward; algorithms: grpo, rloo, gigpo, ppo, llm4teach, arpo; and, "
                             "learning from the expert's demos with no reward part: eto, stepagent (implicit reflection, "
                             "step-DPO), stepagent_irl (inverse reflection)")
    parser.add_argument("--seeds", default="0,1,2", help="comma list of seeds, one run per algorithm and seed")
    parser.add_argument("--iterations", type=int, default=6, help="iterations (RL), cycles (StepAgent) or rounds (ETO) per run")
    parser.add_argument("--tasks", type=int, default=8, help="tasks per iteration")
    parser.add_argument("--group-size", type=int, default=4, help="GRPO group size and ARPO's rollout budget per task "
                        "(PPO plays each task once)")
    parser.add_argument("--initial-rollouts", type=int, default=None,
                        help="arpo: rollouts per task from reset before branching (default: half the budget)")
    parser.add_argument("--max-new-tokens", type=int, default=48, help="longest generated action")
    parser.add_argument("--tools", default="python,search,lookup",
                        help="actions counted as tool calls in the test table (comma list of tool names)")
    parser.add_argument("--teacher-epsilon", type=float, default=0.3,
                        help="llm4teach: the oracle teacher's mass on non-expert actions; the teacher alone is "
                             "evaluated too (acting by its distribution)")
    parser.add_argument("--k", type=int, default=2, help="stepagent, stepagent_irl: actions sampled per inspected state "
                        "(--tasks expert trajectories are inspected per cycle; eto explores --tasks tasks per round)")
    parser.add_argument("--irl-rollouts", default="prefix", help="stepagent_irl: prefix, free or both")
    parser.add_argument("--sft-weight", type=float, default=0.0, help="stepagent, eto: weight of the SFT term on the expert's actions")
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate of every run")
    parser.add_argument("--batch-size", type=int, default=16, help="micro-batch size (ETO: pairs per optimizer step, one pair per micro-batch)")
    parser.add_argument("--update-epochs", type=int, default=1, help="on-policy passes over an iteration's turns")
    parser.add_argument("--max-prompt-tokens", type=int, default=None, help="prompt budget in tokens (SFT default 512)")
    parser.add_argument("--max-turns", type=int, default=None, help="past turns kept in prompts (SFT and every run)")
    parser.add_argument("--mixed-precision", default="no", help="no or bf16")
    parser.add_argument("--test-episodes", type=int, default=50, help="first N test tasks every policy is evaluated on (greedy)")
    parser.add_argument("--inspect-episodes", type=int, default=20,
                        help="first N test tasks of the step agreement along the expert's path (0: none)")
    parser.add_argument("--num-envs", type=int, default=16, help="envs played in parallel (one batched policy call per step)")
    args = parser.parse_args()
    env_kwargs = parse_env_kwargs(args.env_kwargs)
    os.makedirs(args.out, exist_ok=True)

    start = args.start
    if start is None:
        demos = collect_demos(args.env, env_kwargs, args.demos, 0, os.path.join(args.out, "demos.jsonl"))
        start = sft_stage(demos, os.path.join(args.out, "sft"), dict(
            model=args.sft_model, max_steps=args.sft_steps, learning_rate=args.sft_lr, batch_size=16,
            max_prompt_tokens=args.max_prompt_tokens or 512, max_turns=args.max_turns, seed=0,
            mixed_precision=args.mixed_precision))
    start = latest_checkpoint(start) or start

    demos = os.path.join(args.out, "demos.jsonl")
    if any(spec.split(":")[0] in FROM_DEMOS for spec in args.algos.split(",")):
        collect_demos(args.env, env_kwargs, args.demos, 0, demos)
    budget = Budget(iterations=args.iterations, tasks=args.tasks, group_size=args.group_size,
                    initial_rollouts=args.initial_rollouts, k=args.k, lr=args.lr, batch_size=args.batch_size,
                    update_epochs=args.update_epochs, sft_weight=args.sft_weight, irl_rollouts=args.irl_rollouts,
                    teacher_epsilon=args.teacher_epsilon, max_new_tokens=args.max_new_tokens,
                    max_prompt_tokens=args.max_prompt_tokens, max_turns=args.max_turns,
                    mixed_precision=args.mixed_precision, num_envs=args.num_envs)
    runs: dict[str, list[str]] = {}
    for spec in args.algos.split(","):
        algorithm, _, reward = spec.partition(":")
        name = algorithm if algorithm in FROM_DEMOS and not reward else f"{algorithm}-{reward or 'outcome'}"
        for seed in [int(s) for s in args.seeds.split(",")]:
            folder = os.path.join(args.out, f"{name}-seed{seed}")
            runs.setdefault(name, []).append(folder)
            if not cell_done(folder, args.iterations):
                train_cell(algorithm, reward, args.env, args.env_kwargs, seed, folder, start, demos, budget)

    todo = {"sft": start} | {os.path.basename(f): latest_checkpoint(f) for folders in runs.values() for f in folders}
    tools = args.tools.split(",")
    evaluations = {name: evaluate_cached(os.path.join(args.out, "evaluations.json"), name, checkpoint, args.env, env_kwargs,
                                         args.test_episodes, args.num_envs, args.max_new_tokens,
                                         os.path.join(args.out, f"test-{name}.jsonl"), tools)
                   for name, checkpoint in todo.items()}
    if args.inspect_episodes:
        for name, checkpoint in todo.items():
            evaluations[name]["expert_path_agreement"] = inspect_cached(
                os.path.join(args.out, "inspections.json"), name, checkpoint, args.env, env_kwargs, args.inspect_episodes,
                args.num_envs, args.max_new_tokens)["step_agreement"]
    if "llm4teach" in args.algos:
        evaluations["teacher"] = asdict(evaluate_teacher(args.env, env_kwargs, args.teacher_epsilon, args.test_episodes))
    _report(args, start, runs, evaluations)


def _result(evaluation: dict) -> EvalResult:
    return EvalResult(**{k: v for k, v in evaluation.items() if k not in ("tool_calls", "expert_path_agreement")})


def _report(args, start: str, runs: dict[str, list[str]], evaluations: dict[str, dict]) -> None:
    table = [_result(evaluations["sft"])] + [_result(evaluations[os.path.basename(f)])
                                                  for folders in runs.values() for f in folders]
    rows = [f"| {name} | {evaluations[name]['mean_score']:.3f} | - | {evaluations[name]['success_rate']:.3f} | - | "
            f"{evaluations[name].get('expert_path_agreement', float('nan')):.3f} | - | "
            f"{evaluations[name].get('tool_calls', float('nan')):.2f} | - |" for name in ("sft", "teacher") if name in evaluations]
    if "teacher" in evaluations:
        table.insert(1, _result(evaluations["teacher"]))
    curves = {}
    for name, folders in runs.items():
        scores = [evaluations[os.path.basename(f)]["mean_score"] for f in folders]
        wins = [evaluations[os.path.basename(f)]["success_rate"] for f in folders]
        calls = [evaluations[os.path.basename(f)].get("tool_calls", float("nan")) for f in folders]
        agree = [evaluations[os.path.basename(f)].get("expert_path_agreement", float("nan")) for f in folders]
        cells = [f"{np.mean(v):.3f} | [{t_interval(v)[0]:.3f}, {t_interval(v)[1]:.3f}]" for v in (scores, wins, agree)]
        c_low, c_high = t_interval(calls)
        rows.append(f"| {name} | {' | '.join(cells)} | {np.mean(calls):.2f} | [{c_low:.2f}, {c_high:.2f}] |")
        curves[name] = [[(c["cycle"], c.get("success_rate", c.get("free_success_rate", np.nan)),
                          c.get("mean_return", c.get("mean_turn_reward", np.nan))) for c in
                         json.load(open(os.path.join(f, "summary.json"), encoding="utf-8"))["cycles"]] for f in folders]
    agree_on = f"on the first {args.inspect_episodes} test tasks" if args.inspect_episodes else "(not measured: --inspect-episodes 0)"
    text = (f"# RL from SFT on {args.env} ({args.test_episodes} test tasks, greedy)\n\nStart: `{start}`\n\n"
            "Per run (95% bootstrap intervals over tasks):\n\n```\n" + format_table(table) + "\n```\n\n"
            "Over seeds (means over seeds with 95% t intervals over seeds: test score, success, step agreement with "
            f"the expert along the expert's path {agree_on}, tool calls per episode):\n\n"
            "| policy | score | 95% CI | success | 95% CI | expert-path agree | 95% CI | tool calls/ep | 95% CI |\n"
            "|---|---|---|---|---|---|---|---|---|\n"
            + "\n".join(rows) + "\n")
    with open(os.path.join(args.out, "results.md"), "w", encoding="utf-8") as f:
        f.write(text)
    write_json(os.path.join(args.out, "results.json"), {"args": vars(args), "start": start, "evaluations": evaluations,
                                                          "curves": curves})
    _plot(curves, os.path.join(args.out, "curves.png"), args.env)
    print(text)


def _plot(curves: dict, path: str, env: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (name, seeds) in enumerate(curves.items()):
        for j, points in enumerate(seeds):
            xs = [p[0] for p in points]
            for axis, column in ((axes[0], 1), (axes[1], 2)):
                axis.plot(xs, [p[column] for p in points], color=colours[k % len(colours)], alpha=0.8,
                          label=name if j == 0 else None)
    axes[0].set(xlabel="iteration", ylabel="rollout success rate", title=f"{env}: success while training")
    axes[1].set(xlabel="iteration", ylabel="rollout mean return (the run's reward)", title="return while training")
    for axis in axes:
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
