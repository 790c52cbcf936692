"""StepSciWorld-v0 against the official ``scienceworld.ScienceWorldEnv``, side by side, in one run.

Prints:

* steps/s on one action sequence, the gold paths of the first train
  variation of each of --tasks ("easy" simplifications), played by the
  official ``ScienceWorldEnv.step`` (which lists every valid action, the
  room, the inventory and the task on every call), by StepSciWorld-v0 with
  ``valid_actions=False`` and with ``valid_actions=True``, by our
  ``Engine.step`` alone (no env around it), and by the engine's
  ``PythonInterface.step`` plus its score, completion flag and move counter
  (what ``Engine.step`` called before, with the same JVM settings); median
  of --repeats runs after --warmup untimed runs (the configurations take
  turns), the slowest and fastest run, and the ratios to the official step;
* reset time (median over the tasks): StepSciWorld-v0 with valid actions
  off and on, and the official load plus reset;
* gold path generation per task: ``env.gold_path()`` the first time, on a
  fresh JVM (the engine's generation, a load plus its gold agent's run; the
  recording pass, see ``stepagent_envs/sciworld/gold.py``; the reload), and
  the engine's generation alone on a warm JVM;
* the JVM: heap cap, peak RSS during the valid-actions run, start and close
  times, and --cycles create / reset / close cycles of the env with the JVMs
  and Python threads left behind;
* with --expert N: the off-path expert's success on N episodes (tasks in
  turn, each on its first train variations): the gold path for a random
  number of steps, then --detour random valid actions other than ``focus
  on ...`` (a wrong focus fails the task at once), then ``expert_action()``
  until the episode ends, ``ExpertUnavailable`` or 2 x gold length + 30 steps.

Gold paths go to a fresh cache unless STEPAGENT_CACHE is set (then cached
paths are read, and the recording-pass times are file reads).

Usage: python benchmarks/bench_sciworld.py [--tasks boil,use-thermometer,...] [--repeats 5]
       [--warmup 5] [--cycles 100] [--expert 60] [--detour 3]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import threading
import time

TASKS = ("boil", "use-thermometer", "find-plant", "chemistry-mix", "power-component", "grow-plant",
         "lifespan-longest-lived", "inclined-plane-determine-angle")


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return int(f.read().split("VmHWM:")[1].split()[0]) / 1024


def compare(runs: dict, sequences, repeats: int, warmup: int) -> dict[str, list[float]]:
    """Steps/s of each ``run(task_id, actions)`` over every sequence, one value per timed turn. Runs
    take turns, so a change in the machine's load hits all of them alike; ``warmup`` untimed turns
    come first (the JVM's JIT keeps speeding the engine up for a few thousand steps)."""
    steps = sum(len(actions) for _, actions in sequences)
    rates = {name: [] for name in runs}
    for turn in range(warmup + repeats):
        for name, run in runs.items():
            elapsed = sum(run(task_id, actions) for task_id, actions in sequences)
            if turn >= warmup:
                rates[name].append(steps / elapsed)
    return rates


def speed(args, make) -> None:
    from scienceworld import ScienceWorldEnv

    from stepagent_envs.sciworld.engine import Engine

    bare = make(task=list(args.tasks), valid_actions=False)
    sequences, generation = [], {}
    for task in args.tasks:
        task_id = next(t for t in bare.unwrapped.task_ids() if t.rpartition("/")[0] == task)
        bare.reset(options={"task_id": task_id})
        start = time.perf_counter()
        generated = bare.unwrapped.gold_path()
        generation[task] = time.perf_counter() - start
        sequences.append((task_id, list(generated.actions)))

    def timed(prepare, step):
        """A run: ``prepare(task_id)`` (not timed), then ``step`` on each action (timed)."""
        def run(task_id, actions):
            prepare(task_id)
            start = time.perf_counter()
            for action in actions:
                step(action)
            return time.perf_counter() - start
        return run

    def ours(env):
        return timed(lambda task_id: env.reset(options={"task_id": task_id}), env.step)

    def loaded(engine_or_env):
        """``prepare`` for an object with the engine's ``load(task, variation, simplifications)``."""
        def load(task_id):
            task, _, variation = task_id.rpartition("/")
            engine_or_env.load(task, int(variation), "easy")
        return load

    official = ScienceWorldEnv("", envStepLimit=10**6)
    official_run = timed(loaded(official), official.step)
    engine = Engine(heap_mb=args.heap_mb)
    engine_run = timed(loaded(engine), engine.step)
    legacy = Engine(heap_mb=args.heap_mb)

    def legacy_step(action):
        server = legacy._server
        return server.step(action), server.getScore(), server.getCompleted(), server.getNumMoves()

    legacy_run = timed(loaded(legacy), legacy_step)

    listing = make(task=list(args.tasks), valid_actions=True)
    total = sum(len(actions) for _, actions in sequences)
    print(f"steps/s on the gold paths of {len(sequences)} tasks ({total} actions; median of {args.repeats} runs "
          f"after {args.warmup} warm-up runs, [slowest, fastest])")
    runs = {"official ScienceWorldEnv.step": official_run, "StepSciWorld valid_actions=False": ours(bare),
            "StepSciWorld valid_actions=True": ours(listing), "Engine.step alone": engine_run,
            "PythonInterface.step + 3 getters": legacy_run}
    rates = compare(runs, sequences, args.repeats, args.warmup)
    base = statistics.median(rates["official ScienceWorldEnv.step"])
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"  {name:34s} {rate:8.1f} [{min(values):7.1f}, {max(values):7.1f}]  ({rate / base:5.1f}x official)")
    print(f"  JVM heap cap {args.heap_mb} MiB; peak RSS of the valid-actions env's JVM "
          f"{peak_rss_mib(listing.unwrapped.engine_pid):.0f} MiB")

    print("\nreset time, median over the tasks (ms)")
    resets = {"StepSciWorld valid_actions=False": bare, "StepSciWorld valid_actions=True": listing}
    for name, env in resets.items():
        times = []
        for task_id, _ in sequences:
            start = time.perf_counter()
            env.reset(options={"task_id": task_id})
            times.append(time.perf_counter() - start)
        print(f"  {name:34s} {1000 * statistics.median(times):8.1f}")
    times = []
    for task_id, _ in sequences:
        task, _, variation = task_id.rpartition("/")
        start = time.perf_counter()
        official.load(task, int(variation), "easy")
        official.reset()
        times.append(time.perf_counter() - start)
    print(f"  {'official load + reset':34s} {1000 * statistics.median(times):8.1f}")

    print("\ngold path generation (s): env.gold_path() the first time (a fresh JVM: the engine's generation, "
          "the recording pass, the reload), and the engine's generation alone on a warm JVM")
    warm = []
    for task_id, actions in sequences:
        task, _, variation = task_id.rpartition("/")
        start = time.perf_counter()
        engine.gold_path(task, int(variation), "easy")
        warm.append(time.perf_counter() - start)
        print(f"  {task_id:40s} {len(actions):4d} actions  first time {generation[task]:6.2f}  "
              f"engine alone, warm {warm[-1]:6.2f}")
    print(f"  {'median':40s} {'':12s} first time {statistics.median(generation.values()):6.2f}  "
          f"engine alone, warm {statistics.median(warm):6.2f}")
    official.close()
    engine.close()
    legacy.close()
    bare.close()
    listing.close()


def lifecycle(args, make) -> None:
    from stepagent_envs.sciworld.engine import child_jvm_pids

    threads, jvms = threading.active_count(), child_jvm_pids()
    starts, closes = [], []
    for cycle in range(args.cycles):
        start = time.perf_counter()
        env = make(task="find-plant", valid_actions=False)
        env.reset(seed=cycle)
        starts.append(time.perf_counter() - start)
        start = time.perf_counter()
        env.close()
        closes.append(time.perf_counter() - start)
    time.sleep(0.2)
    left_jvms = [pid for pid in child_jvm_pids() if pid not in jvms]
    print(f"\n{args.cycles} create / reset / close cycles: make + first reset (JVM start) median "
          f"{statistics.median(starts):.2f} s, close median {statistics.median(closes):.2f} s; "
          f"JVMs left: {len(left_jvms)}, Python threads left: {threading.active_count() - threads}")


def expert(args, make) -> None:
    from stepagent_envs import ExpertUnavailable

    env = make(task="all", valid_actions=True)
    rng = random.Random(0)
    pools = {}
    for task_id in env.unwrapped.task_ids():
        pools.setdefault(task_id.rpartition("/")[0], []).append(task_id)
    tasks = list(pools)
    outcomes = {"won": 0, "lost": 0, "unavailable": 0, "step limit": 0}
    start = time.perf_counter()
    for episode in range(args.expert):
        task_id = pools[tasks[episode % len(tasks)]][episode // len(tasks)]
        _, info = env.reset(options={"task_id": task_id})
        gold = env.unwrapped.gold_path().actions
        terminated = False
        for action in gold[: rng.randrange(len(gold))]:
            _, _, terminated, _, info = env.step(action)
        for _ in range(args.detour):
            choices = [a for a in info["valid_actions"] if not a.startswith("focus on")]
            if terminated or not choices:
                break
            _, _, terminated, _, info = env.step(rng.choice(choices))
        outcome = "step limit"
        for _ in range(2 * len(gold) + 30):
            if terminated:
                break
            try:
                action = env.unwrapped.expert_action()
            except ExpertUnavailable:
                outcome = "unavailable"
                break
            _, _, terminated, _, info = env.step(action)
        if terminated:
            outcome = "won" if info["won"] else "lost"
        outcomes[outcome] += 1
    env.close()
    print(f"\noff-path expert on {args.expert} episodes (gold prefix, {args.detour} random non-focus valid actions, "
          f"then the expert; {time.perf_counter() - start:.0f} s): "
          + ", ".join(f"{name} {count}" for name, count in outcomes.items())
          + f"; success {outcomes['won'] / max(args.expert, 1):.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated tasks for the speed runs")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per configuration (median quoted)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs per configuration first")
    parser.add_argument("--heap-mb", type=int, default=512, help="JVM heap cap in MiB")
    parser.add_argument("--cycles", type=int, default=100, help="create / reset / close cycles (0: skip)")
    parser.add_argument("--expert", type=int, default=0, help="off-path expert episodes (0: skip)")
    parser.add_argument("--detour", type=int, default=3, help="random actions off the gold path per expert episode")
    args = parser.parse_args()
    args.tasks = tuple(args.tasks.split(","))

    import gymnasium as gym

    import stepagent_envs  # noqa: F401

    def make(**kwargs):
        return gym.make("StepSciWorld-v0", split="train", heap_mb=args.heap_mb, **kwargs)

    own_cache = "STEPAGENT_CACHE" not in os.environ
    os.environ.setdefault("STEPAGENT_CACHE", tempfile.mkdtemp(prefix="bench-sciworld-"))
    try:
        speed(args, make)
        if args.cycles:
            lifecycle(args, make)
        if args.expert:
            expert(args, make)
    finally:
        if own_cache:
            shutil.rmtree(os.environ["STEPAGENT_CACHE"], ignore_errors=True)


if __name__ == "__main__":
    main()
