"""Builds a shop's search index in a process of its own: ``python -m stepagent_envs.shop.build_index ITEMS FOLDER``.

:func:`.store.load_shop` starts it for a large catalogue whose index is not cached, so the
index (tokenising every product's text) is built on a second core while the loading process
streams the same file into the tables. It reads the ``items_shuffle`` file itself: product
``i`` is the ``i``-th of :func:`.tables.product_records`, as in the tables, and its text is
``Product.search_text`` (no price draw, so the tables' random draws are untouched).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..bm25 import BM25Index
from .data import record_search_text
from .tables import product_records


def build_index(items: str | Path, folder: str | Path) -> None:
    """Index the products of ``items`` and save the index to ``folder``."""
    BM25Index(lambda: (record_search_text(record) for _, record in product_records(Path(items))), cache_dir=folder)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: python -m stepagent_envs.shop.build_index ITEMS_FILE INDEX_FOLDER (got {sys.argv[1:]})")
    build_index(sys.argv[1], sys.argv[2])
