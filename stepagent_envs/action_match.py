"""When two actions are the same action: the env-side rule the evaluators and the
wrappers' step metrics share (:mod:`wrappers.metrics` builds its softer metrics on it).

``"click [ Buy Now ]"`` and ``"click[buy now]"`` are the same action.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["exact_match", "normalize_action"]


def normalize_action(action: str) -> str:
    """``action`` lowercased, with whitespace runs collapsed to one space and no
    space next to a square bracket: ``"Click [ Buy  Now ]"`` -> ``"click[buy now]"``.

    Args:
        action: The action text.
    """
    text = " ".join(action.lower().split())
    # After the collapse at most one space touches a bracket; str.replace is far
    # cheaper than a regex.
    if "[ " in text or " [" in text or " ]" in text or "] " in text:
        text = text.replace(" [", "[").replace("[ ", "[").replace(" ]", "]").replace("] ", "]")
    return text


# Actions repeat (the expert's plans, an agent's usual actions), and a cache hit
# costs a fraction of normalising: this runs on every wrapped step.
normalized = lru_cache(maxsize=1 << 14)(normalize_action)


def exact_match(action: str, expert_action: str) -> float:
    """1.0 when the two actions are equal after :func:`normalize_action`, else 0.0.

    Args:
        action: The agent's action.
        expert_action: The expert's action.
    """
    # Agents often repeat the expert's spelling exactly; skip normalising then.
    return 1.0 if action == expert_action or normalized(action) == normalized(expert_action) else 0.0
