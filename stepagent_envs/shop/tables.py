"""A shop's products and goals in an SQLite file, built once per data source and read on demand.

WebShop's own loader keeps every product in memory (about 16 GB for its 1.18M
products). Here :func:`load_shop_data` streams the data files once into an SQLite
file under ``$STEPAGENT_CACHE/shop/tables`` (keyed by the files' paths, sizes and
modification times, the goal source and the seed), and later loads only open it:
a product or goal is read and decoded when an env needs it (the most recent few
thousand are cached). The build keeps in memory only what goals need (each
instructed product's price and options) and the split shuffle's permutation.

Goals, prices and splits are exactly those of the in-memory rules in
:mod:`.data` (WebShop's): the same random draws in the same order, the split
shuffle applied to goal positions (``random.shuffle`` depends only on the length).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import math
import os
import random
import sqlite3
import tempfile
import threading
from array import array
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from tqdm import tqdm

from ..cache import cache_root
from ..records import DataError, iter_json, validate_json_file, validate_value
from .data import (
    _HUMAN, _HUMAN_FIX, _INSTRUCTED_ENTRY, _INSTRUCTED_FIX, _SHUFFLE_FIX, DEV_SIZE, GOAL_SOURCES, SPLIT_SEED,
    SPLIT_VERSION, TEST_SIZE, Goal, Product, _find_file, _price_cap, _product,
)
from .views import AsinIndex, Goals, Products, SplitOf, remember

#: Bump when the tables' layout or content rules change (old files are then rebuilt).
TABLES_VERSION = 4
# A goal is not a row: the goals of one source (an instructed product, or one human instruction) are
# its option combinations, so a source is stored once (a "plan", with the number ``first`` of its
# first goal in file order and the number ``k0`` of that goal among its product's) and its goals are
# rebuilt on demand; ``order`` maps a split position to a goal number (1M products: ~3.1M goals).
_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE products(idx INTEGER PRIMARY KEY, asin TEXT NOT NULL, row TEXT NOT NULL);
CREATE TABLE plans(pid INTEGER PRIMARY KEY, first INTEGER NOT NULL, k0 INTEGER NOT NULL, asin TEXT NOT NULL,
                   row TEXT NOT NULL);
CREATE TABLE arrays(name TEXT PRIMARY KEY, data BLOB NOT NULL);
"""
_BATCH = 5000
_NO_ENTRY = (None,)  # attributes of a product items_ins_v2 does not list


def load_shop_data(data_dir: str | os.PathLike, goals: str = "synthetic", seed: int = SPLIT_SEED,
                   show_progress: bool = False) -> ShopData:
    """The products, goals and splits of a WebShop-format data directory.

    Args:
        data_dir: folder with ``items_shuffle*.json`` and ``items_ins_v2*.json``
            (and ``items_human_ins*.json`` for human goals).
        goals: ``"synthetic"`` (one goal per instructed product and option
            combination, as WebShop) or ``"human"`` (the human instructions).
        seed: seed of the price draws, price caps and the split shuffle
            (WebShop uses 233; changing it changes the splits).
        show_progress: show a progress bar while the tables are built.

    Raises:
        FileNotFoundError: No such folder, or a file the goals need is missing.
        DataError: A file does not match WebShop's layout (the message names the record and field).
    """
    if goals not in GOAL_SOURCES:
        raise ValueError(f"unknown goals {goals!r}; expected one of {', '.join(GOAL_SOURCES)}")
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data_path {str(data_dir)!r} is not a directory; StepShop-v0 reads a WebShop data folder")
    items = _find_file(data_dir, "items_shuffle", True)
    # items_ins_v2 gives products their attributes whatever the goals; synthetic goals need it.
    instructed = _find_file(data_dir, "items_ins_v2", goals == "synthetic")
    human = _find_file(data_dir, "items_human_ins", True) if goals == "human" else None
    files = [p for p in (items, instructed, human) if p is not None]
    key = "|".join([str(TABLES_VERSION), str(SPLIT_VERSION), goals, str(seed)]
                   + [f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files])
    name = f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.sqlite"
    db = cache_root() / "shop" / "tables" / name
    if not db.exists():
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
            _build(db, items, instructed, human, seed, str(data_dir), show_progress)
        except OSError as err:  # a read-only cache: build beside the process, once
            logging.getLogger(__name__).warning("could not cache the shop tables in %s (%s); building them in a "
                                                "temporary folder", db.parent, err)
            db = Path(tempfile.mkdtemp(prefix="stepshop-")) / name
            _build(db, items, instructed, human, seed, str(data_dir), show_progress)
    return ShopData(db, str(data_dir))


# -- the build --------------------------------------------------------------------


_ENCODE = json.JSONEncoder(separators=(",", ":"), check_circular=False, ensure_ascii=False).encode


def _product_row(p: Product) -> str:
    return _ENCODE([p.asin, p.title, p.category, p.query, p.product_category, list(p.pricing), p.price_tag,
                       p.price, p.options, p.bullets, p.description, p.attributes, p.rating, p.reviews])


def _build(db: Path, items: Path, instructed: Path | None, human: Path | None, seed: int, source: str,
           show_progress: bool) -> None:
    """Write the tables to a file of this process's own, then move it into place."""
    tmp = db.with_name(f"{db.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        con.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        rng = random.Random(seed)
        goals = "human" if human is not None else "synthetic"
        instructions = _instructions(instructed) if instructed is not None else {}
        wanted = validate_json_file(_HUMAN, human, _HUMAN_FIX) if human is not None else instructions
        index_of, kept = _write_products(con, items, instructions, wanted, rng, show_progress)
        plan = _goal_plan(wanted, index_of, kept, goals)
        count = _write_goals(con, plan, goals, seed, rng)
        if not count:
            raise DataError(f"no {goals} goal in {source!r} refers to a product of its items_shuffle file")
        con.execute("CREATE INDEX plans_asin ON plans(asin)")
        con.execute("CREATE UNIQUE INDEX products_asin ON products(asin)")
        con.executemany("INSERT INTO meta VALUES (?, ?)", [("products", str(len(index_of))), ("goals", str(count))])
        con.commit()
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, db)


def _instructions(path: Path) -> dict[str, tuple]:
    """``items_ins_v2`` streamed: key -> (attributes, instruction, instruction attributes), in file
    order (a repeated key keeps its first place and its last value, as ``json.load``)."""
    interned: dict = {}
    entries: dict[str, tuple] = {}
    for key, value in iter_json(path, _INSTRUCTED_FIX, pairs=True):
        entry = validate_value(_INSTRUCTED_ENTRY, value, path, _INSTRUCTED_FIX, loc=(key,))
        attrs, text, wanted = entry.get("attributes"), entry.get("instruction"), entry.get("instruction_attributes")
        entries[key] = (tuple(interned.setdefault(a, a) for a in attrs) if attrs else None, text,
                        tuple(interned.setdefault(a, a) for a in wanted) if wanted else None)
    return entries


def product_records(items: Path, index_of: dict[str, int] | None = None) -> Iterator[tuple[str, dict]]:
    """(asin, record) of every product of an ``items_shuffle`` file, in file order, by WebShop's
    rules: a record without an asin is not a product, a repeated asin keeps its first record.
    Product ``i`` of the tables is the ``i``-th of these; ``index_of`` (if given) is filled
    with asin -> ``i`` as they come."""
    seen = {} if index_of is None else index_of
    for number, record in enumerate(iter_json(items, _SHUFFLE_FIX, unit="record")):
        if not isinstance(record, dict):
            shown = type(record).__name__ if isinstance(record, list) else repr(record)[:60]
            raise DataError(f"{items}: record {number}: expected an object, got {shown} ({type(record).__name__}); "
                            f"{_SHUFFLE_FIX}")
        if not record.get("asin"):
            continue
        asin = str(record["asin"]).strip().upper()
        if asin not in seen:
            seen[asin] = len(seen)
            yield asin, record


def _write_products(con: sqlite3.Connection, items: Path, instructions: dict, wanted: dict, rng: random.Random,
                    show_progress: bool) -> tuple[dict[str, int], dict[int, tuple]]:
    """Stream the products into the table (with their ``items_ins_v2`` attributes); return asin -> index
    and, for the products goals may name, (price, option names, their values)."""
    wanted_asins = {key.strip().upper() for key in wanted}
    index_of: dict[str, int] = {}
    kept: dict[int, tuple] = {}
    interned: dict[str, str] = {}  # option names and values repeat across products (1M products: ~0.3 GiB less)
    batch = []
    records = product_records(items, index_of)
    for asin, record in tqdm(records, desc="shop tables", unit=" products", disable=not show_progress):
        product = _product(record, instructions.get(asin, _NO_ENTRY)[0], rng)
        idx = index_of[asin]
        if asin in wanted_asins:
            names = tuple(interned.setdefault(n, n) for n in sorted(product.options))
            kept[idx] = (product.price, names,
                         tuple(tuple(interned.setdefault(v, v) for v in product.options[n]) for n in names))
        batch.append((idx, asin, _product_row(product)))
        if len(batch) >= _BATCH:
            con.executemany("INSERT INTO products VALUES (?, ?, ?)", batch)
            batch.clear()
    con.executemany("INSERT INTO products VALUES (?, ?, ?)", batch)
    if not index_of:
        raise DataError(f"{items}: no product records with an asin; {_SHUFFLE_FIX}")
    return index_of, kept


def _goal_plan(wanted: dict, index_of: dict, kept: dict, goals: str) -> list[tuple]:
    """(asin, price, option names, values, text, attributes[, options]) of every goal source, in file order."""
    plan = []
    for key, entry in wanted.items():
        asin = key.strip().upper()
        if asin not in index_of:
            continue
        price, names, values = kept[index_of[asin]]
        if goals == "synthetic":
            _, text, attrs = entry
            if text and attrs:
                plan.append((asin, price, names, values, text, attrs, None))
            continue
        for human in entry:  # WebShop drops human goals without attributes
            if human.get("instruction_attributes") and human.get("instruction"):
                plan.append((asin, price, (), (), human["instruction"], tuple(human["instruction_attributes"]),
                             tuple(str(o).lower() for o in human.get("instruction_options") or ())))
    return plan


def _write_goals(con: sqlite3.Connection, plan: list[tuple], goals: str, seed: int, rng: random.Random) -> int:
    """Store every goal source once, in file order, with its price cap; and the split shuffle's
    permutation of the goal numbers. Returns the number of goals."""
    firsts, rows, first = array("q"), [], 0
    per_asin: dict[str, int] = {}
    for pid, (asin, price, names, values, text, attrs, options) in enumerate(plan):
        cap, cap_text = _price_cap(price, rng)
        if goals == "synthetic":  # one goal per option combination
            size, k0, names = math.prod(len(v) for v in values), 0, list(names)
        else:  # one goal per instruction, numbered per product
            size, names = 1, None
            k0 = per_asin[asin] = per_asin.get(asin, -1) + 1
        firsts.append(first)
        rows.append((pid, first, k0, asin, _ENCODE([text.strip().rstrip("."), attrs, names, values, options, cap,
                                                     cap_text])))
        first += size
        if len(rows) >= _BATCH:
            con.executemany("INSERT INTO plans VALUES (?, ?, ?, ?, ?)", rows)
            rows.clear()
    con.executemany("INSERT INTO plans VALUES (?, ?, ?, ?, ?)", rows)
    order = array("q", range(first))  # 8 bytes a goal (a list of ints: ~40)
    random.Random(seed).shuffle(order)  # the permutation shuffling the goal list would apply (same swaps)
    con.executemany("INSERT INTO arrays VALUES (?, ?)", [("order", order), ("firsts", firsts)])
    return first


def _goal(asin: str, k0: int, plan: list, j: int) -> Goal:
    """Goal ``j`` of a source: its ``j``-th option combination (``itertools.product`` order)."""
    text, attrs, names, values, options, cap, cap_text = plan
    if names is None:  # a human instruction
        return Goal(f"{asin}/{k0}", asin, text + cap_text, tuple(attrs), tuple(options), None, cap)
    combo, rest = [], j
    for vals in reversed(values):  # the last option varies fastest
        rest, digit = divmod(rest, len(vals))
        combo.append(vals[digit])
    combo.reverse()
    option_text = ", and ".join(f"{n}: {v}" for n, v in zip(names, combo))
    return Goal(f"{asin}/{k0 + j}", asin, text + (f" with {option_text}" if option_text else "") + cap_text,
                tuple(attrs), tuple(combo), tuple(names), cap)


# -- reading ------------------------------------------------------------------------


class ShopData:
    """Products, goals and splits of one data directory, read from its tables on demand.

    Attributes:
        products: Every product, by index (a search returns indices).
        goals: Every goal, in split order: test, then dev, then train.
        splits: ``"train"``, ``"dev"``, ``"test"`` -> that split's goals (WebShop's rule:
            the first 500 shuffled goals are test, the next 1,000 dev).
        index_of: asin -> the product's index.
        split_of: goal id -> its split.
        source: The data directory, for messages.
    """

    def __init__(self, path: Path, source: str):
        self.path, self.source = path, source
        self._lock = threading.Lock()
        self._pid, self._con = None, None
        meta = dict(self._query("SELECT key, value FROM meta"))
        products, goals = int(meta["products"]), int(meta["goals"])
        arrays = dict(self._query("SELECT name, data FROM arrays"))
        self._order, self._firsts = array("q"), array("q")  # split position -> goal number; plan -> its first goal
        self._order.frombytes(arrays["order"])
        self._firsts.frombytes(arrays["firsts"])
        self._positions: array | None = None  # goal number -> split position, made on first use
        self._plans: dict[int, tuple] = {}  # pid -> (asin, k0, plan), oldest dropped first
        self.products: Sequence[Product] = Products(self, 0, products)
        self.goals: Sequence[Goal] = Goals(self, 0, goals)
        test, dev = min(TEST_SIZE, goals), min(TEST_SIZE + DEV_SIZE, goals)
        self.splits: dict[str, Sequence[Goal]] = {
            "test": Goals(self, 0, test), "dev": Goals(self, test, dev), "train": Goals(self, dev, goals),
        }
        self.index_of: Mapping[str, int] = AsinIndex(self, products)
        self.split_of: Mapping[str, str] = SplitOf(self, test, dev)

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            if self._pid != os.getpid():  # a connection never crosses a fork
                self._pid = os.getpid()
                self._con = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True,
                                            check_same_thread=False)
            return self._con.execute(sql, args).fetchall()

    def goal(self, goal_id: str) -> Goal:
        """Look a goal up by id; KeyError with a hint when unknown."""
        number = self._number(goal_id)
        if number is None:
            raise KeyError(f"unknown task_id {goal_id!r}; task ids look like '<ASIN>/<k>', e.g. "
                           f"{self.goals[0].goal_id!r}")
        return self._goal(number)

    def _goal(self, number: int) -> Goal:
        """The goal of that number (file order)."""
        pid = bisect.bisect_right(self._firsts, number) - 1
        try:
            asin, k0, plan = self._plans[pid]
        except KeyError:
            asin, k0, row = self._query("SELECT asin, k0, row FROM plans WHERE pid = ?", (pid,))[0]
            asin, k0, plan = remember(self._plans, pid, (asin, k0, json.loads(row)))
        return _goal(asin, k0, plan, number - self._firsts[pid])

    def _number(self, goal_id: str) -> int | None:
        """The number of the goal with that id, None when there is none."""
        asin, _, k = goal_id.rpartition("/") if isinstance(goal_id, str) else ("", "", "")
        if not k.isdigit() or str(int(k)) != k:
            return None
        k = int(k)
        for pid, first, k0 in self._query("SELECT pid, first, k0 FROM plans WHERE asin = ? ORDER BY pid", (asin,)):
            size = (self._firsts[pid + 1] if pid + 1 < len(self._firsts) else len(self._order)) - first
            if k0 <= k < k0 + size:
                return first + k - k0
        return None

    def _position(self, number: int) -> int:
        with self._lock:
            if self._positions is None:
                positions = array("q", bytes(8 * len(self._order)))
                for pos, n in enumerate(self._order):
                    positions[n] = pos
                self._positions = positions
        return self._positions[number]
