"""Test settings: offline hub, a private cache, and the real-data samples when present."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run the tests marked slow (CI does)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow test: run with --run-slow (CI does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config):
    # A fresh cache per session, so a stale generated catalogue or index can never pass a test;
    # STEPAGENT_TEST_REUSE_CACHE=1 keeps the user's cache (faster local reruns).
    if os.environ.get("STEPAGENT_TEST_REUSE_CACHE") != "1":
        config._stepagent_cache = os.environ["STEPAGENT_CACHE"] = tempfile.mkdtemp(prefix="stepagent-test-cache-")


def pytest_unconfigure(config):
    cache = getattr(config, "_stepagent_cache", None)
    if cache is not None:
        shutil.rmtree(cache, ignore_errors=True)


def shared_data() -> Path | None:
    """``$STEPAGENT_SHARED_DATA`` (set by .ci/run to ../shared/data), if it exists."""
    path = os.environ.get("STEPAGENT_SHARED_DATA")
    return Path(path) if path and Path(path).is_dir() else None


@pytest.fixture(scope="session")
def webshop_dir() -> Path:
    """The real WebShop subset, or a skip saying how to provide it."""
    root = shared_data()
    if root is None or not (root / "webshop" / "items_shuffle.json").exists():
        pytest.skip("real WebShop sample absent: set STEPAGENT_SHARED_DATA to the shared/data folder")
    return root / "webshop"


def _sample_file(relative: str, what: str) -> Path:
    """A file of the shared data, or a skip saying how to provide it."""
    root = shared_data()
    path = None if root is None else root / relative
    if path is None or not path.exists():
        pytest.skip(f"real {what} sample absent: set STEPAGENT_SHARED_DATA to the shared/data folder")
    return path


@pytest.fixture(scope="session")
def hotpot_sample():
    """The real HotpotQA dev sample, or a skip saying how to provide it."""
    return _sample_file("hotpotqa/hotpot_dev_distractor_sample.json", "HotpotQA")


@pytest.fixture(scope="session")
def gsm8k_sample():
    """The real GSM8K test sample (60 problems), or a skip saying how to provide it."""
    return _sample_file("gsm8k/test_sample.jsonl", "GSM8K")


#: The smallest offline model the trainer tests build (seconds to train on CPU).
TINY_MODEL = dict(vocab_size=400, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64)


@pytest.fixture(scope="module")
def demos(tmp_path_factory) -> str:
    """Four StepShop-v0 expert episodes (train split, seed 0) as trajectory records."""
    import gymnasium as gym

    import stepagent_envs  # noqa: F401
    from stepagent_train.collect import collect_expert

    path = tmp_path_factory.mktemp("demos") / "demos.jsonl"
    collect_expert(gym.make("StepShop-v0", split="train"), path, 4, seed=0, show_progress=False)
    return str(path)


def assert_same_run(straight: dict, resumed: dict, straight_dir, resumed_dir) -> None:
    """Two runs' last checkpoints hold identical weights and their metrics (timings aside) are equal."""
    import json
    import os

    import torch
    from safetensors.torch import load_file

    a = load_file(os.path.join(straight["cycles"][-1]["checkpoint"], "model.safetensors"))
    b = load_file(os.path.join(resumed["cycles"][-1]["checkpoint"], "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    def metrics(run):
        with open(os.path.join(run, "metrics.jsonl"), encoding="utf-8") as f:
            return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in f]

    assert metrics(straight_dir) == metrics(resumed_dir)
