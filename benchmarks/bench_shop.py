"""StepShop-v0 speed and memory.

Prints, in one run:
* steps/s on the embedded 1k catalogue: random valid actions (a bare env, the
  expert never asked) and expert trajectories (the oracle asked every step),
  side by side, with their ratio;
* for each generated catalogue size (default 1k, 100k, 1M): generation time,
  cold load (stream the files into the SQLite tables + build the BM25 index),
  warm load (tables and index cached on disk), RSS after loading and its peak
  (at a cold load of a large catalogue a second process builds the search index
  meanwhile: the peak is the largest sum of both, sampled every 0.1 s; "peaks
  summed" adds each process's own peak, an upper bound),
  and the median (p50) search latency, each measured in a fresh subprocess,
  against the targets at 1M (cold <= 90 s, warm <= 10 s, peak RSS <= 2.5 GiB,
  search p50 <= 10 ms).

Usage: python benchmarks/bench_shop.py [--sizes 1000,100000,1000000] [--steps 20000]
Medians are quoted; set STEPAGENT_CACHE to keep generated catalogues between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from common import steps_per_second

TARGETS_1M = {"cold_s": 90.0, "warm_s": 10.0, "peak_gib": 2.5, "search_p50_ms": 10.0}


def shop_rate(num_steps: int, use_expert: bool) -> float:
    """Steps/s on the 1k catalogue: the expert's actions, or random valid ones."""
    import gymnasium as gym

    import stepagent_envs  # noqa: F401

    rng = random.Random(0)

    def choose(env, obs, info):
        if use_expert:
            return env.unwrapped.expert_action()
        if info["valid_actions"]:
            return rng.choice(info["valid_actions"])
        return "search[" + " ".join(rng.sample(info["task"].split(), 3)) + "]"

    return steps_per_second(gym.make("StepShop-v0", split="test"), choose, num_steps)


def _rss_gib() -> tuple[float, float]:
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    kib = lambda k: int(fields[k].split()[0]) / 2**20  # noqa: E731
    return kib("VmRSS"), kib("VmHWM")


class TreeRSS(threading.Thread):
    """Samples the resident memory of this process plus its children every 0.1 s; ``peak`` is the largest sum."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.stop = 0.0, threading.Event()

    def run(self) -> None:
        me = str(os.getpid())
        while not self.stop.wait(0.1):
            total = 0
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        parent = f.read().rsplit(")", 1)[1].split()[1]
                    if pid == me or parent == me:
                        with open(f"/proc/{pid}/statm") as f:
                            total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
                except (OSError, IndexError):  # a process that just ended
                    continue
            self.peak = max(self.peak, total / 2**30)


def probe(size: int) -> dict:
    """Runs in a fresh process: load the generated catalogue of ``size`` and time searches."""
    from stepagent_envs.shop import store

    start = time.perf_counter()
    data_dir = store.generated_data_dir(size, show_progress=False)
    generated = time.perf_counter() - start
    sampler = TreeRSS()
    sampler.start()
    start = time.perf_counter()
    shop = store.load_shop(data_dir)
    load = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    rss, peak = _rss_gib()
    # A large catalogue's index is built by a second process at the same time: its memory counts too.
    builder_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    rng = random.Random(0)
    queries = [" ".join(g.instruction.split(" with ")[0].split()[:8]) for g in rng.sample(shop.data.goals, 200)]
    latencies = []
    for q in queries:
        shop.search.search.cache_clear()
        t = time.perf_counter()
        shop.search.search(q)
        latencies.append((time.perf_counter() - t) * 1000)
    return {"size": size, "products": len(shop.data.products), "goals": len(shop.data.goals),
            "generate_s": generated, "load_s": load, "rss_gib": rss, "peak_gib": max(peak, sampler.peak),
            "peaks_summed_gib": peak + builder_peak,
            "search_p50_ms": statistics.median(latencies)}


def run_probe(size: int, cache: str) -> dict:
    env = {**os.environ, "STEPAGENT_CACHE": cache}
    out = subprocess.run([sys.executable, __file__, "--probe", str(size)], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,100000,1000000", help="comma-separated catalogue sizes to load")
    parser.add_argument("--steps", type=int, default=20000, help="steps per steps/s measurement")
    parser.add_argument("--repeats", type=int, default=3, help="steps/s measurements per agent (median quoted)")
    parser.add_argument("--probe", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe is not None:
        print(json.dumps(probe(args.probe)))
        return

    own_cache = "STEPAGENT_CACHE" not in os.environ
    cache = os.environ.get("STEPAGENT_CACHE") or tempfile.mkdtemp(prefix="bench-shop-")
    os.environ["STEPAGENT_CACHE"] = cache
    try:
        random_sps = statistics.median(shop_rate(args.steps, False) for _ in range(args.repeats))
        expert_sps = statistics.median(shop_rate(args.steps, True) for _ in range(args.repeats))
        print("steps/s on the 1k catalogue (median of %d runs of %d steps; target >= 2,000)" % (args.repeats, args.steps))
        print(f"  random valid actions : {random_sps:9.0f}  ({random_sps / 2000:.1f}x target)")
        print(f"  expert trajectories  : {expert_sps:9.0f}  ({expert_sps / 2000:.1f}x target; "
              f"{expert_sps / random_sps:.2f}x the random-agent rate)")
        print()
        head = (f"{'products':>9} {'goals':>8} {'generate s':>10} {'cold load s':>11} {'cold peak GiB':>13} {'peaks summed':>12} "
                f"{'warm load s':>11} {'warm RSS GiB':>12} {'search p50 ms':>13}")
        print(head)
        for size in (int(s) for s in args.sizes.split(",")):
            shutil.rmtree(os.path.join(cache, "index"), ignore_errors=True)  # cold: the index and tables are built
            shutil.rmtree(os.path.join(cache, "shop", "tables"), ignore_errors=True)
            cold = run_probe(size, cache)
            warm = run_probe(size, cache)
            print(f"{cold['products']:>9} {cold['goals']:>8} {cold['generate_s']:>10.1f} {cold['load_s']:>11.1f} "
                  f"{cold['peak_gib']:>13.2f} {cold['peaks_summed_gib']:>12.2f} {warm['load_s']:>11.1f} {warm['rss_gib']:>12.2f} "
                  f"{warm['search_p50_ms']:>13.2f}", flush=True)
            if size == 1_000_000:
                print("  1M vs targets: cold load %.2fx, warm load %.2fx, peak RSS %.2fx, search p50 %.2fx of the limit "
                      "(<= 1 meets it)" % (cold["load_s"] / TARGETS_1M["cold_s"], warm["load_s"] / TARGETS_1M["warm_s"],
                                           max(cold["peak_gib"], warm["peak_gib"]) / TARGETS_1M["peak_gib"],
                                           warm["search_p50_ms"] / TARGETS_1M["search_p50_ms"]))
    finally:
        if own_cache:
            shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
