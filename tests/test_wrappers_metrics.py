"""The step metrics of wrappers.metrics: normalisation, exact, token F1, similarity, callables."""

from __future__ import annotations

import pytest
from rapidfuzz import fuzz

from wrappers.metrics import METRICS, exact_match, normalize_action, resolve_metric, similarity, token_f1


@pytest.mark.parametrize(
    "action, expert",
    [
        ("click [ Buy Now ]", "click[buy now]"),
        ("  SEARCH[ red  shoes ]\n", "search[red shoes]"),
        ("Click[Buy\tNow]", "click[buy now]"),
        ("click\n[\tBuy Now\t]", "click[Buy Now]"),
        ("go north", "GO   NORTH"),
    ],
)
def test_exact_ignores_case_whitespace_and_bracket_spacing(action, expert):
    assert exact_match(action, expert) == 1.0
    assert normalize_action(action) == normalize_action(expert)


@pytest.mark.parametrize(
    "action, expert",
    [
        ("click[buy now]", "click[buy]"),
        ("search[red shoes]", "search[redshoes]"),
        ("search[red shoes]", "click[red shoes]"),
        ("", "click[x]"),
    ],
)
def test_exact_tells_different_actions_apart(action, expert):
    assert exact_match(action, expert) == 0.0


def test_normalize_action_gives_the_canonical_spelling():
    assert normalize_action("Click [ Buy  Now ]") == "click[buy now]"
    assert normalize_action("search[a] [b]") == "search[a][b]"


@pytest.mark.parametrize(
    "action, expert, f1",
    [
        ("click[buy now]", "click[buy]", 0.8),  # p = 1, r = 2/3
        ("Click [ Buy Now ]", "click[buy now]", 1.0),
        ("search[a]", "click[b]", 0.0),
        ("go go north", "go north", 0.8),  # multiset overlap 2: p = 2/3, r = 1
        ("", "", 1.0),
        ("[]", "click[x]", 0.0),
    ],
)
def test_token_f1(action, expert, f1):
    assert token_f1(action, expert) == pytest.approx(f1)


def test_similarity_is_rapidfuzz_ratio_of_the_normalised_actions():
    assert similarity("Click [ Buy ]", "click[bu]") == pytest.approx(fuzz.ratio("click[buy]", "click[bu]") / 100)
    assert similarity("click [ Buy Now ]", "click[buy now]") == 1.0
    assert similarity("abcd", "wxyz") == 0.0


@pytest.mark.parametrize("metric", list(METRICS.values()))
def test_metrics_stay_in_unit_interval(metric):
    pairs = [("click[a b c]", "click[a]"), ("", "x"), ("search[é]", "search[e]"), ("a", "a")]
    assert all(0.0 <= metric(a, b) <= 1.0 for a, b in pairs)


def test_resolve_metric_by_name_or_callable():
    assert resolve_metric("exact") is exact_match
    assert resolve_metric("f1") is token_f1
    assert resolve_metric("similarity") is similarity

    def prefix(action, expert):
        return float(expert.startswith(action))

    assert resolve_metric(prefix) is prefix


@pytest.mark.parametrize("metric", ["exactt", "EXACT", 3, None])
def test_unknown_metric_is_rejected_with_the_choices(metric):
    expected = rf"unknown metric {metric!r}; expected one of exact, f1, similarity or a callable"
    with pytest.raises(ValueError, match=expected):
        resolve_metric(metric)
