"""Read GSM8K JSON Lines (``question``, ``answer``) into StepMath-v0 problems.

GSM8K's ``answer`` is a worked solution whose arithmetic carries calculator
annotations, ``<<16-3-4=9>>``, and ends with ``#### <number>``. The gold
answer is that number (commas dropped). The solution program is the
annotations' expressions, one statement each, in order, each printed; the
expressions are data from the file and run only in the sandbox, like any
other program. A solution whose last step is in words (no annotation for
it; 6 of the 60 problems of the shared sample) gives a program that does
not print the answer: the expert then answers from the gold after running it.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from pydantic import TypeAdapter
from typing_extensions import TypedDict

from ..records import DataError, validate_json_text
from .answer import parse_number
from .problems import Problem

_ANNOTATION = re.compile(r"<<([^<>=]*)=([^<>]*)>>")
_FIX = "pass a GSM8K JSON Lines file: one {\"question\": ..., \"answer\": \"... #### <number>\"} object per line"


class _Record(TypedDict):
    question: str
    answer: str


_RECORD = TypeAdapter(_Record)


def solution_program(solution: str) -> str:
    """The python program of a GSM8K worked solution: its annotated expressions, each printed."""
    lines = []
    for i, (expression, result) in enumerate(_ANNOTATION.findall(solution), start=1):
        lines.append(f"step{i} = {expression.strip()}  # the solution says {result.strip()}")
        lines.append(f"print('step{i} =', step{i})")
    return "\n".join(lines) or "print('the solution has no calculator annotations')"


@lru_cache(maxsize=4)
def _load(path: str, mtime: float, size: int) -> tuple[Problem, ...]:
    problems = []
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            record = validate_json_text(_RECORD, raw, path, _FIX, loc=(number,), unit="line")
            head, sep, tail = record["answer"].rpartition("####")
            gold = parse_number(tail) if sep else None
            if gold is None:
                raise DataError(f"{path}: line {number} .answer: expected the solution to end with '#### <number>', "
                                f"got {record['answer'][-40:]!r}; {_FIX}")
            problems.append(Problem(f"gsm8k-{number}", record["question"].strip(), gold, solution_program(head),
                                    source="gsm8k"))
    if not problems:
        raise DataError(f"{path}: no problems in the file; {_FIX}")
    return tuple(problems)


def load_gsm8k(path: str | os.PathLike) -> tuple[Problem, ...]:
    """The problems of a GSM8K JSON Lines file, in file order (ids ``gsm8k-<line number>``).

    Raises:
        FileNotFoundError: No such file.
        DataError: A line is not a JSON object with string ``question`` and ``answer``, or an answer
            does not end with ``#### <number>``; the message names the line and the field.
    """
    path = os.fspath(path)
    st = os.stat(path)
    return _load(path, st.st_mtime, st.st_size)
