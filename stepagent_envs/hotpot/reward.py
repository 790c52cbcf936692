"""Answer scoring: SQuAD-style normalisation, token F1 and exact match.

As HotpotQA's official evaluation: lower case, punctuation and the articles
a / an / the removed, whitespace collapsed; a yes / no / noanswer answer scores
F1 0 against anything else. Two additions, both documented: both strings are
first mapped into the action charset with :func:`~stepagent_envs.contract.to_charset`
(an agent can only type ASCII, so "Pedro Rodriguez" must match the gold
"Pedro Rodríguez"), and two answers that normalise to nothing score F1 1, as in
SQuAD 2.0's evaluation (HotpotQA's would give 0 to the gold answer itself).
"""

from __future__ import annotations

import re
import string
from collections import Counter

from ..contract import to_charset

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_SPECIAL = ("yes", "no", "noanswer")


def normalize_answer(text: str) -> str:
    """``text`` in ASCII, lower case, without punctuation and articles, single-spaced."""
    text = to_charset(text).lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> bool:
    """Whether the two answers are equal after :func:`normalize_answer`."""
    return normalize_answer(prediction) == normalize_answer(gold)


def answer_f1(prediction: str, gold: str) -> float:
    """Token F1 between the normalised answers, in [0, 1]."""
    pred, ref = normalize_answer(prediction), normalize_answer(gold)
    if (pred in _SPECIAL or ref in _SPECIAL) and pred != ref:
        return 0.0
    pred_tokens, ref_tokens = pred.split(), ref.split()
    if not pred_tokens or not ref_tokens:
        return float(pred_tokens == ref_tokens)
    common = sum((Counter(pred_tokens) & Counter(ref_tokens)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred_tokens), common / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)
