"""The shape of a generated product type and category, and the builder that reads
their compact specs (the per-category modules beside this one)."""

from __future__ import annotations

from typing import NamedTuple

#: Separator between the levels of ``product_category`` (U+203A, as in WebShop).
CATEGORY_SEP = " \u203a "


class ProductType(NamedTuple):
    """One product type: everything the generator needs to make its products."""

    title: str  # as written in product titles, e.g. "Office Chair"
    noun: str  # lower-case; the ``query`` and the words instructions use
    path: str  # the full ``product_category``
    price: tuple[float, float]  # low and high end of a single price, in dollars
    attrs: tuple[str, ...]  # own attributes plus the category's shared ones
    features: frozenset[str]  # the attrs read as "with X" rather than "is X"
    uses: tuple[str, ...]  # "made for X" phrases, stored as attributes too
    variants: tuple[str, ...]  # title descriptors: ingredients, materials, cuts
    specs: tuple[str, ...]  # title suffixes after the comma
    options: tuple[tuple[str, tuple[str, ...]], ...]
    countable: bool  # False for plural and mass nouns, which take no article
    be: str  # "is" or "are", agreeing with the noun
    has: str  # "comes" or "come", agreeing with the noun
    brands: tuple[str, ...]


class Category(NamedTuple):
    name: str
    types: tuple[ProductType, ...]
    bullets: tuple[str, ...]  # bullet templates naming one "is X" attribute
    extras: tuple[str, ...]  # bullets naming no attribute, to pad short lists
    middles: tuple[str, ...]  # description sentences
    weight: tuple[float, float, str]  # item weight range and unit


def split_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def category(
    name: str,
    *,
    brands: str,
    shared: str,
    bullets: tuple[str, ...],
    extras: tuple[str, ...],
    middles: tuple[str, ...],
    weight: tuple[float, float, str],
    types: tuple[dict, ...],
) -> Category:
    """Build a category from compact specs.

    Each type spec gives ``attrs`` as one comma-separated string in which a
    leading "+" marks a feature ("+lumbar support": a chair *with* lumbar
    support); the category's shared attributes are appended to every type, and
    each type draws from its own rotating half of the category's brand pool.
    ``kind`` is "one" (default), "plural" ("jeans") or "mass" ("olive oil").
    """
    brand_pool = split_list(brands)
    shared_attrs = split_list(shared)
    built = []
    for i, spec in enumerate(types):
        own = split_list(spec["attrs"])
        kind = spec.get("kind", "one")
        built.append(
            ProductType(
                title=spec["title"],
                noun=spec["title"].lower(),
                path=CATEGORY_SEP.join(spec["path"].split("|")),
                price=spec["price"],
                attrs=tuple(a.lstrip("+") for a in own) + tuple(a for a in shared_attrs if a not in own),
                features=frozenset(a[1:] for a in own if a.startswith("+")),
                uses=split_list(spec.get("uses", "")),
                variants=split_list(spec["variants"]),
                specs=split_list(spec["specs"]),
                options=tuple(spec.get("options", {}).items()),
                countable=kind == "one",
                be="are" if kind == "plural" else "is",
                has="come" if kind == "plural" else "comes",
                brands=tuple(brand_pool[(3 * i + j) % len(brand_pool)] for j in range(len(brand_pool) // 2)),
            )
        )
    return Category(name, tuple(built), bullets, extras, middles, weight)
