"""The opt-in Wikipedia backend of ``search[entity]``: the MediaWiki API over HTTP.

A search first asks for the plain-text extract of the page titled as the
query (``action=query&prop=extracts&explaintext&redirects``); when there is
none, it runs a full-text search (``list=search``) and lands on the first hit
whose title matches the query up to case and punctuation, else lists the hits
as similar titles. Extracts are split into sentences at ``.``, ``!`` or ``?``
followed by a space and a capital, digit, quote or parenthesis; section
headings are dropped.

Requests time out, are retried with exponential backoff on connection
errors, timeouts, HTTP 429 and 5xx, and their answers are cached on disk (one
JSON file per request, written atomically), so a question asked once is
answered offline after. Failures raise :class:`WikipediaError` saying what
failed and how to fix it: the agent's action was fine, the backend was not.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from .corpus import NUM_SIMILAR, Page, SearchResult
from .data import title_key

#: The English Wikipedia's API endpoint, the default ``base_url``.
WIKIPEDIA_API = "https://en.wikipedia.org/w/api.php"
#: Sent with every request, as Wikimedia's API etiquette asks.
USER_AGENT = "stepagent-gym/0.1 (StepHotpot-v0 search tool; python-requests)"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class WikipediaError(RuntimeError):
    """The MediaWiki API could not be reached or gave an answer that cannot be read."""


class _Malformed(ValueError):
    """An answer without the fields a request expects."""


def split_sentences(extract: str) -> tuple[str, ...]:
    """The sentences of a plain-text extract, headings (``== ... ==``) dropped."""
    sentences: list[str] = []
    for paragraph in extract.split("\n"):
        paragraph = paragraph.strip()
        if paragraph and not paragraph.startswith("="):
            sentences += [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]
    return tuple(sentences)


def _pages_of(data: dict) -> list[dict]:
    pages = data.get("query", {}).get("pages") if isinstance(data.get("query"), dict) else None
    if not isinstance(pages, list) or not all(isinstance(p, dict) and isinstance(p.get("title"), str) for p in pages):
        raise _Malformed("query.pages is not a list of pages with titles")
    return pages


def _hits_of(data: dict) -> list[str]:
    hits = data.get("query", {}).get("search") if isinstance(data.get("query"), dict) else None
    if not isinstance(hits, list) or not all(isinstance(h, dict) and isinstance(h.get("title"), str) for h in hits):
        raise _Malformed("query.search is not a list of hits with titles")
    return [h["title"] for h in hits]


class WikipediaCorpus:
    """Pages fetched from a MediaWiki API, cached on disk.

    Args:
        base_url: the API endpoint (``.../w/api.php``); tests point it at a
            local server.
        timeout: seconds to wait for a connection and for each read.
        retries: extra attempts after a failed one (connection error,
            timeout, HTTP 429 or 5xx); 0 tries once.
        backoff: seconds before the first retry, doubled before each next one.
        cache_dir: folder of the on-disk answer cache; ``None`` caches in
            memory only.
        user_agent: the ``User-Agent`` header.
    """

    def __init__(self, base_url: str = WIKIPEDIA_API, timeout: float = 10.0, retries: int = 3, backoff: float = 0.5,
                 cache_dir: str | os.PathLike | None = None, user_agent: str = USER_AGENT):
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL of a MediaWiki api.php, got {base_url!r}; "
                             f"the English Wikipedia's is {WIKIPEDIA_API}")
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an int >= 0, got {retries!r}")
        if not backoff >= 0:
            raise ValueError(f"backoff must be >= 0 seconds, got {backoff!r}")
        self.base_url, self.timeout, self.retries, self.backoff = base_url, timeout, retries, backoff
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self._memory: dict[str, dict] = {}

    def search(self, query: str, k: int = NUM_SIMILAR) -> SearchResult:
        """The page titled ``query`` (or a hit matching it up to case and punctuation),
        or the titles of up to ``k`` search hits.

        Raises:
            WikipediaError: the API was unreachable after the retries, or
                answered with an error or a malformed body.
        """
        page = self.page(query)
        if page is not None:
            return SearchResult(page)
        hits = self._get({"action": "query", "list": "search", "srsearch": query, "srlimit": k, "srprop": ""}, _hits_of)
        key = title_key(query)
        for hit in hits:
            if title_key(hit) == key:
                page = self.page(hit)
                if page is not None:
                    return SearchResult(page)
        return SearchResult(None, tuple(hits))

    def page(self, title: str) -> Page | None:
        """The page ``title`` (redirects followed), or None when there is none."""
        params = {"action": "query", "prop": "extracts", "explaintext": 1, "redirects": 1, "titles": title}
        pages = self._get(params, _pages_of)
        found = [p for p in pages if not p.get("missing") and not p.get("invalid")]
        if not found:
            return None
        extract = found[0].get("extract", "")
        if not isinstance(extract, str):
            raise WikipediaError(f"malformed answer from {self.base_url} for titles={title!r}: the extract is a "
                                 f"{type(extract).__name__}, not text; is base_url a MediaWiki api.php?")
        return Page(found[0]["title"], split_sentences(extract))

    # -- HTTP with cache and retries --------------------------------------------
    def _cache_file(self, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / (hashlib.sha1(key.encode()).hexdigest()[:24] + ".json")

    def _get(self, params: dict, parse: Callable[[dict], Any]) -> Any:
        """``parse`` of the API's answer to ``params``, from the cache when it holds one."""
        params = {**params, "format": "json", "formatversion": 2}
        key = self.base_url + "?" + json.dumps(params, sort_keys=True)
        data = self._memory.get(key)
        cached = self._cache_file(key)
        if data is None and cached is not None and cached.exists():
            try:
                data = json.loads(cached.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # a damaged cache entry is fetched again
                data = None
        fresh = data is None
        if fresh:
            data = self._fetch(params)
        try:
            parsed = parse(data)
        except _Malformed as err:
            raise WikipediaError(f"malformed answer from {self.base_url} to {params}: {err}; "
                                 "is base_url a MediaWiki api.php?") from err
        self._memory[key] = data
        if fresh and cached is not None:
            self._store(cached, data)
        return parsed

    def _fetch(self, params: dict) -> dict:
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self.session.get(self.base_url, params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as err:
                problem = f"{type(err).__name__}: {err}"
                continue
            except requests.RequestException as err:
                raise WikipediaError(f"cannot request {self.base_url}: {type(err).__name__}: {err}; check base_url") from err
            if response.status_code in _RETRY_STATUS:
                problem = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                raise WikipediaError(f"{self.base_url} answered HTTP {response.status_code} to {params}; "
                                     "check base_url (it must be a MediaWiki api.php)")
            try:
                data = response.json()
            except ValueError as err:
                raise WikipediaError(f"malformed answer from {self.base_url} to {params}: not JSON "
                                     f"({response.text[:80]!r}); is base_url a MediaWiki api.php?") from err
            if not isinstance(data, dict):
                raise WikipediaError(f"malformed answer from {self.base_url} to {params}: a JSON "
                                     f"{type(data).__name__}, not an object; is base_url a MediaWiki api.php?")
            if "error" in data:
                error = data["error"] if isinstance(data["error"], dict) else {"info": data["error"]}
                raise WikipediaError(f"the MediaWiki API at {self.base_url} refused {params}: "
                                     f"{error.get('code', '?')}: {error.get('info', '')}")
            return data
        raise WikipediaError(
            f"could not reach the MediaWiki API at {self.base_url} after {self.retries + 1} attempts "
            f"(last: {problem}); check the network connection and base_url, or use corpus='local' "
            "(answers already fetched are served from the on-disk cache)"
        )

    def _store(self, path: Path, data: dict) -> None:
        # Written beside the target and renamed, so a killed process never leaves half a file.
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out)
            os.replace(tmp, path)
        except OSError as err:  # a read-only cache only costs speed
            logging.getLogger(__name__).warning("could not cache a Wikipedia answer in %s: %s", path, err)
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
