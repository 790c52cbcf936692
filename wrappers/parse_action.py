"""Extract the action from a model's free-form answer ("Thought: ...\\nAction: click[...]")."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

import gymnasium as gym
from gymnasium import spaces

__all__ = ["STYLES", "ParseAction", "Parser", "parse_action"]

#: A parser: ``parser(text) -> action``, or None when the text holds none.
Parser = Callable[[str], "str | None"]

# An "Action:" label at a line start, maybe numbered ("Action 2:") and dressed in
# markdown ("**Action:**", "- __Action__:", "> Action:"); group 1 is the rest of the line.
_ACTION_LINE = re.compile(r"^[ \t>*_#-]*action(?:[ \t]*\d+)?[ \t*_]*:[ \t]*(.*?)[ \t]*$", re.IGNORECASE | re.MULTILINE)
# Any ReAct label line ("Thought:", "Observation 3:"): not an action.
_LABEL_LINE = re.compile(r"^[ \t>*_#-]*[a-z]+(?:[ \t]*\d+)?[ \t*_]*:", re.IGNORECASE)
_QUOTES = ('"', "'")
# ExpertStepReward's info keys for a step that asked no expert and paid nothing, so
# that a format error never repeats the last step's expert action and rewards.
_NOTHING_PAID = {"expert_action": None, "step_reward": 0.0, "env_reward": 0.0}


def parse_action(text: str, style: str | re.Pattern | Parser = "react") -> str | None:
    """The action in a model's answer, or None when it holds none.

    Args:
        text: The model's answer.
        style: How the action is written:

            * ``"react"``: the last line starting with ``Action:``
              (case-insensitive, maybe numbered as ``Action 2:``), tolerating
              markdown emphasis (``**Action:**``), inline code and code
              fences; an empty ``Action:`` line takes the next line unless that
              is another label (``Observation:``); an action whose ``[`` is
              still open at the line's end runs on to the line that closes it
              (a multi-line ``python[...]`` program is one action);
            * ``"raw"``: the first line of the stripped text (continued in the
              same way while a ``[`` is open);
            * a regex pattern string or a compiled regex: group 1 of its first
              match (``re.search``), or the whole match if it has no group;
            * a callable ``parser(text) -> str | None``.

            The action found is stripped; an empty one counts as none.

    Raises:
        TypeError: ``text`` is not a str, or a callable style returned
            something other than a str or None.
        ValueError: ``style`` is none of the above, or an invalid regex.
    """
    return _parser(style)(text)


class ParseAction(gym.Wrapper):
    """Lets a model answer in free form: extracts the action from its answer with
    :func:`parse_action` and steps the env with it.

    When the answer holds no action (or is not a str), the env is not stepped:
    the state is unchanged and the step returns the last observation prefixed
    with ``feedback`` and a newline, reward 0, ``terminated`` and ``truncated``
    False, and a copy of the last info with ``invalid`` and ``format_error``
    True; where an :class:`~wrappers.ExpertStepReward` is inside, its
    ``expert_action`` is None and its ``step_reward`` and ``env_reward`` are 0
    (no expert was asked, nothing was paid). A parsed answer sets
    ``info["format_error"] = False``.

    Format errors do not count toward the env's ``TimeLimit``, which is inside;
    wrap this wrapper in ``gymnasium.wrappers.TimeLimit`` to bound answers too.

    Wrap every wrapper that reads actions, such as
    :class:`~wrappers.ExpertStepReward`, inside this one.

    Args:
        env: A text env.
        style: The answer style, as in :func:`parse_action`; ``"react"`` by default.
        feedback: The text telling the model what was wrong and the expected
            format; by default one suited to ``style``. Where the observation
            space is a ``Text`` space, the feedback must fit its charset, and
            feedback plus observation is cut to its ``max_length``.

    Raises:
        ValueError: ``style`` is unknown, or ``feedback`` does not fit the
            observation space.
    """

    def __init__(self, env: gym.Env, style: str | re.Pattern | Parser = "react", feedback: str | None = None):
        super().__init__(env)
        self.parser = _parser(style)
        self.feedback = _default_feedback(style) if feedback is None else feedback
        self._prefix = self.feedback + "\n"
        space = env.observation_space
        self._max_length = space.max_length if isinstance(space, spaces.Text) else None
        if self._max_length is not None:
            _check_fits(self._prefix, space)
        self._obs: Any = None
        self._info: dict | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the env, keeping the observation and info a format error returns."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs, self._info = obs, info
        return obs, info

    def step(self, action: Any):
        """Step the env with the action parsed from ``action``, or return feedback if there is none."""
        if self._info is None:
            raise RuntimeError("ParseAction: call reset() before step()")
        parsed = self.parser(action) if isinstance(action, str) else None
        if parsed is None:
            obs = self._prefix + self._obs
            if self._max_length is not None:
                obs = obs[: self._max_length]
            info = {**self._info, "invalid": True, "format_error": True}
            if "step_reward" in info:
                info.update(_NOTHING_PAID)
            return obs, 0.0, False, False, info
        obs, reward, terminated, truncated, info = self.env.step(parsed)
        info["format_error"] = False
        self._obs, self._info = obs, info
        return obs, reward, terminated, truncated, info


def _parser(style: Any) -> Parser:
    """The parser of a style, or a ValueError naming the style and the choices.

    Parsers are module functions or partials of them, so wrapped envs pickle.
    """
    if isinstance(style, str) and style in _NAMED_STYLES:
        return _NAMED_STYLES[style]
    if isinstance(style, re.Pattern):
        return partial(_parse_regex, style)
    if isinstance(style, str):
        # A bare word is far likelier a misspelt style name than a pattern.
        if style.isidentifier():
            raise ValueError(
                f"unknown style {style!r}; expected 'react', 'raw', a regex pattern such as "
                r"r'Action:\s*(.+)', a compiled regex or a callable text -> str | None "
                f"(to match the word {style!r} itself, pass re.compile({style!r}))"
            )
        try:
            return partial(_parse_regex, re.compile(style))
        except re.error as error:
            raise ValueError(f"style {style!r} is not a valid regex ({error}); fix the pattern") from None
    if callable(style):
        return partial(_parse_with, style)
    raise ValueError(
        f"unknown style {style!r}; expected 'react', 'raw', a regex pattern, a compiled regex "
        "or a callable text -> str | None"
    )


def _default_feedback(style: Any) -> str:
    if style == "react":
        return 'Invalid format: no action found. End your answer with one line "Action: <action>".'
    if style == "raw":
        return "Invalid format: the answer is empty. Answer with the action only."
    if isinstance(style, (str, re.Pattern)):
        pattern = style if isinstance(style, str) else style.pattern
        return f"Invalid format: no action found; the answer must match the pattern {pattern}"
    return "Invalid format: no action found in the answer."


def _check_fits(prefix: str, space: spaces.Text) -> None:
    outside = sorted(set(prefix) - set(space.character_set))
    if outside:
        raise ValueError(
            f"the feedback {prefix!r} has characters {outside} outside the observation space's "
            "charset; pass feedback= written with the space's characters only"
        )
    if len(prefix) > space.max_length:
        raise ValueError(
            f"the feedback has {len(prefix)} characters with its newline, more than the observation "
            f"space's max_length {space.max_length}; pass a shorter feedback="
        )


def _check_text(text: Any) -> None:
    if not isinstance(text, str):
        raise TypeError(f"the answer to parse must be a str, got {type(text).__name__}")


def _finish(action: str | None) -> str | None:
    """The action stripped, or None when empty."""
    if action is None:
        return None
    action = action.strip()
    return action or None


def _parse_react(text: str) -> str | None:
    _check_text(text)
    last = None
    for last in _ACTION_LINE.finditer(text):
        pass
    if last is None:
        return None
    rest = last.group(1)
    if not rest.strip("`*") or (rest.startswith("```") and rest.count("```") == 1):
        # "Action:" alone, or opening a code fence: the action is on the next line.
        rest = _next_line(text[last.end() :])
        if rest is None:
            return None
        return _finish(_unwrap(rest))
    # The match ends at its line's end, so the text after it starts with that line's newline.
    return _finish(_unwrap(_close_bracket(rest, text[last.end() :].split("\n")[1:])))


def _close_bracket(line: str, following: list[str]) -> str:
    """``line`` continued over the ``following`` lines until its open ``[`` closes: a tool call
    whose argument spans lines (``python[x = 2\nprint(x)]``) is one action. A bracket that
    never closes leaves ``line`` alone, for the env to flag."""
    depth = line.count("[") - line.count("]")
    if depth <= 0:
        return line
    parts = [line]
    for next_line in following:
        parts.append(next_line)
        depth += next_line.count("[") - next_line.count("]")
        if depth <= 0:
            joined = "\n".join(parts)
            return joined[: joined.rindex("]") + 1] if depth == 0 else joined
    return line


def _next_line(text: str) -> str | None:
    """The first non-empty line of ``text`` outside fence markers, unless it is a label."""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("```"):
            continue
        return None if _LABEL_LINE.match(line) else line
    return None


def _unwrap(action: str) -> str:
    """``action`` without surrounding markdown emphasis, backticks and matching quotes."""
    action = action.strip().strip("*`").strip()
    if len(action) >= 2 and action[0] == action[-1] and action[0] in _QUOTES:
        action = action[1:-1]
    return action


def _parse_raw(text: str) -> str | None:
    _check_text(text)
    lines = text.strip().splitlines()
    return _finish(_close_bracket(lines[0], lines[1:])) if lines else None


def _parse_regex(pattern: re.Pattern, text: str) -> str | None:
    _check_text(text)
    match = pattern.search(text)
    if match is None:
        return None
    return _finish(match.group(1) if pattern.groups else match.group(0))


def _parse_with(parser: Callable[[str], Any], text: str) -> str | None:
    _check_text(text)
    action = parser(text)
    if action is not None and not isinstance(action, str):
        raise TypeError(
            f"the parser {parser!r} returned {type(action).__name__} {action!r:.80}; it must return a str or None"
        )
    return _finish(action)


_NAMED_STYLES = {"react": _parse_react, "raw": _parse_raw}
#: The named parsing styles.
STYLES = tuple(_NAMED_STYLES)
