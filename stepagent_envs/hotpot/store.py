"""Where StepHotpot's data lives, and its per-process sharing.

Questions, pages and search backends are loaded once per process and shared
by every env over the same source, so vector envs and pickled copies stay
cheap. The generated embedded questions and the BM25 indexes are cached under
``cache_root() / "hotpot"`` (``$STEPAGENT_CACHE``, default ``~/.cache/stepagent``).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..bm25 import INDEX_VERSION
from ..cache import cache_root
from .corpus import LocalCorpus
from .data import Pages, Question, load_hotpot
from .generate import MARKER_FILE, PAGES_FILE, VERSION, generate, split_file
from .wikipedia import WikipediaCorpus

#: Seed of the embedded world and questions.
DEFAULT_WORLD_SEED = 0
#: Bump when the text indexed per page changes (see LocalCorpus).
PAGE_TEXT_VERSION = 1

_LOCK = threading.RLock()  # re-entrant: loaders share what they are built from
_SHARED: dict[tuple, object] = {}
T = TypeVar("T")


def _shared(key: tuple, make: Callable[[], T]) -> T:
    with _LOCK:
        if key not in _SHARED:
            _SHARED[key] = make()
        return _SHARED[key]


def generated_dir(seed: int = DEFAULT_WORLD_SEED) -> Path:
    """The embedded questions of ``seed``, generated on first use."""
    out = cache_root() / "hotpot" / f"generated-v{VERSION}-seed{seed}"
    if not (out / MARKER_FILE).exists():
        generate(out, seed)
    return out


@dataclass(frozen=True)
class QuestionSet:
    """The questions an env draws from."""

    source: str  #: the file they were read from
    questions: tuple[Question, ...]
    by_id: dict[str, Question]


def _world_pages(seed: int) -> Pages:
    def read() -> Pages:
        pages = json.loads((generated_dir(seed) / PAGES_FILE).read_text(encoding="ascii"))
        return {title: tuple(sentences) for title, sentences in pages.items()}

    return _shared(("world-pages", seed), read)


def _read_file(path: Path) -> tuple[tuple[Question, ...], Pages]:
    return _shared(("file", str(path)), lambda: load_hotpot(path))


def _question_set(path: Path, questions: tuple[Question, ...]) -> QuestionSet:
    return QuestionSet(str(path), questions, {q.qid: q for q in questions})


def load_questions(data_path: str | os.PathLike | None, split: str, world_seed: int = DEFAULT_WORLD_SEED) -> QuestionSet:
    """The questions of ``data_path`` (the whole file), or of the embedded ``split``."""
    if data_path is not None:
        path = Path(data_path).resolve()
        return _shared(("questions", str(path)), lambda: _question_set(path, _read_file(path)[0]))
    path = generated_dir(world_seed) / split_file(split)
    return _shared(("questions", str(path)),
                   lambda: _question_set(path, load_hotpot(path, pages=_world_pages(world_seed))[0]))


def support_pages(data_path: str | os.PathLike | None, world_seed: int = DEFAULT_WORLD_SEED) -> Pages:
    """The local pages: the union of the file's context paragraphs, or every page of the embedded world."""
    if data_path is None:
        return _world_pages(world_seed)
    return _read_file(Path(data_path).resolve())[1]


def _index_dir(path: Path) -> Path:
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{INDEX_VERSION}|{PAGE_TEXT_VERSION}"
    return cache_root() / "hotpot" / "index" / hashlib.sha1(key.encode()).hexdigest()[:16]


def load_local_corpus(data_path: str | os.PathLike | None, world_seed: int = DEFAULT_WORLD_SEED) -> LocalCorpus:
    """The local corpus over :func:`support_pages`, its BM25 index cached on disk."""
    if data_path is None:
        source = generated_dir(world_seed) / PAGES_FILE
    else:
        source = Path(data_path).resolve()
    return _shared(("local-corpus", str(source)),
                   lambda: LocalCorpus(support_pages(data_path, world_seed), cache_dir=_index_dir(source)))


def load_wikipedia(base_url: str, timeout: float, retries: int, backoff: float,
                   cache_dir: str | os.PathLike | None = None) -> WikipediaCorpus:
    """The Wikipedia backend for these settings; its answers are cached under
    ``cache_dir`` (default ``cache_root()/hotpot/wikipedia``)."""
    folder = Path(cache_dir) if cache_dir is not None else cache_root() / "hotpot" / "wikipedia"
    key = ("wikipedia", base_url, timeout, retries, backoff, str(folder.resolve()))
    return _shared(key, lambda: WikipediaCorpus(base_url, timeout, retries, backoff, cache_dir=folder))
