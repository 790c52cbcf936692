"""WebShop-format data: what a product and a goal are, and WebShop's rules for reading them.

One code path reads both the real WebShop files and the catalogue that
:mod:`stepagent_envs.shop.generate` writes (:mod:`.tables` streams them into an
SQLite file by these rules). A data directory holds:

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
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import TypeAdapter
from typing_extensions import TypedDict


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
        return _search_text(self.title, self.query, self.bullets, self.description, self.options)


def _search_text(title: str, query: str, bullets: list[str], description: str, options: dict[str, list[str]]) -> str:
    opts = " ".join(v for vals in options.values() for v in vals)
    return " ".join((title, query, " ".join(bullets), description, opts))


def record_search_text(record: dict) -> str:
    """``Product.search_text`` of an ``items_shuffle`` record, without building the product
    (no price draw: a search index can be built apart from the tables)."""
    return _search_text(_title(record), _query(record), _bullets(record.get("small_description")),
                        _description(record), parse_options(record.get("customization_options")))


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


_INSTRUCTED_ENTRY = TypeAdapter(_Instructed)
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


def _title(record: dict) -> str:
    return str(record.get("name") or "").strip()


def _query(record: dict) -> str:
    return str(record.get("query") or "").lower().strip()


def _description(record: dict) -> str:
    return str(record.get("full_description") or "").strip()


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
        title=_title(record),
        category=str(record.get("category") or "").strip(),
        query=_query(record),
        product_category=str(record.get("product_category") or "").strip(),
        pricing=pricing,
        price_tag=price_tag(pricing),
        price=price,
        options=parse_options(record.get("customization_options")),
        bullets=_bullets(record.get("small_description")),
        description=_description(record),
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
