"""The env contract shared by every ``Step*-v0`` env (see docs/design.md).

Observation and action spaces are :class:`gymnasium.spaces.Text` over one
printable charset; env text is normalised into it with :func:`to_charset`.
"""

from __future__ import annotations

import string
import unicodedata

import gymnasium as gym
from gymnasium import spaces

#: Printable ASCII plus newline and tab: every observation and action fits it.
CHARSET = frozenset(string.printable) - frozenset("\x0b\x0c\r")
CHARSET_STR = "".join(sorted(CHARSET))

#: Keys every contract env puts in ``info`` on reset and on every step.
INFO_KEYS = ("task", "task_id", "valid_actions", "won", "score", "invalid")

# Typographic characters NFKD does not reduce to ASCII.
_REPLACEMENTS = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2022": "*",
        "\u203a": ">", "\u2039": "<", "\u00d7": "x", "\u00b0": " deg",
        "\u2122": "", "\u00ae": "", "\u00a9": "", "\u200f": "", "\u200e": "",
        "\u200b": "", "\ufeff": "", "\u00a0": " ", "\r": "",
    }
)


class ExpertUnavailable(RuntimeError):
    """An env's oracle has no plan from the current state (the message says why).

    Envs raise it from ``expert_action()`` rather than guess; the expert-step
    wrapper then pays no step reward for that step.
    """


class TextEnv(gym.Env):
    """Base of the contract envs: ``render_mode="ansi"`` renders the current observation
    (subclasses keep it in ``self._obs``)."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def render(self):
        if self.render_mode == "ansi":
            return self._obs
        return None


def text_space(max_length: int) -> spaces.Text:
    """A Text space over :data:`CHARSET` holding strings of 0..max_length characters."""
    return spaces.Text(max_length=max_length, min_length=0, charset=CHARSET_STR)


def to_charset(text: str, max_length: int | None = None) -> str:
    """Map ``text`` into :data:`CHARSET` (accents stripped, symbols transliterated,
    the rest dropped) and cut it to ``max_length`` characters."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_REPLACEMENTS))
    text = text.replace("\r", "")
    if not all(c in CHARSET for c in text):
        text = "".join(c for c in text if c in CHARSET)
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 3] + "..."
    return text
