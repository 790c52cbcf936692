"""Read HotpotQA JSON: questions, their supporting pages in reading order, and pages.

One reader serves the real HotpotQA files (distractor or fullwiki setting)
and the files :mod:`.generate` writes. A file is a JSON list of records with
``_id``, ``question``, ``answer``, ``type`` (``bridge`` / ``comparison``),
``supporting_facts`` ([title, sentence index] pairs) and ``context``
([title, [sentences]] pairs). Sentences are stripped (HotpotQA starts every
sentence after the first with a space) and empty ones dropped; HTML entities
left in titles ("I&quot;s", "Neafie &amp; Levy") are decoded.
"""

from __future__ import annotations

import html
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pydantic import TypeAdapter
from typing_extensions import NotRequired, TypedDict

from ..contract import to_charset
from ..records import DataError, validate_json_file

SPLITS = ("train", "dev", "test")
_QUALIFIER = re.compile(r"\s*\([^()]*\)$")
_NON_WORD = re.compile(r"[^a-z0-9]+")
# Words too common to tie a title to a question.
_STOP = frozenset("a an the of in on at to and or for by is was from with s".split())

#: Page title -> its sentences.
Pages = dict[str, tuple[str, ...]]


def title_key(text: str) -> str:
    """How titles match: ASCII, HTML entities decoded, lower case, punctuation
    and spacing ignored ("Ed Wood (film)" and "ed wood film" share a key)."""
    return _NON_WORD.sub(" ", html.unescape(to_charset(text)).lower()).strip()


@dataclass(frozen=True, slots=True)
class Question:
    """One HotpotQA question, with its supporting page titles in reading order."""

    qid: str
    question: str
    answer: str
    kind: str  #: "bridge" or "comparison" (HotpotQA's ``type``)
    support: tuple[str, ...]  #: supporting page titles, in the order the question needs them


def _named_in(text_key: str, title: str) -> bool:
    """Whether ``title`` (without a trailing "(qualifier)") occurs as words in ``text_key``."""
    key = title_key(_QUALIFIER.sub("", title))
    return bool(key) and f" {key} " in f" {text_key} "


def order_support(question: str, titles: list[str], pages: Pages) -> tuple[str, ...]:
    """The supporting titles in the order a reader needs them.

    First the pages the question names, in the order it names them (both
    entities of a comparison; the first hop of a bridge). When it names none,
    the page sharing most title words with the question, else the first page
    whose text names another supporting page. Then, hop by hop, the page named
    in the pages read so far (the bridge entity leads to the next page).
    Titles no rule places keep the file's order.
    """
    q = f" {title_key(question)} "
    named = [t for t in titles if _named_in(q, t)]
    ordered = sorted(named, key=lambda t: q.index(f" {title_key(_QUALIFIER.sub('', t))} "))
    rest = [t for t in titles if t not in ordered]
    if not ordered and rest:
        words = set(q.split()) - _STOP
        overlap = {t: len(words & set(title_key(_QUALIFIER.sub("", t)).split())) for t in rest}
        texts = {t: title_key(" ".join(pages.get(t, ()))) for t in rest}
        names_other = [t for t in rest if any(_named_in(texts[t], o) for o in rest if o != t)]
        lead = max(rest, key=lambda t: (overlap[t], t in names_other, -rest.index(t)))
        ordered.append(lead)
        rest.remove(lead)
    while rest:
        read = " ".join(title_key(" ".join(pages.get(t, ()))) for t in ordered)
        hop = next((t for t in rest if _named_in(read, t)), rest[0])
        ordered.append(hop)
        rest.remove(hop)
    return tuple(ordered)


class _Record(TypedDict):
    """A HotpotQA question record (the fields the env reads; others are ignored)."""

    _id: str
    question: str
    answer: str
    type: NotRequired[str]
    supporting_facts: list[tuple[str, int]]  # [title, sentence index]
    context: list[tuple[str, list[str]]]  # [title, [sentences]]


_FILE = TypeAdapter(list[_Record])
_FIX = ("expected HotpotQA's JSON: a list of records with _id, question, answer (a string: HotpotQA's unlabelled "
        "test files have none, use a dev or train file), supporting_facts ([title, sentence index] pairs) and "
        "context ([title, [sentences]] pairs)")


def load_hotpot(path: str | os.PathLike, pages: Pages | None = None) -> tuple[tuple[Question, ...], Pages]:
    """The questions of a HotpotQA JSON file and the pages of its contexts.

    Args:
        path: a HotpotQA-format JSON file (a list of question records).
        pages: the corpus to order supporting pages by; ``None`` uses the
            union of the file's context paragraphs (a title seen twice keeps
            its first paragraph), which is also returned.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataError: (a ValueError) the file is not HotpotQA JSON, or a record
            lacks a field or has one of the wrong type; the message names the
            record and the field (HotpotQA's unlabelled test files have no
            answers: use a dev or train file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"HotpotQA file {str(path)!r} does not exist; pass the path of a HotpotQA JSON file "
                                "such as hotpot_dev_distractor_v1.json")
    records = validate_json_file(_FILE, path, _FIX)
    if not records:
        raise DataError(f"{path}: top level: an empty list; {_FIX}")
    context_pages: Pages = {}
    for record in records:
        for title, sentences in record["context"]:
            title = html.unescape(title)
            if title not in context_pages:
                context_pages[title] = tuple(s.strip() for s in sentences if s.strip())
    if pages is None:
        pages = context_pages
    questions = []
    for record in records:
        titles = list(dict.fromkeys(html.unescape(title) for title, _ in record["supporting_facts"]))
        questions.append(Question(record["_id"], record["question"], record["answer"],
                                  record.get("type", "bridge"), order_support(record["question"], titles, pages)))
    counts = Counter(q.qid for q in questions)
    if len(counts) != len(questions):
        twice = sorted(qid for qid, n in counts.items() if n > 1)[:5]
        raise DataError(f"{path}: ids: repeated _id values {twice}; give every question its own _id")
    return tuple(questions), context_pages
