"""The shop's SQLite tables: the same products, goals and splits as WebShop's in-memory rules
(pinned), read on demand, rebuilt when the data changes, safe across a fork."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import shutil

import pytest

from stepagent_envs.shop import tables
from stepagent_envs.shop.store import generated_data_dir
from stepagent_envs.shop.tables import load_shop_data

# sha1 of every product, and of every goal in split order, as the in-memory loader built them
# (commit 3c716bf, before the tables): the tables must not change one price, cap or split.
PINNED = {
    "generated-1k": (1000, 3173, "90c92daca01f9f2197f66e248b4b0f1e0c887444", "532f4e6b52499ee72801862317072e445d1b8c31"),
    "real": (106, 413, "948e70edb555908cc2e9e23cdf24792a191faa7c", "8890c681ae98be9335865fb6e9c03a65da597bea"),
}


def fingerprint(data) -> tuple:
    products, goals = hashlib.sha1(), hashlib.sha1()
    for p in data.products:
        products.update(repr(dataclasses.astuple(p)).encode())
    for split in ("test", "dev", "train"):
        for g in data.splits[split]:
            goals.update(repr((split, dataclasses.astuple(g))).encode())
    return len(data.products), len(data.goals), products.hexdigest(), goals.hexdigest()


def test_the_tables_hold_what_the_in_memory_rules_built():
    assert fingerprint(load_shop_data(generated_data_dir())) == PINNED["generated-1k"]


def test_the_real_sample_too(webshop_dir):
    assert fingerprint(load_shop_data(webshop_dir)) == PINNED["real"]


def test_views_read_like_lists():
    data = load_shop_data(generated_data_dir())
    products, test = data.products, data.splits["test"]
    assert products[-1] == products[len(products) - 1] and products[2:5] == [products[2], products[3], products[4]]
    assert list(test) == [test[i] for i in range(len(test))] and test.ids() == [g.goal_id for g in test]
    with pytest.raises(IndexError, match="out of range for 1000 rows"):
        products[1000]
    goal = data.splits["dev"][3]
    assert data.goal(goal.goal_id) == goal and data.split_of[goal.goal_id] == "dev"
    assert products[data.index_of[goal.asin]].asin == goal.asin and goal.asin in data.index_of
    with pytest.raises(KeyError, match="unknown task_id 'nope'"):
        data.goal("nope")
    assert "nope" not in data.index_of and "nope" not in data.split_of


def _read_in_child(data, queue):
    queue.put((data.products[7].asin, data.splits["train"][5].goal_id))


def test_a_forked_child_reads_through_its_own_connection():
    data = load_shop_data(generated_data_dir())
    data.products[7]  # the parent's connection is open before the fork
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_read_in_child, args=(data, queue))
    child.start()
    child.join(60)
    assert queue.get(timeout=5) == (data.products[7].asin, data.splits["train"][5].goal_id)


def test_changed_data_is_read_again_and_a_failed_build_leaves_nothing(tmp_path, monkeypatch):
    folder = tmp_path / "shop"
    shutil.copytree(generated_data_dir(), folder)
    first = load_shop_data(folder)
    records = json.loads((folder / "items_shuffle.json").read_text())
    records[0]["name"] = "A renamed product"
    (folder / "items_shuffle.json").write_text(json.dumps(records))
    assert load_shop_data(folder).products[0].title == "A renamed product" != first.products[0].title
    (folder / "items_shuffle.json").write_text(json.dumps(records[:10]))  # changed again, and this build dies

    def boom(*args):
        raise RuntimeError("killed mid-build")

    monkeypatch.setattr(tables, "_write_goals", boom)
    with pytest.raises(RuntimeError, match="killed mid-build"):
        load_shop_data(folder)
    assert not [name for name in os.listdir(first.path.parent) if name.endswith(".tmp")]


def test_an_unwritable_cache_builds_in_a_temporary_folder(tmp_path, monkeypatch, caplog):
    folder = tmp_path / "data"
    shutil.copytree(generated_data_dir(), folder)
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("STEPAGENT_CACHE", str(blocked))
    data = load_shop_data(folder)
    assert len(data.products) == 1000 and "could not cache the shop tables" in caplog.text
    assert fingerprint(data) == PINNED["generated-1k"]


def test_human_goals_keep_the_products_attributes(webshop_dir, tmp_path):
    # items_ins_v2 gives every product its attributes (the reward reads them), whichever goals are asked for.
    sample = json.loads((webshop_dir / "items_human_ins_format_sample.json").read_text())
    products = json.loads((webshop_dir / "items_shuffle.json").read_text())
    (tmp_path / "items_human_ins.json").write_text(json.dumps({p["asin"]: e for p, e in zip(products, sample.values())}))
    for name in ("items_shuffle.json", "items_ins_v2.json"):
        shutil.copy(webshop_dir / name, tmp_path / name)
    human, synthetic = load_shop_data(tmp_path, goals="human"), load_shop_data(webshop_dir)
    assert [p.attributes for p in human.products] == [p.attributes for p in synthetic.products]
    assert human.products[0].attributes != ["DUMMY_ATTR"]


def _ids_agree(data) -> None:
    for split in ("test", "dev", "train"):
        goals = data.splits[split]
        ids = goals.ids()
        assert ids == [g.goal_id for g in goals] and len(set(ids)) == len(ids)
        for goal_id, goal in zip(ids, goals):  # a goal is rebuilt from its id, and knows its split
            assert data.goal(goal_id) == goal and data.split_of[goal_id] == split


def test_every_goal_is_found_by_its_id_and_odd_ids_are_not():
    data = load_shop_data(generated_data_dir())
    _ids_agree(data)
    asin = data.goals[0].asin
    for bad in [f"{asin}/01", f"{asin}/-1", f"{asin}/999", f"{asin.lower()}/0", "nope", "/0", f"{asin}/", 7, None]:
        with pytest.raises(KeyError):
            data.goal(bad)
        assert bad not in data.split_of


def test_human_goals_are_numbered_per_product(webshop_dir, tmp_path):
    sample = list(json.loads((webshop_dir / "items_human_ins_format_sample.json").read_text()).values())
    products = json.loads((webshop_dir / "items_shuffle.json").read_text())
    # two products with two instructions each: their ids are <asin>/0 and <asin>/1
    humans = {p["asin"]: e + (sample[i + 1] if i < 2 else []) for i, (p, e) in enumerate(zip(products, sample))}
    (tmp_path / "items_human_ins.json").write_text(json.dumps(humans))
    for name in ("items_shuffle.json", "items_ins_v2.json"):
        shutil.copy(webshop_dir / name, tmp_path / name)
    data = load_shop_data(tmp_path, goals="human")
    _ids_agree(data)
    ids = set(data.goals.ids())
    assert {f"{products[0]['asin'].upper()}/1", f"{products[1]['asin'].upper()}/1"} <= ids
