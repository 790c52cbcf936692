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

import hashlib
import itertools
import json
import logging
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

#: Bump when the tables' layout or content rules change (old files are then rebuilt).
TABLES_VERSION = 3
_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE products(idx INTEGER PRIMARY KEY, asin TEXT NOT NULL, row TEXT NOT NULL);
CREATE TABLE goals(original INTEGER PRIMARY KEY, pos INTEGER NOT NULL, goal_id TEXT NOT NULL, row TEXT NOT NULL);
"""
_BATCH = 5000
_CACHED = 8192  # decoded rows (and asin lookups) kept per view


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


def _goal_row(g: Goal) -> str:
    return _ENCODE([g.goal_id, g.asin, g.instruction, g.attributes, g.options, g.option_names, g.price_upper])


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
        attributes = {asin: entry[0] for asin, entry in instructions.items()}
        wanted = validate_json_file(_HUMAN, human, _HUMAN_FIX) if human is not None else instructions
        index_of, kept = _write_products(con, items, attributes, wanted, rng, show_progress)
        plan = _goal_plan(wanted, index_of, kept, goals)
        count = _write_goals(con, plan, goals, seed, rng)
        if not count:
            raise DataError(f"no {goals} goal in {source!r} refers to a product of its items_shuffle file")
        # Rows go in in file order (appending is several times faster than inserting at random
        # positions); the split order is an index.
        con.execute("CREATE UNIQUE INDEX goals_pos ON goals(pos)")
        con.execute("CREATE UNIQUE INDEX goals_id ON goals(goal_id)")
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


def product_records(items: Path) -> Iterator[tuple[str, dict]]:
    """(asin, record) of every product of an ``items_shuffle`` file, in file order, by WebShop's
    rules: a record without an asin is not a product, a repeated asin keeps its first record.
    Product ``i`` of the tables is the ``i``-th of these."""
    seen: set[str] = set()
    for number, record in enumerate(iter_json(items, _SHUFFLE_FIX, unit="record")):
        if not isinstance(record, dict):
            shown = type(record).__name__ if isinstance(record, list) else repr(record)[:60]
            raise DataError(f"{items}: record {number}: expected an object, got {shown} ({type(record).__name__}); "
                            f"{_SHUFFLE_FIX}")
        if not record.get("asin"):
            continue
        asin = str(record["asin"]).strip().upper()
        if asin not in seen:
            seen.add(asin)
            yield asin, record


def _write_products(con: sqlite3.Connection, items: Path, attributes: dict, wanted: dict, rng: random.Random,
                    show_progress: bool) -> tuple[dict[str, int], dict[int, tuple]]:
    """Stream the products into the table; return asin -> index and, for the products goals
    may name, (price, option names, their values)."""
    wanted_asins = {key.strip().upper() for key in wanted}
    index_of: dict[str, int] = {}
    kept: dict[int, tuple] = {}
    batch = []
    for asin, record in tqdm(product_records(items), desc="shop tables", unit=" products", disable=not show_progress):
        product = _product(record, attributes.get(asin), rng)
        index_of[asin] = idx = len(index_of)
        if asin in wanted_asins:
            names = tuple(sorted(product.options))
            kept[idx] = (product.price, names, tuple(tuple(product.options[n]) for n in names))
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
    """Build every goal in file order and store it at its position after the split shuffle."""
    sizes = [len(list(itertools.product(*values))) if goals == "synthetic" else 1 for _, _, _, values, *_ in plan]
    count = sum(sizes)
    order = list(range(count))
    random.Random(seed).shuffle(order)  # the permutation shuffling the goal list would apply
    position = array("q", bytes(8 * count))
    for pos, original in enumerate(order):
        position[original] = pos
    del order
    original, batch = 0, []
    per_asin: dict[str, int] = {}
    for asin, price, names, values, text, attrs, options in plan:
        cap, cap_text = _price_cap(price, rng)
        if goals == "synthetic":
            built = []
            for k, combo in enumerate(itertools.product(*values)):
                option_text = ", and ".join(f"{n}: {v}" for n, v in zip(names, combo))
                built.append(Goal(f"{asin}/{k}", asin,
                                  text.strip().rstrip(".") + (f" with {option_text}" if option_text else "") + cap_text,
                                  attrs, tuple(combo), names, cap))
        else:
            k = per_asin[asin] = per_asin.get(asin, -1) + 1
            built = [Goal(f"{asin}/{k}", asin, text.strip().rstrip(".") + cap_text, attrs, options, None, cap)]
        for goal in built:
            batch.append((original, position[original], goal.goal_id, _goal_row(goal)))
            original += 1
        if len(batch) >= _BATCH:
            con.executemany("INSERT INTO goals VALUES (?, ?, ?, ?)", batch)
            batch.clear()
    con.executemany("INSERT INTO goals VALUES (?, ?, ?, ?)", batch)
    return count


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
        self.products: Sequence[Product] = _Rows(self, "products", "idx", 0, products, _to_product)
        self.goals: Sequence[Goal] = _Rows(self, "goals", "pos", 0, goals, _to_goal)
        test, dev = min(TEST_SIZE, goals), min(TEST_SIZE + DEV_SIZE, goals)
        self.splits: dict[str, Sequence[Goal]] = {
            "test": _Rows(self, "goals", "pos", 0, test, _to_goal),
            "dev": _Rows(self, "goals", "pos", test, dev, _to_goal),
            "train": _Rows(self, "goals", "pos", dev, goals, _to_goal),
        }
        self.index_of: Mapping[str, int] = _AsinIndex(self, products)
        self.split_of: Mapping[str, str] = _SplitOf(self, test, dev)

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            if self._pid != os.getpid():  # a connection never crosses a fork
                self._pid = os.getpid()
                self._con = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True,
                                            check_same_thread=False)
            return self._con.execute(sql, args).fetchall()

    def goal(self, goal_id: str) -> Goal:
        """Look a goal up by id; KeyError with a hint when unknown."""
        rows = self._query("SELECT row FROM goals WHERE goal_id = ?", (goal_id,)) if isinstance(goal_id, str) else []
        if not rows:
            raise KeyError(f"unknown task_id {goal_id!r}; task ids look like '<ASIN>/<k>', e.g. "
                           f"{self.goals[0].goal_id!r}")
        return _to_goal(rows[0][0])


def _to_product(row: str) -> Product:
    fields = json.loads(row)
    fields[5] = tuple(fields[5])
    return Product(*fields)


def _to_goal(row: str) -> Goal:
    goal_id, asin, instruction, attributes, options, names, cap = json.loads(row)
    return Goal(goal_id, asin, instruction, tuple(attributes), tuple(options),
                tuple(names) if names is not None else None, cap)


def _remember(cache: dict, key, value):
    """Keep ``value`` in ``cache`` (at most ``_CACHED`` entries, the oldest dropped first) and return it."""
    if len(cache) >= _CACHED:
        del cache[next(iter(cache))]
    cache[key] = value
    return value


class _Rows(Sequence):
    """Rows ``start..stop`` of a table as a read-only sequence, decoded on access (recent ones cached)."""

    def __init__(self, data: ShopData, table: str, key: str, start: int, stop: int, decode):
        self._data, self._start, self._stop, self._decode = data, start, stop, decode
        self._one = f"SELECT row FROM {table} WHERE {key} = ?"
        self._range = f"SELECT row FROM {table} WHERE {key} >= ? AND {key} < ? ORDER BY {key}"
        self._ids = f"SELECT goal_id FROM {table} WHERE {key} >= ? AND {key} < ? ORDER BY {key}"
        self._cache: dict[int, object] = {}  # index -> decoded row, oldest dropped first

    def __len__(self) -> int:
        return self._stop - self._start

    def __getitem__(self, index):
        try:  # the hot path: every results page shows ten products
            return self._cache[index]
        except (KeyError, TypeError):  # not read yet, or a slice
            pass
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} rows")
        if index < 0:
            return self[index + len(self)]
        value = self._decode(self._data._query(self._one, (self._start + index,))[0][0])
        return _remember(self._cache, index, value)

    def __iter__(self) -> Iterator:
        for low in range(self._start, self._stop, _BATCH):
            for (row,) in self._data._query(self._range, (low, min(low + _BATCH, self._stop))):
                yield self._decode(row)

    def ids(self) -> list[str]:
        """The goal ids of these rows, in order (without decoding the goals)."""
        return [gid for low in range(self._start, self._stop, 50_000)
                for (gid,) in self._data._query(self._ids, (low, min(low + 50_000, self._stop)))]


class _AsinIndex(Mapping):
    def __init__(self, data: ShopData, size: int):
        self._data, self._size = data, size
        self._cache: dict[str, int] = {}

    def __getitem__(self, asin: str) -> int:
        try:
            return self._cache[asin]
        except (KeyError, TypeError):
            pass
        rows = self._data._query("SELECT idx FROM products WHERE asin = ?", (asin,)) if isinstance(asin, str) else []
        if not rows:
            raise KeyError(asin)
        return _remember(self._cache, asin, rows[0][0])

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[str]:
        for low in range(0, self._size, 50_000):
            yield from (a for (a,) in self._data._query(
                "SELECT asin FROM products WHERE idx >= ? AND idx < ? ORDER BY idx", (low, low + 50_000)))


class _SplitOf(Mapping):
    def __init__(self, data: ShopData, test: int, dev: int):
        self._data, self._test, self._dev = data, test, dev

    def __getitem__(self, goal_id: str) -> str:
        rows = self._data._query("SELECT pos FROM goals WHERE goal_id = ?", (goal_id,)) \
            if isinstance(goal_id, str) else []
        if not rows:
            raise KeyError(goal_id)
        pos = rows[0][0]
        return "test" if pos < self._test else "dev" if pos < self._dev else "train"

    def __len__(self) -> int:
        return len(self._data.goals)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data.goals.ids())
