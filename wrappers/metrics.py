"""Step metrics: how close an agent's action is to the expert's, as a float in [0, 1].

A metric is any callable ``metric(action, expert_action) -> float`` in [0, 1].
The built-in ones compare the actions after :func:`normalize_action`, so
``"click [ Buy Now ]"`` and ``"click[buy now]"`` are the same action.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from rapidfuzz import fuzz

from stepagent_envs.action_match import exact_match, normalize_action
from stepagent_envs.action_match import normalized as _normalized

__all__ = ["METRICS", "Metric", "exact_match", "normalize_action", "resolve_metric", "similarity", "token_f1"]

Metric = Callable[[str, str], float]

_TOKEN = re.compile(r"\w+")


@lru_cache(maxsize=1 << 14)
def _tokens(action: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(action.lower()))


def token_f1(action: str, expert_action: str) -> float:
    """The F1 of the word tokens (``\\w+``) of the two lowercased actions, counted
    as multisets (SQuAD-style); where neither has a token, :func:`exact_match`.

    Args:
        action: The agent's action.
        expert_action: The expert's action.
    """
    if action == expert_action:
        return 1.0
    ours, theirs = _tokens(action), _tokens(expert_action)
    if ours == theirs:
        return 1.0 if ours else exact_match(action, expert_action)
    if not ours or not theirs:
        return 0.0
    # Multiset overlap; a list beats collections.Counter on action-sized token lists.
    unmatched = list(theirs)
    common = 0
    for token in ours:
        if token in unmatched:
            unmatched.remove(token)
            common += 1
    if common == 0:
        return 0.0
    precision, recall = common / len(ours), common / len(theirs)
    return 2 * precision * recall / (precision + recall)


def similarity(action: str, expert_action: str) -> float:
    """rapidfuzz's normalised Indel similarity (``fuzz.ratio / 100``) of the two
    normalised actions.

    Args:
        action: The agent's action.
        expert_action: The expert's action.
    """
    if action == expert_action:
        return 1.0
    return fuzz.ratio(_normalized(action), _normalized(expert_action)) / 100.0


#: The metrics known by name.
METRICS: dict[str, Metric] = {"exact": exact_match, "f1": token_f1, "similarity": similarity}


def resolve_metric(metric: str | Metric) -> Metric:
    """The metric function for a name in :data:`METRICS`, or ``metric`` itself when callable.

    Args:
        metric: ``"exact"``, ``"f1"``, ``"similarity"`` or a callable
            ``metric(action, expert_action) -> float`` in [0, 1].

    Raises:
        ValueError: ``metric`` is neither a known name nor callable.
    """
    if callable(metric):
        return metric
    if isinstance(metric, str) and metric in METRICS:
        return METRICS[metric]
    raise ValueError(
        f"unknown metric {metric!r}; expected one of {', '.join(METRICS)} or a callable "
        "metric(action, expert_action) -> float in [0, 1]"
    )
