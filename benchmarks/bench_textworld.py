"""StepTextWorld-v0 speed: a bare step against a step with the expert asked, side by side.

For each game kind (test games, medium difficulty) the same recorded command
sequences (random walks over the admissible commands, from reset) are
replayed in each configuration, so every configuration visits the same
states:

* bare: ``valid_actions=False`` (no admissible commands, no expert);
* admissible: ``valid_actions=True`` (the admissible commands every step);
* bare + expert, admissible + expert: the same with ``expert_action()``
  asked before every step (the expert's plan is computed, the recorded
  command played);
* textworld.start's own env on the same commands, with no extra
  information and with ``admissible_commands`` and ``policy_commands``
  requested (computed every step), for reference.

Prints steps/s (median of --repeats runs) and the ratio bare / admissible + expert, and
the generation time of the games (generated into a fresh cache unless
STEPAGENT_CACHE is set).

Usage: python benchmarks/bench_textworld.py [--games custom,cooking,coin_collector,treasure_hunter]
       [--num-games 5] [--steps 30] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time


def record_walks(env, steps: int) -> list[tuple[str, list[str]]]:
    """One random walk of up to ``steps`` admissible commands from reset per game: (task_id, commands)."""
    walks = []
    for index, task_id in enumerate(env.unwrapped.task_ids()):
        rng = random.Random(index)
        _, info = env.reset(options={"task_id": task_id})
        commands = []
        for _ in range(steps):
            commands.append(rng.choice(info["valid_actions"]))
            _, _, terminated, truncated, info = env.step(commands[-1])
            if terminated or truncated:
                break
        walks.append((task_id, commands))
    return walks


def env_rate(env, walks, ask_expert: bool) -> float:
    """Steps/s of replaying ``walks`` on ``env`` (resets not timed)."""
    elapsed, steps = 0.0, 0
    for task_id, commands in walks:
        env.reset(options={"task_id": task_id})
        start = time.perf_counter()
        for command in commands:
            if ask_expert:
                env.unwrapped.expert_action()
            env.step(command)
        elapsed += time.perf_counter() - start
        steps += len(commands)
    return steps / elapsed


def textworld_rate(env, walks, request_infos) -> float:
    """Steps/s of replaying ``walks`` with ``textworld.start`` and ``request_infos`` (resets not timed)."""
    import textworld

    from stepagent_envs.textworld_env.store import game_files

    u = env.unwrapped
    elapsed, steps = 0.0, 0
    for task_id, commands in walks:
        z8, _ = game_files(u.game_spec, u.split, int(task_id.rpartition("/")[2]))
        game = textworld.start(str(z8), request_infos)
        game.reset()
        start = time.perf_counter()
        for command in commands:
            game.step(command)
        elapsed += time.perf_counter() - start
        steps += len(commands)
        game.close()
    return steps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", default="custom,cooking,coin_collector,treasure_hunter", help="game kinds")
    parser.add_argument("--difficulty", default="medium", help="difficulty preset (default: medium)")
    parser.add_argument("--num-games", type=int, default=5, help="test games per kind (default: 5)")
    parser.add_argument("--steps", type=int, default=30, help="random commands per walk (default: 30)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per configuration (median quoted)")
    args = parser.parse_args()

    own_cache = "STEPAGENT_CACHE" not in os.environ
    cache = os.environ.get("STEPAGENT_CACHE") or tempfile.mkdtemp(prefix="bench-textworld-")
    os.environ["STEPAGENT_CACHE"] = cache
    import gymnasium as gym
    from textworld import EnvInfos

    import stepagent_envs  # noqa: F401

    try:
        header = (f"{'game':<24} {'generate s/game':>15} {'bare':>6} {'admissible':>10} {'bare+expert':>11} "
                  f"{'adm+expert':>10} {'ratio':>6} {'tw bare':>8} {'tw adm+policy':>13}")
        print(f"steps/s, median of {args.repeats} runs over {args.num_games} test games x <= {args.steps} "
              "random admissible commands")
        print(header)
        for kind in args.games.split(","):
            kwargs = dict(split="test", game=kind, difficulty=args.difficulty, num_games=args.num_games)
            envs = {"bare": gym.make("StepTextWorld-v0", valid_actions=False, **kwargs),
                    "admissible": gym.make("StepTextWorld-v0", **kwargs)}
            start = time.perf_counter()
            generated = envs["admissible"].unwrapped.prepare()
            per_game = f"{(time.perf_counter() - start) / generated:.1f}" if generated else "cached"
            walks = record_walks(envs["admissible"], args.steps)

            def median(measure):
                measure()  # warm-up: the first replay loads each game's data
                return statistics.median(measure() for _ in range(args.repeats))

            bare = median(lambda: env_rate(envs["bare"], walks, False))
            admissible = median(lambda: env_rate(envs["admissible"], walks, False))
            bare_expert = median(lambda: env_rate(envs["bare"], walks, True))
            expert = median(lambda: env_rate(envs["admissible"], walks, True))
            tw_bare = median(lambda: textworld_rate(envs["bare"], walks, EnvInfos()))
            tw_full = median(lambda: textworld_rate(
                envs["bare"], walks, EnvInfos(admissible_commands=True, policy_commands=True)))
            print(f"{envs['bare'].unwrapped.game_spec.name:<24} {per_game:>15} {bare:>6.0f} {admissible:>10.0f} "
                  f"{bare_expert:>11.0f} {expert:>10.0f} {bare / expert:>5.1f}x {tw_bare:>8.0f} {tw_full:>13.0f}")
            for env in envs.values():
                env.close()
    finally:
        if own_cache:
            shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
