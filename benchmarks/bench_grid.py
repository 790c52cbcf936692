"""StepGrid-v0 speed, and how often its expert wins.

Prints, in one run:
* steps/s per level of a bare env under a random agent (uniform over the
  valid actions), of the same agent with ``expert_action()`` asked before
  every step (as ExpertStepReward does; most steps then leave the expert's
  plan, so it replans), and of the expert followed; with the ratio of
  bare to asked, and how many of the asked steps got ExpertUnavailable (a
  random agent on BabyAI levels now and then opens a box the bot needs);
* with ``--solve N``: the expert's win rate on the first N test tasks of
  every level, from reset and after 10 random actions, and every miss with
  its reason (episodes the random actions already ended are counted apart).

Usage: python benchmarks/bench_grid.py [--steps 3000] [--repeats 3] [--solve 0] [--levels L1,L2]
"""

from __future__ import annotations

import argparse
import collections
import random
import statistics
import time


def steps_per_second(level: str, num_steps: int, agent: str) -> tuple[float, int]:
    """Steps/s of ``agent`` ("random", "random+expert" or "expert") on ``level``'s test split,
    after a warm-up of 100 steps, and how many times the expert had no plan (ExpertUnavailable)."""
    import gymnasium as gym

    import stepagent_envs  # noqa: F401
    from stepagent_envs.grid import ExpertUnavailable

    env = gym.make("StepGrid-v0", level=level, split="test")
    rng = random.Random(0)
    _, info = env.reset(seed=0)
    episode = unavailable = 0
    for step in range(-100, num_steps):
        if step == 0:
            start, unavailable = time.perf_counter(), 0
        if agent == "expert":
            action = env.unwrapped.expert_action()
        else:
            if agent == "random+expert":
                try:
                    env.unwrapped.expert_action()
                except ExpertUnavailable:  # a random agent may open the box its mission names
                    unavailable += 1
            action = rng.choice(info["valid_actions"])
        _, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            episode += 1
            _, info = env.reset(seed=episode)
    return num_steps / (time.perf_counter() - start), unavailable


def expert_episode(env, task: str, prefix: int) -> str:
    """How the expert ends ``task`` after ``prefix`` random actions: "won", "prefix won", "prefix lost",
    or the miss ("lost", "truncated", "unavailable: ...")."""
    from stepagent_envs.grid import ExpertUnavailable

    _, info = env.reset(options={"task_id": task})
    rng = random.Random(task)
    for _ in range(prefix):
        _, _, terminated, truncated, info = env.step(rng.choice(info["valid_actions"]))
        if terminated or truncated:
            return "prefix won" if info["won"] else "prefix lost"
    while True:
        try:
            action = env.unwrapped.expert_action()
        except ExpertUnavailable as error:
            return f"unavailable: {error}"
        _, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return "won" if info["won"] else "lost" if terminated else "truncated"


def solve_rates(level: str, num_tasks: int) -> None:
    import gymnasium as gym

    import stepagent_envs  # noqa: F401

    env = gym.make("StepGrid-v0", level=level, split="test")
    tasks = env.unwrapped.task_ids()[:num_tasks]
    for prefix in (0, 10):
        ends = collections.Counter()
        misses = []
        for task in tasks:
            end = expert_episode(env, task, prefix)
            ends[end.split(":")[0]] += 1
            if end not in ("won", "prefix won", "prefix lost"):
                misses.append(f"{task}: {end}")
        played = num_tasks - ends["prefix won"] - ends["prefix lost"]
        print(f"  {level:<27} after {prefix:>2} random actions: expert won {ends['won']}/{played} "
              f"({100 * ends['won'] / played:.1f}%); random actions ended {num_tasks - played} "
              f"(won {ends['prefix won']}, lost {ends['prefix lost']})")
        for miss in misses:
            print(f"      miss {miss}")


def main() -> None:
    from stepagent_envs.grid.levels import LEVELS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000, help="steps per steps/s measurement")
    parser.add_argument("--repeats", type=int, default=3, help="steps/s measurements per agent (median quoted)")
    parser.add_argument("--solve", type=int, default=0, help="test tasks per level for the win rates (0: skip)")
    parser.add_argument("--levels", default=",".join(LEVELS), help="comma-separated levels")
    args = parser.parse_args()
    levels = args.levels.split(",")

    print(f"steps/s on the test split (median of {args.repeats} runs of {args.steps} steps; random agent over "
          "the valid actions)")
    print(f"  {'level':<27} {'bare':>8} {'+expert asked':>14} {'ratio':>6} {'expert followed':>16} "
          f"{'no plan':>8}")
    for level in levels:
        runs = {"random": [], "random+expert": [], "expert": []}
        for _ in range(args.repeats):  # interleaved, so load from other processes hits all three alike
            for agent, results in runs.items():
                results.append(steps_per_second(level, args.steps, agent))
        bare, asked, followed = (statistics.median(rate for rate, _ in runs[agent]) for agent in runs)
        no_plan = runs["random+expert"][0][1]
        print(f"  {level:<27} {bare:8.0f} {asked:14.0f} {bare / asked:5.1f}x {followed:16.0f} {no_plan:8d}")
    if args.solve:
        print(f"expert win rate on the first {args.solve} test tasks per level")
        for level in levels:
            solve_rates(level, args.solve)


if __name__ == "__main__":
    main()
