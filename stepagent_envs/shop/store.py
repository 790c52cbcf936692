"""Where shop data lives: the embedded default catalogue and per-process sharing.

A shop (products, goals, search index) is loaded once per process and shared
by every env over the same data, so vector envs and pickled copies stay cheap.
The generated default catalogue and the search indexes are cached under
``$STEPAGENT_CACHE`` (default ``~/.cache/stepagent``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from ..bm25 import INDEX_VERSION, BM25Index
from ..cache import cache_root
from .data import SPLIT_SEED
from .tables import ShopData, load_shop_data

#: Size and seed of the embedded default catalogue.
DEFAULT_NUM_PRODUCTS = 1000
DEFAULT_SEED = 0
#: From this size of ``items_shuffle`` file on, a search index that is not cached yet is built
#: by a second process while this one builds the tables (1M products: about 1.5 GB).
PARALLEL_INDEX_BYTES = 64 * 2**20

_LOCK = threading.Lock()
_SHOPS: dict[tuple, Shop] = {}


def generated_data_dir(num_products: int = DEFAULT_NUM_PRODUCTS, seed: int = DEFAULT_SEED, show_progress: bool = False) -> Path:
    """The generated catalogue of that size and seed, generated on first use."""
    out = cache_root() / "shop" / f"generated-{num_products}-seed{seed}"
    if not (out / "generation.json").exists():
        from .generate import generate_catalogue

        generate_catalogue(out, num_products=num_products, seed=seed, show_progress=show_progress)
    return out


@dataclass
class Shop:
    """Everything an env over one data source shares."""

    data: ShopData
    search: BM25Index
    expert_queries: dict  #: goal id -> (query, rank of the target); filled by the expert


def _index_dir(items_file: Path) -> Path:
    st = items_file.stat()
    key = f"{items_file.resolve()}|{st.st_size}|{st.st_mtime_ns}|{INDEX_VERSION}"
    return cache_root() / "index" / hashlib.sha1(key.encode()).hexdigest()[:16]


def load_shop(data_dir: str | os.PathLike | None = None, goals: str = "synthetic", num_products: int = DEFAULT_NUM_PRODUCTS,
              seed: int = DEFAULT_SEED, show_progress: bool = False) -> Shop:
    """The shop over ``data_dir`` (or the generated catalogue of ``num_products``
    and ``seed`` when ``data_dir`` is None), loaded once per process."""
    if data_dir is None:
        data_dir = generated_data_dir(num_products, seed, show_progress)
    data_dir = Path(data_dir).resolve()
    key = (str(data_dir), goals)
    with _LOCK:
        shop = _SHOPS.get(key)
        if shop is None:
            items = list(data_dir.glob("items_shuffle*.json")) if data_dir.is_dir() else []
            builder = _start_index_build(items[0]) if len(items) == 1 else None
            try:
                data = load_shop_data(data_dir, goals=goals, seed=SPLIT_SEED, show_progress=show_progress)
            except BaseException:
                if builder is not None:
                    builder.kill()
                    _finish_index_build(builder, killed=True)
                raise
            if builder is not None:
                _finish_index_build(builder)
            texts = lambda: (p.search_text() for p in data.products)  # noqa: E731  (streamed from the tables)
            search = BM25Index(texts, cache_dir=_index_dir(items[0]), show_progress=show_progress)
            shop = _SHOPS[key] = Shop(data, search, {})
        return shop


def _start_index_build(items: Path) -> subprocess.Popen | None:
    """Start building a large catalogue's missing index in a second process (None: build it here, later)."""
    folder = _index_dir(items)
    if (folder / "done").exists() or items.stat().st_size < PARALLEL_INDEX_BYTES:
        return None
    root = str(Path(__file__).resolve().parents[2])  # the package importable in the child however it was found here
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    log = tempfile.TemporaryFile()  # not a pipe: a chatty child must never block on a full one
    try:
        proc = subprocess.Popen([sys.executable, "-m", "stepagent_envs.shop.build_index", str(items), str(folder)],
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    except OSError as err:
        log.close()
        logging.getLogger(__name__).warning("could not start the index builder (%s); indexing after the tables", err)
        return None
    proc.log = log
    return proc


def _finish_index_build(proc: subprocess.Popen, killed: bool = False) -> None:
    """Wait for the builder; a failed build is only slower: the index is then built here."""
    if proc.wait() != 0 and not killed:
        proc.log.seek(0)
        tail = proc.log.read().decode(errors="replace")[-2000:]
        logging.getLogger(__name__).warning("the index builder exited with %s; indexing here instead:\n%s",
                                            proc.returncode, tail)
    proc.log.close()
