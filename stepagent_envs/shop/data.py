"""Load WebShop-format data: products, goals and the train / dev / test splits.

One code path reads both the real WebShop files and the catalogue that
:mod:`stepagent_envs.shop.generate` writes. A data directory holds:

* ``items_shuffle*.json``: a JSON list of product records (WebShop's scraped
  schema: asin, name, category, query, product_category, pricing,
  customization_options, small_description, full_description, ...);
* ``items_ins_v2*.json``: asin -> {attributes, instruction,
  instruction_attributes}; products with an instruction give synthetic goals;
* ``items_human_ins*.json`` (optional): asin -> list of human instructions
  with instruction_attributes and instruction_options (``goals="human"``).

Goals are built as WebShop builds them: a synthetic goal for every instructed
product and every combination of its options; the price cap is drawn from
WebShop's price grid above the product's price. Goals are then shuffled with
WebShop's seed (233): test = the first 500, dev = the next 1,000, train = the
rest. The lists are version ``SPLIT_VERSION``; a change to this rule bumps it.
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import TypeAdapter
from typing_extensions import TypedDict

from ..records import DataError, validate_json_file

SPLITS = ("train", "dev", "test")
SPLIT_VERSION = 1
#: WebShop's split rule: goals shuffled with this seed, then test, dev, train.
SPLIT_SEED = 233
TEST_SIZE, DEV_SIZE = 500, 1000
#: WebShop's price grid for goal price caps (10, 20, ..., 990 dollars).
PRICE_GRID = [10.0 * i for i in range(1, 100)]
NO_PRICE_CAP = 1_000_000.0
#: The price WebShop assumes for a product listed without one.
DEFAULT_PRICE = 100.0
GOAL_SOURCES = ("synthetic", "human")


@dataclass(slots=True)
class Product:
    """A product as the shop shows it (WebShop's loader conventions)."""

    asin: str  #: upper-case top-level asin of the record
    title: str
    category: str
    query: str  #: lower-cased search phrase the product was filed under
    product_category: str  #: levels separated by " › "
    pricing: tuple[float, ...]  #: one price, or the (low, high) range
    price_tag: str  #: "$10.99" or "$19.99 to $27.99"
    price: float  #: what a purchase costs: the price, or a seeded draw in the range
    options: dict[str, list[str]]  #: lower-case option name -> lower-case values
    bullets: list[str]
    description: str
    attributes: list[str]  #: from items_ins_v2; ["DUMMY_ATTR"] when absent, as WebShop
    rating: str
    reviews: list[dict] = field(default_factory=list)

    def search_text(self) -> str:
        """The text the search engine indexes for this product."""
        opts = " ".join(v for vals in self.options.values() for v in vals)
        return " ".join((self.title, self.query, " ".join(self.bullets), self.description, opts))


@dataclass(slots=True, frozen=True)
class Goal:
    """What the shopper wants: a target product, attributes, options and a price cap."""

    goal_id: str  #: "<asin>/<k>": the k-th goal built from that product
    asin: str  #: the target product
    instruction: str
    attributes: tuple[str, ...]
    options: tuple[str, ...]  #: wanted option values (lower-case)
    option_names: tuple[str, ...] | None  #: their option names; None for human goals
    price_upper: float


class _Instructed(TypedDict, total=False):
    """An ``items_ins_v2`` entry (the fields read; others are ignored)."""

    attributes: list[str] | None
    instruction: str | None
    instruction_attributes: list[str] | None


class _HumanInstruction(TypedDict, total=False):
    """One instruction of an ``items_human_ins`` entry (the fields read)."""

    instruction: str | None
    instruction_attributes: list[str] | None
    instruction_options: list[str] | None


_INSTRUCTED = TypeAdapter(dict[str, _Instructed])
_HUMAN = TypeAdapter(dict[str, list[_HumanInstruction]])
_INSTRUCTED_FIX = ("expected WebShop's items_ins_v2 layout: an object mapping each ASIN to {attributes: [strings], "
                   "instruction: a string or null, instruction_attributes: [strings] or null}")
_HUMAN_FIX = ("expected WebShop's items_human_ins layout: an object mapping each ASIN to a list of {instruction, "
              "instruction_attributes: [strings], instruction_options: [strings]}")
_SHUFFLE_FIX = "expected WebShop's items_shuffle layout: one JSON list of product objects"


def _find_file(data_dir: Path, stem: str, required: bool) -> Path | None:
    matches = sorted(glob.glob(str(data_dir / f"{stem}*.json")))
    if not matches:
        if required:
            raise FileNotFoundError(
                f"no {stem}*.json in data_path {str(data_dir)!r}; expected WebShop's layout "
                "(items_shuffle.json, items_ins_v2.json[, items_human_ins.json])"
            )
        return None
    if len(matches) > 1:
        raise ValueError(
            f"several {stem}*.json files in {str(data_dir)!r}: {[Path(m).name for m in matches]}; "
            "keep exactly one"
        )
    return Path(matches[0])


def iter_json_list(path: Path, chunk_chars: int = 1 << 20):
    """Yield the elements of a JSON list file one at a time, so a 1M-product
    file never exists as one Python list of dicts.

    Raises:
        DataError: The file is not UTF-8, not a list, or not valid JSON (the
            message names the element and the character where reading stopped).
    """
    decoder = json.JSONDecoder()
    with open(path, encoding="utf-8") as f:
        try:
            yield from _json_list_items(f, path, decoder, chunk_chars)
        except UnicodeDecodeError as err:
            raise DataError(f"{path}: not UTF-8 text (a byte {err.object[err.start:err.start + 1]!r} where text was "
                            f"expected); {_SHUFFLE_FIX}") from None


def _json_list_items(f, path: Path, decoder: json.JSONDecoder, chunk_chars: int):
    buf = f.read(chunk_chars)
    skipped = len(buf) - len(buf.lstrip())  # characters of the file before buf[0]
    buf = buf.lstrip()
    if not buf.startswith("["):
        raise DataError(f"{path}: top level: expected a JSON list of product records, got text starting "
                        f"{buf[:20]!r}; {_SHUFFLE_FIX}")
    pos, eof, number = 1, False, 0
    while True:
        while pos < len(buf) and buf[pos] in " \t\r\n,":
            pos += 1
        if pos < len(buf) and buf[pos] == "]":
            return
        try:
            obj, end = decoder.raw_decode(buf, pos)
            complete = end < len(buf) or eof  # a number at the buffer's end may go on
        except json.JSONDecodeError as err:
            if eof:
                raise DataError(f"{path}: record {number}: not valid JSON: {err.msg} at character "
                                f"{skipped + err.pos} of the file (cut off?); {_SHUFFLE_FIX}") from None
            complete = False
        if not complete:
            more = f.read(chunk_chars)
            eof = not more
            skipped += pos
            buf, pos = buf[pos:] + more, 0
            continue
        yield obj
        number += 1
        pos = end


def parse_pricing(pricing: object) -> tuple[float, ...]:
    """Parse WebShop's pricing strings: "$877.80", "$1,847.00", "$19.99$27.99" (a range), ""."""
    if not pricing or not isinstance(pricing, str):
        return ()
    values = []
    for part in pricing.split("$")[1:]:
        digits = re.sub(r"[^\d.]", "", part)
        if digits and digits != ".":
            values.append(float(digits))
    return tuple(values[:2])


def price_tag(pricing: tuple[float, ...]) -> str:
    """How WebShop prints a price or a price range."""
    if not pricing:
        return f"${DEFAULT_PRICE}"
    if len(pricing) == 1:
        return f"${pricing[0]}"
    return f"${pricing[0]} to ${pricing[1]}"


def parse_options(customization_options: object) -> dict[str, list[str]]:
    """WebShop's option parsing: lower-case names and values, "/" shown as " | ",
    null option lists and malformed entries skipped."""
    options: dict[str, list[str]] = {}
    if not isinstance(customization_options, dict):
        return options
    for name, contents in customization_options.items():
        if not isinstance(contents, list):
            continue
        values = []
        for entry in contents:
            value = entry.get("value") if isinstance(entry, dict) else None
            if isinstance(value, str) and value.strip():
                value = value.strip().replace("/", " | ").lower()
                if value not in values:
                    values.append(value)
        if values:
            options[name.strip().lower()] = values
    return options


def _bullets(small_description: object) -> list[str]:
    if isinstance(small_description, str):
        small_description = [small_description]
    if not isinstance(small_description, list):
        return []
    return [b.strip() for b in small_description if isinstance(b, str) and b.strip()]


def _product(record: dict, attributes: list[str] | None, rng: random.Random) -> Product:
    pricing = parse_pricing(record.get("pricing"))
    if not pricing:
        price = DEFAULT_PRICE
    elif len(pricing) == 1:
        price = pricing[0]
    else:
        price = rng.uniform(pricing[0], pricing[1])
    rating = record.get("average_rating")
    reviews = record.get("reviews")
    return Product(
        asin=str(record["asin"]).strip().upper(),
        title=str(record.get("name") or "").strip(),
        category=str(record.get("category") or "").strip(),
        query=str(record.get("query") or "").lower().strip(),
        product_category=str(record.get("product_category") or "").strip(),
        pricing=pricing,
        price_tag=price_tag(pricing),
        price=price,
        options=parse_options(record.get("customization_options")),
        bullets=_bullets(record.get("small_description")),
        description=str(record.get("full_description") or "").strip(),
        attributes=list(attributes) if attributes else ["DUMMY_ATTR"],
        rating=str(rating) if rating not in (None, "") else "N.A.",
        reviews=[r for r in reviews if isinstance(r, dict)] if isinstance(reviews, list) else [],
    )


def _price_cap(price: float, rng: random.Random) -> tuple[float, str]:
    """WebShop's cap: the larger of two grid prices drawn from the four above the price."""
    grid = [p for p in PRICE_GRID if p > price][:4]
    if len(grid) < 2:
        return NO_PRICE_CAP, ""
    cap = max(rng.sample(grid, 2))
    return cap, f", and price lower than {cap:.2f} dollars"


@dataclass
class ShopData:
    """Products, goals and splits of one data directory."""

    products: list[Product]
    goals: list[Goal]  #: in split order: test, then dev, then train
    splits: dict[str, list[Goal]]
    index_of: dict[str, int]  #: asin -> position in ``products``
    source: str  #: data_dir path, for messages and cache keys
    split_of: dict[str, str] = field(init=False)  #: goal id -> its split

    def __post_init__(self):
        self.split_of = {g.goal_id: split for split, goals in self.splits.items() for g in goals}
        self._by_id = {g.goal_id: g for g in self.goals}

    def goal(self, goal_id: str) -> Goal:
        """Look a goal up by id; KeyError with a hint when unknown."""
        try:
            return self._by_id[goal_id]
        except KeyError:
            raise KeyError(
                f"unknown task_id {goal_id!r}; task ids look like '<ASIN>/<k>', e.g. {self.goals[0].goal_id!r}"
            ) from None


def load_shop_data(data_dir: str | os.PathLike, goals: str = "synthetic", seed: int = SPLIT_SEED) -> ShopData:
    """Read a WebShop-format data directory.

    Args:
        data_dir: folder with ``items_shuffle*.json`` and ``items_ins_v2*.json``
            (and ``items_human_ins*.json`` for human goals).
        goals: ``"synthetic"`` (one goal per instructed product and option
            combination, as WebShop) or ``"human"`` (the human instructions).
        seed: seed of the price draws, price caps and the split shuffle
            (WebShop uses 233; changing it changes the splits).
    """
    if goals not in GOAL_SOURCES:
        raise ValueError(f"unknown goals {goals!r}; expected one of {', '.join(GOAL_SOURCES)}")
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data_path {str(data_dir)!r} is not a directory; StepShop-v0 reads a WebShop data folder")
    records_path = _find_file(data_dir, "items_shuffle", True)
    records = iter_json_list(records_path)
    ins_path = _find_file(data_dir, "items_ins_v2", goals == "synthetic")
    instructed: dict = {}
    if ins_path is not None:
        instructed = validate_json_file(_INSTRUCTED, ins_path, _INSTRUCTED_FIX)

    rng = random.Random(seed)
    products: list[Product] = []
    index_of: dict[str, int] = {}
    for number, record in enumerate(records):
        if not isinstance(record, dict):
            shown = type(record).__name__ if isinstance(record, list) else repr(record)[:60]
            raise DataError(f"{records_path}: record {number}: expected an object, got {shown} "
                            f"({type(record).__name__}); {_SHUFFLE_FIX}")
        if not record.get("asin"):  # as WebShop, a record without an asin is not a product
            continue
        asin = str(record["asin"]).strip().upper()
        if asin in index_of:  # WebShop keeps the first record of a duplicated asin
            continue
        entry = instructed.get(asin) or {}
        index_of[asin] = len(products)
        products.append(_product(record, entry.get("attributes"), rng))
    if not products:
        raise ValueError(f"no product records with an asin in {str(data_dir)!r}")

    if goals == "synthetic":
        goal_list = _synthetic_goals(products, index_of, instructed, rng)
    else:
        human_path = _find_file(data_dir, "items_human_ins", True)
        goal_list = _human_goals(products, index_of, validate_json_file(_HUMAN, human_path, _HUMAN_FIX), rng)
    if not goal_list:
        raise ValueError(f"no {goals} goal in {str(data_dir)!r} refers to a product of its items_shuffle file")

    random.Random(seed).shuffle(goal_list)
    splits = {
        "test": goal_list[:TEST_SIZE],
        "dev": goal_list[TEST_SIZE : TEST_SIZE + DEV_SIZE],
        "train": goal_list[TEST_SIZE + DEV_SIZE :],
    }
    return ShopData(products, goal_list, splits, index_of, str(data_dir))


def _synthetic_goals(products, index_of, instructed, rng) -> list[Goal]:
    goal_list = []
    for asin, entry in instructed.items():
        asin = asin.strip().upper()
        if asin not in index_of:
            continue
        text, attrs = entry.get("instruction"), entry.get("instruction_attributes")
        if not text or not attrs:
            continue
        product = products[index_of[asin]]
        cap, cap_text = _price_cap(product.price, rng)
        names = sorted(product.options)
        for k, combo in enumerate(itertools.product(*(product.options[n] for n in names))):
            option_text = ", and ".join(f"{n}: {v}" for n, v in zip(names, combo))
            goal_list.append(
                Goal(
                    goal_id=f"{asin}/{k}",
                    asin=asin,
                    instruction=text.strip().rstrip(".") + (f" with {option_text}" if option_text else "") + cap_text,
                    attributes=tuple(attrs),
                    options=tuple(combo),
                    option_names=tuple(names),
                    price_upper=cap,
                )
            )
    return goal_list


def _human_goals(products, index_of, human, rng) -> list[Goal]:
    goal_list = []
    counts: dict[str, int] = defaultdict(int)
    for asin, entries in human.items():
        asin = asin.strip().upper()
        if asin not in index_of:
            continue
        product = products[index_of[asin]]
        for entry in entries:
            attrs = entry.get("instruction_attributes") or []
            text = entry.get("instruction")
            if not attrs or not text:  # WebShop drops human goals without attributes
                continue
            cap, cap_text = _price_cap(product.price, rng)
            k = counts[asin]
            counts[asin] += 1
            goal_list.append(
                Goal(
                    goal_id=f"{asin}/{k}",
                    asin=asin,
                    instruction=text.strip().rstrip(".") + cap_text,
                    attributes=tuple(attrs),
                    options=tuple(str(o).lower() for o in entry.get("instruction_options") or ()),
                    option_names=None,
                    price_upper=cap,
                )
            )
    return goal_list
