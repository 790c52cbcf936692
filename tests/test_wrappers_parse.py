"""wrappers.parse_action: the react, raw, regex and callable styles."""

from __future__ import annotations

import pickle
import re

import pytest

from wrappers.parse_action import _parser, parse_action


@pytest.mark.parametrize(
    "text, action",
    [
        ("Thought: I need red shoes.\nAction: search[red shoes]", "search[red shoes]"),
        ("action: click[Buy Now]", "click[Buy Now]"),
        ("ACTION:click[Buy Now]  ", "click[Buy Now]"),
        ("Thought: a\nAction: search[a]\nObservation: many\nThought: b\nAction: click[b]", "click[b]"),
        ("Action 2: search[x]", "search[x]"),
        ("**Action:** click[Buy Now]", "click[Buy Now]"),
        ("**Action**: `click[Buy Now]`", "click[Buy Now]"),
        ("- __Action__: click[x]", "click[x]"),
        ("> Action: click[x]", "click[x]"),
        ('Action: "click[x]"', "click[x]"),
        ("Thought: hm\nAction:\n```\nclick[Buy Now]\n```", "click[Buy Now]"),
        ("Action: ```text\nclick[x]\n```", "click[x]"),
        ("Action: ```click[x]```", "click[x]"),
        ("```\nThought: t\nAction: click[x]\n```", "click[x]"),
        ("**Action:**\n\nclick[x]", "click[x]"),
        ("Thought: the price: 30 dollars\nAction: click[< Prev]", "click[< Prev]"),
        # a tool call whose argument spans lines is one action, up to its closing bracket
        ("Action: python[total = 10 * 128\nprint(total - 911)]", "python[total = 10 * 128\nprint(total - 911)]"),
        ("Thought: t\nAction: python[a = [1, 2]\nprint(a[0])]\nObservation: 1", "python[a = [1, 2]\nprint(a[0])]"),
        ("Action: python[a = 1\nprint(a)", "python[a = 1"),  # never closed: the line alone, for the env to flag
    ],
)
def test_react_finds_the_last_action_line(text, action):
    assert parse_action(text, "react") == action
    assert parse_action(text) == action  # react is the default


@pytest.mark.parametrize(
    "text",
    [
        "I will click buy now.",
        "",
        "   \n",
        "Thought: hmm\nAction:",
        "Thought: hmm\nAction:   \n\n",
        "Action:\nObservation: nothing",
        "Thought: my next Action: click[x]",  # not at a line start
        "Action: ``` ```",
    ],
)
def test_react_without_an_action_gives_none(text):
    assert parse_action(text, "react") is None


@pytest.mark.parametrize(
    "text, action",
    [
        ("  click[x]\nbecause I want it", "click[x]"),
        ("\n\n search[a b] \n", "search[a b]"),
        ("Action: go", "Action: go"),
        ("python[x = 1\nprint(x)]\nbecause", "python[x = 1\nprint(x)]"),
        ("click[x]\rbecause", "click[x]"),  # any line break ends a line, as str.splitlines says
    ],
)
def test_raw_takes_the_first_line_of_the_stripped_text(text, action):
    assert parse_action(text, "raw") == action


def test_raw_without_text_gives_none():
    assert parse_action(" \n\t", "raw") is None


def test_regex_styles_take_group_one_or_the_whole_match():
    assert parse_action("bla <act> click[x] </act> <act>no</act>", r"<act>(.*?)</act>") == "click[x]"
    assert parse_action("I'd say click[Buy Now] here", re.compile(r"click\[[^\]]*\]")) == "click[Buy Now]"
    assert parse_action("nothing", r"<act>(.*?)</act>") is None
    assert parse_action("<act>  </act>", r"<act>(.*?)</act>") is None  # empty counts as none
    assert parse_action("a", r"(b)?a") is None  # group 1 did not take part


def test_callable_style():
    assert parse_action("x | click[a] | y", lambda text: text.split("|")[1]) == "click[a]"
    assert parse_action("x", lambda text: None) is None
    assert parse_action("x", lambda text: "  ") is None
    with pytest.raises(TypeError, match="must return a str or None"):
        parse_action("x", lambda text: 3)


@pytest.mark.parametrize(
    "style, message",
    [
        ("recat", r"unknown style 'recat'; expected 'react', 'raw'.*re\.compile\('recat'\)"),
        ("(", r"style '\(' is not a valid regex"),
        (3, r"unknown style 3; expected 'react', 'raw'"),
    ],
)
def test_bad_styles_are_rejected(style, message):
    with pytest.raises(ValueError, match=message):
        parse_action("Action: x", style)


def test_non_str_text_is_a_type_error():
    with pytest.raises(TypeError, match="must be a str, got list"):
        parse_action(["Action: x"])


@pytest.mark.parametrize("style", ["react", "raw", r"<a>(.*)</a>", re.compile("x")])
def test_parsers_pickle(style):
    parser = pickle.loads(pickle.dumps(_parser(style)))
    assert parser("Action: <a>x</a>") == parse_action("Action: <a>x</a>", style)
