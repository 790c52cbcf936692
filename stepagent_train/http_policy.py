"""A policy served by an OpenAI-compatible chat-completions endpoint (vLLM, for example).

Each prompt's chat messages are POSTed to ``<base_url>/chat/completions``; the
action is read from ``choices[0].message.content`` with the prompt builder's
parser. The prompts of a batch are sent concurrently.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import requests

from .prompts import Prompt, PromptBuilder

__all__ = ["HTTPPolicy", "HTTPPolicyError"]

# Worth another try: the server is busy or briefly down.
_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


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
        timeout: Seconds to wait for each request (connect and read).
        retries: Further tries after a timeout, a connection error, or status
            408/409/425/429/5xx.
        backoff: Seconds before the first retry; doubled after each.
        max_workers: Requests in flight at once.
    """

    def __init__(self, base_url: str, model: str, builder: PromptBuilder | None = None, api_key: str | None = None,
                 max_tokens: int = 64, temperature: float = 0.0, timeout: float = 60.0, retries: int = 3,
                 backoff: float = 1.0, max_workers: int = 16):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if timeout <= 0 or retries < 0 or backoff < 0 or max_workers < 1:
            raise ValueError(
                f"need timeout > 0, retries >= 0, backoff >= 0, max_workers >= 1; got timeout={timeout}, "
                f"retries={retries}, backoff={backoff}, max_workers={max_workers}"
            )
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.builder = builder or PromptBuilder()
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.timeout = timeout
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
                response = self.session.post(self.url, json=body, headers=self.headers, timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError) as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if response.status_code == 200:
                    return _content(response, self.url)
                problem = f"HTTP {response.status_code}: {response.text[:200]!r}"
                if response.status_code not in _RETRY_STATUS:
                    raise HTTPPolicyError(f"{self.url} answered {problem}; check the model name and the request")
            if attempt < self.retries:
                time.sleep(delay)
                delay *= 2
        raise HTTPPolicyError(
            f"{self.url} failed {self.retries + 1} times (timeout {self.timeout} s); last: {problem}. "
            "Is the server up and fast enough? Raise timeout= or retries="
        )


def _content(response: requests.Response, url: str) -> str:
    """``choices[0].message.content`` of a chat-completions answer, or a clear error."""
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise HTTPPolicyError(
            f"{url} answered 200 but not an OpenAI chat completion (no choices[0].message.content): "
            f"{response.text[:200]!r}; is it an OpenAI-compatible /v1 endpoint?"
        ) from None
    if not isinstance(content, str):
        raise HTTPPolicyError(f"{url} answered a message content of type {type(content).__name__}, not a string")
    return content
