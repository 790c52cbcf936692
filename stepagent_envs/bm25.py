"""BM25 search over a list of texts (bm25s' Lucene variant, as WebShop searched
its products with Lucene), shared by the env families: StepShop-v0's product
search and StepHotpot-v0's page search.

Documents are tokenised with bm25s (English stop words, Snowball stemmer). The
index can be saved to and memory-mapped from a cache folder, so a large
catalogue is indexed once.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
from array import array
from collections.abc import Callable, Iterable
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.tokenization import Tokenizer
from tqdm import tqdm

#: Most results a search returns (WebShop's limit).
MAX_RESULTS = 50
INDEX_VERSION = 1
_VOCAB_FILE = "vocab.tokenizer.json"


def _tokenizer() -> Tokenizer:
    return Tokenizer(stemmer=Stemmer.Stemmer("english"), stopwords="en")


class BM25Index:
    """Ranks documents for a free-text query.

    Args:
        texts: returns the texts, one per document (document ``i`` is the caller's item
            ``i``), as a list or any iterable; called only when the index has to be built.
        cache_dir: folder to save the index to, or load it from when a
            finished index is already there; ``None`` keeps it in memory only.
        show_progress: show bm25s' progress bars while indexing.
    """

    def __init__(self, texts: Callable[[], Iterable[str]], cache_dir: str | os.PathLike | None = None, show_progress: bool = False):
        self.tokenizer = _tokenizer()
        cache = Path(cache_dir) if cache_dir is not None else None
        if cache is not None and (cache / "done").exists():
            self.retriever = bm25s.BM25.load(cache, mmap=True, show_progress=False)
            self.tokenizer.load_vocab(str(cache), vocab_name=_VOCAB_FILE)
            return
        # Streamed: the texts of a million documents never exist as one list (the same ids as tokenising all
        # at once); each document's ids are kept as 4-byte ints (a list of Python ints takes 8 bytes an id:
        # ~0.3 GiB more at 1M products).
        stream = self.tokenizer.streaming_tokenize(texts(), update_vocab=True)
        ids = self.tokenizer.to_tokenized_tuple([array("i", doc) for doc in tqdm(stream, desc="tokenize",
                                                                                   disable=not show_progress)])
        self.retriever = bm25s.BM25(method="lucene")
        self.retriever.index(ids, show_progress=show_progress)
        if cache is not None:
            self._save(cache)

    def _save(self, cache: Path) -> None:
        # Written beside the target and renamed, so a killed process never leaves a half index.
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=cache.name + ".", dir=cache.parent))
        try:
            self.retriever.save(tmp, show_progress=False)
            self.tokenizer.save_vocab(str(tmp), vocab_name=_VOCAB_FILE)
            (tmp / "done").write_text(str(INDEX_VERSION))
            if cache.exists():
                shutil.rmtree(cache)
            os.replace(tmp, cache)
        except OSError as err:  # a read-only cache only costs speed
            logging.getLogger(__name__).warning("could not cache the search index in %s: %s", cache, err)
            shutil.rmtree(tmp, ignore_errors=True)

    @functools.lru_cache(maxsize=4096)
    def search(self, query: str, k: int = MAX_RESULTS) -> tuple[int, ...]:
        """Indices of the best ``k`` documents with a positive score, best first
        (ties by index). Cached: the same query always gives the same list."""
        ids = self.tokenizer.tokenize([query], update_vocab=False, return_as="ids", show_progress=False)[0]
        if not any(ids):
            return ()
        # bm25s scores every document; its retrieve() adds a thread pool that costs ~10 ms a query
        scores = self.retriever.get_scores(ids)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[scores[top] > 0]
        order = np.lexsort((top, -scores[top]))  # score descending, then index: stable across runs
        return tuple(int(d) for d in top[order])
