"""Schema-checked reading of the files users give us (real benchmark data, demonstrations).

A file is validated against a pydantic schema (strict: a string field takes a
string, never a number or null), and a file that does not match raises one
:class:`DataError` naming the file, the record, the field and what was
expected, with the fix: ``hotpot.json: record 7 .context[2][0]: expected a
string, got 5 (int); ...``. Undecodable text and cut-off JSON are reported the
same way, with the line and column (or byte) where reading stopped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from pydantic import TypeAdapter, ValidationError

__all__ = ["DataError", "iter_json", "validate_json_file", "validate_json_text", "validate_value", "where"]

# pydantic's wording, turned into "expected ..." (the rest keep pydantic's own message).
_EXPECTED = {
    "string_type": "a string", "int_type": "an integer", "float_type": "a number", "bool_type": "true or false",
    "list_type": "a list", "tuple_type": "a list", "dict_type": "an object", "model_type": "an object",
    "none_required": "null",
}


class DataError(ValueError):
    """A data file that does not match its schema (the message names file, record and field)."""


def where(loc: tuple, unit: str = "record") -> str:
    """``(7, "context", 2, 0)`` as ``record 7 .context[2][0]``; a leading string key
    (an object of entries) as ``entry 'B0...'``."""
    if not loc:
        return "top level"
    head, rest = loc[0], loc[1:]
    text = f"{unit} {head}" if isinstance(head, int) else f"entry {head!r}"
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in rest)
    return f"{text} {path}" if path else text


def _describe(error: dict) -> str:
    expected = _EXPECTED.get(error["type"])
    if expected is None:
        return error["msg"]
    value = error.get("input")
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return f"expected {expected}, got {shown[:60]} ({type(value).__name__})"


def _message(errors: list[dict], loc: tuple, unit: str) -> str:
    """``where: what`` for the first problem; the missing fields of one object are named together."""
    first = errors[0]
    if first["type"] == "json_invalid":
        return f"{where(loc, unit) + ': ' if loc else ''}not valid JSON: {first['ctx'].get('error', first['msg'])}"
    full = tuple(loc) + tuple(first["loc"])
    if first["type"] == "missing":
        names = [e["loc"][-1] for e in errors if e["type"] == "missing" and e["loc"][:-1] == first["loc"][:-1]]
        return f"{where(full[:-1], unit)}: missing field{'s' if len(names) > 1 else ''} {names}"
    more = len(errors) - 1
    also = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{where(full, unit)}: {_describe(first)}{also}"


def validate_json_file(adapter: TypeAdapter, path: str | os.PathLike, fix: str, unit: str = "record") -> Any:
    """The contents of the JSON file ``path`` validated by ``adapter``.

    Args:
        adapter: The schema (a pydantic ``TypeAdapter``).
        path: The file.
        fix: What the user should do, appended to an error ("pass a HotpotQA JSON file").
        unit: What the top-level list holds, for messages ("record", "product").

    Raises:
        DataError: The file is not UTF-8 JSON or does not match the schema.
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text (byte {err.start} is {data[err.start:err.start + 1]!r}); "
                        f"{fix}") from None
    try:
        return adapter.validate_json(data, strict=True)
    except ValidationError as err:
        raise DataError(f"{path}: {_message(err.errors(), (), unit)}; {fix}") from None


def validate_json_text(adapter: TypeAdapter, text: str | bytes, path: str | os.PathLike, fix: str,
                       loc: tuple = (), unit: str = "record") -> Any:
    """One JSON document ``text`` found at ``loc`` in ``path`` (a line of a JSON Lines
    file: ``loc=(7,)``, ``unit="line"``) validated by ``adapter``."""
    try:
        return adapter.validate_json(text, strict=True)
    except ValidationError as err:
        raise DataError(f"{path}: {_message(err.errors(), tuple(loc), unit)}; {fix}") from None


def validate_value(adapter: TypeAdapter, value: Any, path: str | os.PathLike, fix: str, loc: tuple = (),
                   unit: str = "record") -> Any:
    """An already-parsed ``value`` (found at ``loc`` in ``path``) validated by ``adapter``."""
    try:
        return adapter.validate_python(value, strict=True)
    except ValidationError as err:
        raise DataError(f"{path}: {_message(err.errors(), tuple(loc), unit)}; {fix}") from None


def iter_json(path: str | os.PathLike, fix: str, pairs: bool = False, unit: str = "record",
              chunk_chars: int = 1 << 20) -> Iterator[Any]:
    """The elements of a JSON list file, or with ``pairs`` the ``(key, value)`` entries of a
    JSON object file, one at a time: a file of a million records never exists as one
    Python object.

    Args:
        path: The file.
        fix: What the user should do, appended to an error.
        pairs: Read a JSON object of entries instead of a list.
        unit: What the list holds, for messages.
        chunk_chars: Characters read at a time.

    Raises:
        DataError: The file is not UTF-8, not a list (an object), or not valid JSON; the
            message names the element and the character of the file where reading stopped.
    """
    with open(path, encoding="utf-8") as f:
        try:
            yield from _stream(f, os.fspath(path), fix, pairs, unit if not pairs else "entry", chunk_chars)
        except UnicodeDecodeError as err:
            raise DataError(f"{path}: not UTF-8 text (a byte {err.object[err.start:err.start + 1]!r} where text "
                            f"was expected); {fix}") from None


def _stream(f, path: str, fix: str, pairs: bool, unit: str, chunk_chars: int) -> Iterator[Any]:
    decoder = json.JSONDecoder()
    opener, closer = ("{", "}") if pairs else ("[", "]")
    buf = f.read(chunk_chars)
    skipped = len(buf) - len(buf.lstrip())  # characters of the file before buf[0]
    buf = buf.lstrip()
    if not buf.startswith(opener):
        expected = "an object of entries" if pairs else "a list"
        raise DataError(f"{path}: top level: expected {expected}, got text starting {buf[:20]!r}; {fix}")
    pos, eof, number = 1, False, 0
    while True:
        while pos < len(buf) and buf[pos] in " \t\r\n,":
            pos += 1
        if pos < len(buf) and buf[pos] == closer:
            return
        try:
            item, end = _decode_entry(decoder, buf, pos) if pairs else decoder.raw_decode(buf, pos)
            # Complete once a delimiter follows: a number at the buffer's end ("2." of 2.5) may go on.
            complete = eof or end < len(buf) and buf[end] in _DELIMITERS
        except (json.JSONDecodeError, _Cut) as err:
            if eof:  # else the buffer may have cut the element: read on
                if isinstance(err, _Cut):
                    err = json.JSONDecodeError("the file ends inside an entry", buf, len(buf))
                cut = " (the file ends there: cut off?)" if err.pos >= len(buf.rstrip()) - 1 else ""
                raise DataError(f"{path}: {unit} {number}: not valid JSON: {err.msg} at character "
                                f"{skipped + err.pos} of the file{cut}; {fix}") from None
            complete = False
        if not complete:
            more = f.read(chunk_chars)
            eof = not more
            skipped += pos
            buf, pos = buf[pos:] + more, 0
            continue
        yield item
        number += 1
        pos = end


_DELIMITERS = frozenset(" \t\r\n,]}")


class _Cut(Exception):
    """The buffer ended inside an object entry (more text may complete it)."""


def _decode_entry(decoder: json.JSONDecoder, buf: str, pos: int) -> tuple[tuple[str, Any], int]:
    """The ``"key": value`` entry at ``pos``, and where it ends."""
    key, end = decoder.raw_decode(buf, pos)
    if not isinstance(key, str):
        raise json.JSONDecodeError("expected a string key", buf, pos)
    while end < len(buf) and buf[end] in " \t\r\n":
        end += 1
    if end >= len(buf):
        raise _Cut
    if buf[end] != ":":
        raise json.JSONDecodeError("expected ':' after the key", buf, end)
    end += 1
    while end < len(buf) and buf[end] in " \t\r\n":
        end += 1
    if end >= len(buf):
        raise _Cut
    value, end = decoder.raw_decode(buf, end)
    return (key, value), end
