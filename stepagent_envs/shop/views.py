"""Read-only views of a shop's tables: products, goals in split order, asin and split lookups.

Each reads through :class:`.tables.ShopData`'s connection and keeps the most recent
``_CACHED`` items it built.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from .data import Goal, Product

if TYPE_CHECKING:
    from .tables import ShopData

_RANGE = 5000  # rows per range query
_CACHED = 8192  # built items (and asin lookups) kept per view


def _to_product(row: str) -> Product:
    fields = json.loads(row)
    fields[5] = tuple(fields[5])
    return Product(*fields)


def remember(cache: dict, key, value):
    """Keep ``value`` in ``cache`` (at most ``_CACHED`` entries, the oldest dropped first) and return it."""
    if len(cache) >= _CACHED:
        del cache[next(iter(cache))]
    cache[key] = value
    return value


class _Lazy(Sequence):
    """Positions ``start..stop`` of a table as a read-only sequence, built on access (recent ones cached)."""

    def __init__(self, data: ShopData, start: int, stop: int):
        self._data, self._start, self._stop = data, start, stop
        self._cache: dict[int, object] = {}  # index -> built item, oldest dropped first

    def _at(self, position: int):
        raise NotImplementedError

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
        return remember(self._cache, index, self._at(self._start + index))


class Products(_Lazy):
    """Every product, by index, decoded from its row on access."""

    def _at(self, position: int) -> Product:
        return _to_product(self._data._query("SELECT row FROM products WHERE idx = ?", (position,))[0][0])

    def __iter__(self) -> Iterator[Product]:
        for low in range(self._start, self._stop, _RANGE):
            for (row,) in self._data._query("SELECT row FROM products WHERE idx >= ? AND idx < ? ORDER BY idx",
                                            (low, min(low + _RANGE, self._stop))):
                yield _to_product(row)


class Goals(_Lazy):
    """Goals by split position, rebuilt from their plan on access."""

    def _at(self, position: int) -> Goal:
        return self._data._goal(self._data._order[position])

    def __iter__(self) -> Iterator[Goal]:
        return (self._data._goal(self._data._order[pos]) for pos in range(self._start, self._stop))

    def ids(self) -> list[str]:
        """The goal ids, in order (from every plan's asin and first numbers, without building the goals)."""
        data = self._data
        keys = data._query("SELECT asin, k0 FROM plans ORDER BY pid")
        firsts, ids = data._firsts, []
        for pos in range(self._start, self._stop):
            number = data._order[pos]
            pid = bisect.bisect_right(firsts, number) - 1
            asin, k0 = keys[pid]
            ids.append(f"{asin}/{k0 + number - firsts[pid]}")
        return ids




class AsinIndex(Mapping):
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
        return remember(self._cache, asin, rows[0][0])

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[str]:
        for low in range(0, self._size, 50_000):
            yield from (a for (a,) in self._data._query(
                "SELECT asin FROM products WHERE idx >= ? AND idx < ? ORDER BY idx", (low, low + 50_000)))


class SplitOf(Mapping):
    def __init__(self, data: ShopData, test: int, dev: int):
        self._data, self._test, self._dev = data, test, dev

    def __getitem__(self, goal_id: str) -> str:
        number = self._data._number(goal_id)
        if number is None:
            raise KeyError(goal_id)
        pos = self._data._position(number)
        return "test" if pos < self._test else "dev" if pos < self._dev else "train"

    def __len__(self) -> int:
        return len(self._data.goals)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data.goals.ids())
