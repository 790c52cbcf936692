"""A policy served by an OpenAI-compatible chat-completions endpoint (vLLM, for example).

Each prompt's chat messages are POSTed to ``<base_url>/chat/completions``; the
action is read from ``choices[0].message.content`` with the prompt builder's
parser. The prompts of a batch are sent concurrently. Every try has an
overall deadline: the body is read in pieces and the try is abandoned once the
deadline passes, so a server that dribbles bytes cannot hold a request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import requests
import urllib3

from .prompts import Prompt, PromptBuilder

__all__ = ["HTTPPolicy", "HTTPPolicyError"]

# Worth another try: the server is busy or briefly down.
_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
# Worth another try too: no answer in time, a refused or dropped connection, a body cut off mid-way.
_RETRY_ERRORS = (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                 urllib3.exceptions.ProtocolError, urllib3.exceptions.ReadTimeoutError, TimeoutError)
_PIECE = 1 << 16  # bytes read at most per read of the body


class HTTPPolicyError(RuntimeError):
    """The endpoint failed for good: retries exhausted, a client error, or a malformed answer."""


class HTTPPolicy:
    """An OpenAI-compatible chat-completions endpoint as a policy.

    Args:
        base_url: The API root, e.g. ``http://127.0.0.1:8000/v1``.
        model: The served model's name (the request's ``model`` field).
        builder: The prompt builder (give it the served model's tokenizer for an
            exact token budget; without one it counts 4 characters a token).
        api_key: Sent as ``Authorization: Bearer <api_key>`` when given.
        max_tokens: Longest answer.
        temperature: Sampling temperature (0 is greedy on vLLM).
        timeout: Seconds to wait for the connection and for each read of the answer.
        deadline: Seconds one try may take in all (connect, send, the whole answer);
            past it the try is abandoned and counts as a timeout. It is checked
            between reads, so a try ends at most ``min(timeout, deadline)`` late.
        retries: Further tries after a timeout, a connection error, or status
            408/409/425/429/5xx.
        backoff: Seconds before the first retry; doubled after each.
        max_workers: Requests in flight at once.
    """

    def __init__(self, base_url: str, model: str, builder: PromptBuilder | None = None, api_key: str | None = None,
                 max_tokens: int = 64, temperature: float = 0.0, timeout: float = 60.0, retries: int = 3,
                 backoff: float = 1.0, max_workers: int = 16, deadline: float = 300.0):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0 (0 is greedy), got {temperature}")
        if not (timeout > 0 and deadline > 0 and retries >= 0 and backoff >= 0 and max_workers >= 1):
            raise ValueError(
                f"need timeout > 0, deadline > 0, retries >= 0, backoff >= 0, max_workers >= 1; got timeout={timeout}, "
                f"deadline={deadline}, retries={retries}, backoff={backoff}, max_workers={max_workers}"
            )
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.builder = builder or PromptBuilder()
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.timeout = timeout
        self.deadline = deadline
        self.retries = retries
        self.backoff = backoff
        self.max_workers = max_workers
        self.session = requests.Session()

    def act(self, prompts: Sequence[Prompt]) -> list[str]:
        """One action per prompt, read from each answer with ``builder.parse``."""
        if len(prompts) <= 1:
            texts = [self.complete(p.messages) for p in prompts]
        else:
            with ThreadPoolExecutor(min(self.max_workers, len(prompts))) as pool:
                texts = list(pool.map(lambda p: self.complete(p.messages), prompts))
        return [self.builder.parse(t) for t in texts]

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The endpoint's answer text to ``messages``, with retries.

        Raises:
            HTTPPolicyError: Every try failed, the server answered a client error
                (4xx other than the retried ones), or the answer is not a chat completion.
        """
        body = {"model": self.model, "messages": messages, "max_tokens": self.max_tokens, "temperature": self.temperature}
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                status, data = self._post(body)
            except _RETRY_ERRORS as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if status == 200:
                    return _content(data, self.url)
                problem = f"HTTP {status}: {data[:200]!r}"
                if status not in _RETRY_STATUS:
                    raise HTTPPolicyError(f"{self.url} answered {problem}; check the model name and the request")
            if attempt < self.retries:
                time.sleep(delay)
                delay *= 2
        raise HTTPPolicyError(
            f"{self.url} failed {self.retries + 1} times (timeout {self.timeout} s, deadline {self.deadline} s); "
            f"last: {problem}. Is the server up and fast enough? Raise timeout=, deadline= or retries="
        )

    def _post(self, body: dict) -> tuple[int, bytes]:
        """One try: the status and the whole body, read within the deadline.

        Raises:
            TimeoutError: The deadline passed before the body was complete.
        """
        end = time.monotonic() + self.deadline
        wait = min(self.timeout, self.deadline)
        with self.session.post(self.url, json=body, headers=self.headers, timeout=wait, stream=True) as response:
            pieces = []
            while piece := response.raw.read1(_PIECE, decode_content=True):
                pieces.append(piece)
                if time.monotonic() > end:
                    raise TimeoutError(f"the answer took longer than the deadline ({self.deadline} s)")
            return response.status_code, b"".join(pieces)


def _content(data: bytes, url: str) -> str:
    """``choices[0].message.content`` of a chat-completions answer, or a clear error."""
    try:
        content = json.loads(data)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise HTTPPolicyError(
            f"{url} answered 200 but not an OpenAI chat completion (no choices[0].message.content): "
            f"{data[:200]!r}; is it an OpenAI-compatible /v1 endpoint?"
        ) from None
    if not isinstance(content, str):
        raise HTTPPolicyError(f"{url} answered a message content of type {type(content).__name__}, not a string")
    return content
