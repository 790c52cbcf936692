"""StepHotpot-v0 speed on the embedded corpus.

Prints, in one run:
* generation time of the embedded questions, and the cold / warm load of the
  test split with its corpus, each in a fresh process (the BM25 index built,
  then loaded from disk);
* steps/s of a bare env under two agents, with their ratio to the target
  (>= 2,000 steps/s): expert trajectories (the oracle asked every step), and a
  tool-mix agent (exact-title searches, searches for question words that miss
  and fall back to BM25, lookups, wrong finishes);
* the median (p50) search latency of a title hit and of a BM25 miss (the
  search cache cleared before each query).

Usage: python benchmarks/bench_hotpot.py [--steps 20000] [--repeats 3] [--queries 500]
Medians are quoted. A fresh temporary cache is used unless STEPAGENT_CACHE is set.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from common import steps_per_second

TARGET_STEPS_PER_S = 2000.0


def hotpot_rate(num_steps: int, agent: str) -> float:
    """Steps/s on the embedded test split: the expert's actions, or a tool mix."""
    import gymnasium as gym

    import stepagent_envs  # noqa: F401

    rng = random.Random(0)

    def choose(env, obs, info):
        if agent == "expert":
            return env.unwrapped.expert_action()
        question, roll = env.unwrapped.question, rng.random()
        words = info["task"].rstrip("?").split()
        if roll < 0.35:
            return f"search[{rng.choice(question.support)}]"
        if roll < 0.6:
            return "search[" + " ".join(rng.sample(words, min(3, len(words)))) + "]"
        if roll < 0.9:
            return f"lookup[{rng.choice(words)}]"
        return f"finish[{rng.choice(words)}]"

    return steps_per_second(gym.make("StepHotpot-v0", split="test"), choose, num_steps)


def search_latencies_ms(num_queries: int) -> tuple[float, float]:
    """Median ms of a search landing on a title and of one falling back to BM25."""
    from stepagent_envs.hotpot.store import load_local_corpus, load_questions

    corpus = load_local_corpus(None)
    questions = random.Random(0).sample(load_questions(None, "test").questions, num_queries)
    hits, misses = [], []
    for q in questions:
        start = time.perf_counter()
        assert corpus.search(q.support[0]).page is not None
        hits.append((time.perf_counter() - start) * 1000)
        corpus.index.search.cache_clear()
        start = time.perf_counter()
        assert corpus.search(q.question).page is None
        misses.append((time.perf_counter() - start) * 1000)
    return statistics.median(hits), statistics.median(misses)


def probe() -> float:
    """Runs in a fresh process: seconds to load the test split and the local corpus."""
    from stepagent_envs.hotpot import store

    start = time.perf_counter()
    store.load_questions(None, "test")
    store.load_local_corpus(None)
    return time.perf_counter() - start


def load_times() -> tuple[float, float, float]:
    """Seconds to generate the embedded questions, then a cold and a warm load (fresh processes)."""
    from stepagent_envs.hotpot import store

    start = time.perf_counter()
    store.generated_dir()
    generated = time.perf_counter() - start
    # The first load builds the BM25 index on disk, the second memory-maps it.
    loads = [float(subprocess.run([sys.executable, __file__, "--probe"], check=True, capture_output=True,
                                  text=True).stdout.split()[-1]) for _ in range(2)]
    return generated, loads[0], loads[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20000, help="steps per steps/s measurement")
    parser.add_argument("--repeats", type=int, default=3, help="steps/s measurements per agent (median quoted)")
    parser.add_argument("--queries", type=int, default=500, help="searches timed per kind (at most 1,000)")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(probe())
        return

    own_cache = "STEPAGENT_CACHE" not in os.environ
    os.environ["STEPAGENT_CACHE"] = cache = os.environ.get("STEPAGENT_CACHE") or tempfile.mkdtemp(prefix="bench-hotpot-")
    try:
        generated, cold, warm = load_times()
        print(f"embedded questions: generated in {generated:.1f} s; test split + corpus load: "
              f"cold {cold:.2f} s (BM25 index built), warm {warm:.2f} s")
        rates = {agent: statistics.median(hotpot_rate(args.steps, agent) for _ in range(args.repeats))
                 for agent in ("expert", "tool-mix")}
        print(f"steps/s on the embedded test split (median of {args.repeats} runs of {args.steps} steps; "
              f"target >= {TARGET_STEPS_PER_S:,.0f})")
        for agent, rate in rates.items():
            print(f"  {agent:<9}: {rate:9.0f}  ({rate / TARGET_STEPS_PER_S:.1f}x target)")
        hit, miss = search_latencies_ms(min(args.queries, 1000))
        print(f"search latency p50: title hit {hit:.3f} ms, BM25 miss {miss:.3f} ms (6,880 pages)")
    finally:
        if own_cache:
            shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
