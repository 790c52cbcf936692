"""StepHotpot's expert oracle: read the missing supporting pages, then answer.

From any state: ``search[title]`` for the first supporting page (in the
order the question needs them, see :func:`.data.order_support`) not yet
landed on, then ``finish[answer]`` with the gold answer. A supporting title
already searched without landing on it (the backend lacks the page: a
fullwiki file, or Wikipedia having renamed it) is skipped rather than
searched again, so the expert always ends; :func:`missing_pages` names such
pages.
"""

from __future__ import annotations

from ..contract import to_charset
from .data import title_key


def missing_pages(env) -> list[str]:
    """Supporting titles searched for but never landed on: the expert could not read them."""
    s = env.state
    return [t for t in env.question.support if t not in s.seen and title_key(t) in s.searched]


def next_action(env) -> str:
    """The expert's next action for ``env`` (a :class:`~.env.StepHotpotEnv` mid-episode)."""
    s = env.state
    for title in env.question.support:
        if title not in s.seen and title_key(title) not in s.searched:
            return f"search[{to_charset(title)}]"
    return f"finish[{to_charset(env.question.answer)}]"
