"""StepShop-v0's search index built in a second process beside the tables: the same texts,
the same index, and a failed builder only costs time."""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile

from stepagent_envs.bm25 import BM25Index
from stepagent_envs.shop import store
from stepagent_envs.shop.data import record_search_text
from stepagent_envs.shop.tables import load_shop_data, product_records


def _texts_agree(data_dir) -> None:
    products = load_shop_data(data_dir).products
    raw = [record_search_text(record) for _, record in product_records(next(data_dir.glob("items_shuffle*.json")))]
    assert len(raw) == len(products) > 0
    assert raw == [p.search_text() for p in products]


def test_raw_records_give_the_products_search_texts():
    _texts_agree(store.generated_data_dir())


def test_raw_records_give_the_products_search_texts_on_the_real_sample(webshop_dir):
    _texts_agree(webshop_dir)  # duplicated asins, records without one, odd options: the same rules as the tables


def test_the_second_process_builds_the_index_the_loader_would(tmp_path, monkeypatch):
    monkeypatch.setenv("STEPAGENT_CACHE", str(tmp_path))
    monkeypatch.setattr(store, "PARALLEL_INDEX_BYTES", 0)
    items = store.generated_data_dir() / "items_shuffle.json"
    folder = store._index_dir(items)
    builder = store._start_index_build(items)
    assert builder is not None
    store._finish_index_build(builder)
    assert builder.returncode == 0 and (folder / "done").exists()
    assert store._start_index_build(items) is None  # cached: nothing to start
    loaded = BM25Index(lambda: [], cache_dir=folder)  # read from the folder, never built
    products = load_shop_data(items.parent).products
    here = BM25Index(lambda: [p.search_text() for p in products])
    for query in ["red cotton shirt for men", "gluten free snack", "wireless bluetooth headphones", "zzzz"]:
        assert loaded.search(query) == here.search(query)


def test_a_small_catalogue_is_indexed_in_process(tmp_path, monkeypatch):
    monkeypatch.setenv("STEPAGENT_CACHE", str(tmp_path))
    assert store._start_index_build(store.generated_data_dir() / "items_shuffle.json") is None


def test_a_failed_builder_is_reported_and_only_slower(caplog):
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit('no space left on device')"],
                            stdout=subprocess.DEVNULL, stderr=log)
    proc.log = log
    with caplog.at_level(logging.WARNING):
        store._finish_index_build(proc)
    assert "exited with 1" in caplog.text and "no space left on device" in caplog.text
