"""The local page corpus behind ``search[entity]``: exact titles first, BM25 suggestions otherwise.

A search lands on a page when the query matches a title exactly (after
:func:`~stepagent_envs.contract.to_charset`), else when it matches a title
case-, punctuation- and spacing-insensitively (:func:`.data.title_key`; among
titles sharing a key, the first in corpus order). Otherwise it returns the
titles of the best BM25 matches over title (counted twice) and text (bm25s through
:class:`~stepagent_envs.bm25.BM25Index`), as ReAct's Wikipedia
tool lists similar titles.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..contract import to_charset
from ..bm25 import BM25Index
from .data import Pages, title_key

#: Similar titles listed when a search finds no page.
NUM_SIMILAR = 5


@dataclass(frozen=True, slots=True)
class Page:
    """A page: its title and its sentences."""

    title: str
    sentences: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SearchResult:
    """What a search found: a page, or else the titles of similar pages, best first."""

    page: Page | None
    similar: tuple[str, ...] = ()


class LocalCorpus:
    """Pages held in memory, searched by title and by BM25.

    Args:
        pages: title -> sentences, in corpus order.
        cache_dir: folder for the BM25 index (built there once, then
            memory-mapped); ``None`` keeps it in memory only.
    """

    def __init__(self, pages: Pages, cache_dir: str | os.PathLike | None = None):
        self.pages = pages
        self.titles = list(pages)
        self._exact: dict[str, str] = {}
        self._by_key: dict[str, str] = {}
        for title in self.titles:
            self._exact.setdefault(to_charset(title), title)
            self._by_key.setdefault(title_key(title), title)
        # A title with no ASCII letter or digit (say, only CJK) has an empty form no query should land on.
        self._exact.pop("", None)
        self._by_key.pop("", None)
        # The title is indexed twice, so title words weigh more than words of the text (as a
        # title field boost does); in the action charset, so "Rodriguez" finds "Rodríguez".
        self.index = BM25Index(lambda: [to_charset(f"{t}. {t}. {' '.join(pages[t])}") for t in self.titles],
                                   cache_dir=cache_dir)

    def resolve(self, query: str) -> str | None:
        """The title ``query`` names exactly or up to case and punctuation, if any."""
        query = to_charset(" ".join(query.split()))
        return self._exact.get(query) or self._by_key.get(title_key(query))

    def search(self, query: str, k: int = NUM_SIMILAR) -> SearchResult:
        """The page titled ``query``, or the ``k`` most similar titles by BM25."""
        title = self.resolve(query)
        if title is not None:
            return SearchResult(Page(title, self.pages[title]))
        return SearchResult(None, tuple(self.titles[i] for i in self.index.search(to_charset(query).lower(), k)))
