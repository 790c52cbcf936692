"""ExpertStepReward's own cost per step on StepShop-v0, the oracle's time excluded.

Replays one fixed action sequence (the expert's trajectories of the first
episodes, recorded once) on one env instance, three ways, side by side in each
repeat:

* bare: ``env.step(action)``;
* bare + oracle: ``env.unwrapped.expert_action()`` then ``env.step(action)``,
  which is what the wrapper does at least;
* wrapped: ``ExpertStepReward(env).step(action)``.

The replayed actions are the expert's own strings, which the ``exact`` metric
matches without normalising; ``--respell`` replays them upper-cased with spaces
inside the brackets (``CLICK [ BUY NOW ]``, the same action to the shop), so
that every step normalises both actions.

Only the steps are timed (resets are not), in this thread's CPU time, so time
spent descheduled by other load on shared CPUs does not count; the garbage
collector is off, and the three run episode by episode in a rotating order so
that drift in the machine's speed hits them alike. The wrapper's overhead is
wrapped - (bare + oracle); the target is at most 5% of a bare step. Medians over
the repeats are quoted; the verdict uses the median of the per-repeat ratios,
whose three terms were measured side by side, so the machine's load cancels out
of each ratio better than out of the medians of the terms.

Usage: python benchmarks/bench_wrappers.py [--steps 10000] [--repeats 11] [--metric exact] [--respell]
Set STEPAGENT_CACHE to reuse a generated catalogue.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import gymnasium as gym

import stepagent_envs  # noqa: F401
from wrappers import ExpertStepReward

TARGET = 0.05


def expert_episodes(env: gym.Env, num_steps: int) -> list[tuple[int, list[str]]]:
    """(seed, expert actions) of episodes seeded 0, 1, ... until ``num_steps`` steps."""
    episodes, total, seed = [], 0, 0
    while total < num_steps:
        env.reset(seed=seed)
        actions, done = [], False
        while not done:
            actions.append(env.unwrapped.expert_action())
            _, _, terminated, truncated, _ = env.step(actions[-1])
            done = terminated or truncated
        episodes.append((seed, actions))
        total += len(actions)
        seed += 1
    return episodes


def respell(action: str) -> str:
    """``action`` upper-cased with spaces inside its brackets: another spelling of the
    same shop action, which the ``exact`` metric must normalise."""
    return action.upper().replace("[", " [ ").replace("]", " ]")


def time_episode(env: gym.Env, seed: int, actions: list[str], ask_oracle: bool) -> float:
    """Seconds spent in the steps of one episode (and in the oracle calls if ``ask_oracle``)."""
    oracle = env.unwrapped.expert_action
    env.reset(seed=seed)
    start = time.thread_time()
    for action in actions:
        if ask_oracle:
            oracle()
        env.step(action)
    return time.thread_time() - start


def time_variants(
    variants: dict[str, tuple[gym.Env, bool]], episodes: list[tuple[int, list[str]]], shift: int
) -> dict[str, float]:
    """Seconds each variant spends on ``episodes``, the variants interleaved episode by
    episode in an order rotating by one per episode (and by ``shift``), so that drift
    in the machine's speed hits them alike."""
    names = list(variants)
    elapsed = dict.fromkeys(names, 0.0)
    gc.collect()
    gc.disable()
    try:
        for index, (seed, actions) in enumerate(episodes):
            for k in range(len(names)):
                name = names[(index + shift + k) % len(names)]
                env, ask_oracle = variants[name]
                elapsed[name] += time_episode(env, seed, actions, ask_oracle)
    finally:
        gc.enable()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10000, help="steps replayed per variant and repeat")
    parser.add_argument("--repeats", type=int, default=11, help="repeats (medians quoted)")
    parser.add_argument("--metric", default="exact", help="ExpertStepReward metric: exact, f1 or similarity")
    parser.add_argument("--respell", action="store_true", help="replay the actions upper-cased, spaced inside brackets")
    args = parser.parse_args()

    env = gym.make("StepShop-v0", split="test")
    wrapped = ExpertStepReward(env, metric=args.metric)
    episodes = expert_episodes(env, args.steps)
    if args.respell:
        episodes = [(seed, [respell(action) for action in actions]) for seed, actions in episodes]
    steps = sum(len(actions) for _, actions in episodes)
    variants = {"bare": (env, False), "bare + oracle": (env, True), "wrapped": (wrapped, False)}
    time_variants(variants, episodes, 0)  # warm the search and expert-query caches
    per_step: dict[str, list[float]] = {name: [] for name in variants}
    for repeat in range(args.repeats):
        for name, seconds in time_variants(variants, episodes, repeat).items():
            per_step[name].append(seconds / steps * 1e6)
    ratios = [(w - o) / b for b, o, w in zip(per_step["bare"], per_step["bare + oracle"], per_step["wrapped"])]

    median = {name: statistics.median(times) for name, times in per_step.items()}
    overhead = median["wrapped"] - median["bare + oracle"]
    ratio = statistics.median(ratios)
    spelling = "respelt" if args.respell else "as the expert spells them"
    print(f"StepShop-v0, {steps} expert steps ({spelling}) x {args.repeats} repeats, metric={args.metric!r}; "
          "median us/step:")
    for name, value in median.items():
        print(f"  {name:<14} {value:8.2f}")
    print(f"  oracle         {median['bare + oracle'] - median['bare']:8.2f}  (bare + oracle - bare)")
    print(f"  wrapper        {overhead:8.2f}  (wrapped - (bare + oracle))")
    print(f"wrapper / bare step: {overhead / median['bare']:.1%} from the medians above; per repeat "
          f"median {ratio:.1%} (min {min(ratios):.1%}, max {max(ratios):.1%})")
    print(f"target <= {TARGET:.0%} (per-repeat median, the three measured side by side): "
          f"{'met' if ratio <= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
