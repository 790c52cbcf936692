"""How StepMath-v0 reads a number an agent answers or a program prints, and when two numbers agree.

Normalisation: surrounding space, a leading ``$``, a trailing ``%`` or
``.``, and commas between digit groups are dropped (``"$1,234.50"`` is
1234.5); what is left must be one number: an integer, a decimal, a
scientific-notation decimal or a fraction ``a/b``. Agreement: ``|x - gold|
<= 1e-6 * max(1, |gold|)``, so ``18``, ``18.0`` and ``18.0000001`` all
answer 18, while a sum of money one cent off (or left unrounded when the
question asks for cents) does not.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

#: Relative tolerance of :func:`agrees`.
TOLERANCE = Fraction(1, 10**6)

_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_FRACTION = re.compile(r"([-+]?\d+)\s*/\s*(\d+)")
_GROUPED = re.compile(r"(?<=\d),(?=\d{3}\b)")
# Numbers inside printed text: digit groups with commas, decimals, a sign only when it starts the number.
_IN_TEXT = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?")


def parse_number(text: str) -> Fraction | None:
    """The number ``text`` holds after normalisation, exactly; ``None`` when it is not one number."""
    s = _GROUPED.sub("", text.strip()).strip()
    s = s[1:].strip() if s.startswith("$") else s
    s = s.rstrip("%.").strip() if s.endswith(("%", ".")) and not _NUMBER.fullmatch(s) else s
    if _NUMBER.fullmatch(s):
        return Fraction(Decimal(s))
    match = _FRACTION.fullmatch(s)
    if match and int(match.group(2)) != 0:
        return Fraction(int(match.group(1)), int(match.group(2)))
    return None


def agrees(value: Fraction, gold: Fraction) -> bool:
    """Whether ``value`` answers ``gold`` (see the module docstring)."""
    return abs(value - gold) <= TOLERANCE * max(1, abs(gold))


def numbers_in(text: str) -> list[Fraction]:
    """Every number written in ``text`` (program output), in order."""
    found = []
    for token in _IN_TEXT.findall(text):
        value = parse_number(token)
        if value is not None:
            found.append(value)
    return found


def format_number(value: Fraction) -> str:
    """``value`` as the shortest exact decimal (``18``, ``1234.5``), or ``a/b`` when no finite decimal is exact."""
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
