"""StepMath-v0's embedded problems: seeded multi-step word problems, each with its solution program.

Every problem takes three to six operations on two- to four-digit numbers
(products such as 47 x 386, percentages, remainders), where a model that
computes in its head often slips and a two-line python program does not.
Each of the nine templates writes the question, the exact answer (an
integer, or a sum of money rounded to the cent as Python's ``round`` does,
and asked for so) and a short program that prints it. The generator is a pure function of ``(seed,
index)``; the stream is split by a hash of the question text into train /
dev / test (90 / 5 / 5 %), duplicates dropped, so the splits are disjoint
and stable when a split's size changes.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

SPLITS = ("train", "dev", "test")
SPLIT_SIZES = {"train": 5000, "dev": 500, "test": 500}
DEFAULT_SEED = 0

_NAMES = ("Ana", "Bo", "Chen", "Dara", "Eli", "Femi", "Gita", "Hugo", "Ines", "Jon", "Kiri", "Lena", "Mo", "Nia")
_ITEMS = ("notebooks", "lamps", "chairs", "jackets", "kettles", "backpacks", "helmets", "blenders")
_CROPS = ("apples", "pears", "lemons", "plums", "peaches", "onions")


@dataclass(frozen=True)
class Problem:
    """One problem: its id, text, exact answer and a python program printing the answer."""

    pid: str  #: ``"<split>-<index>"`` for embedded problems, ``"gsm8k-<line>"`` for GSM8K ones
    question: str
    answer: Fraction  #: exact
    program: str  #: python source whose printed output ends with the answer
    source: str = "generated"  #: ``"generated"`` or ``"gsm8k"``


def _shop(r: random.Random):
    name, item = r.choice(_NAMES), r.choice(_ITEMS)
    a, p, b, q = r.randint(12, 89), r.randint(23, 399), r.randint(3, 29), r.randint(41, 987)
    c = r.randint(5, 60) * 5
    text = (f"{name} buys {a} {item} at ${p} each and {b} crates of supplies at ${q} per crate, then uses a "
            f"coupon worth ${c}. How many dollars does {name} pay in total?")
    return text, Fraction(a * p + b * q - c), (f"items = {a} * {p}\ncrates = {b} * {q}\ncoupon = {c}\n"
                                              "print(items + crates - coupon)")


def _factory(r: random.Random):
    # rate x hours is a multiple of 100, so every percentage of the total is whole
    rate, hours, days, pct = r.randint(2, 19) * 50, r.randint(3, 8) * 2, r.randint(11, 31), r.randint(2, 19)
    text = (f"A factory makes {rate} parts per hour, {hours} hours a day, for {days} days. {pct}% of the parts "
            "fail inspection. How many parts pass?")
    total = rate * hours * days
    return text, Fraction(total) * (100 - pct) / 100, (f"total = {rate} * {hours} * {days}\n"
                                                      f"print(total * (100 - {pct}) // 100)")


def _trip(r: random.Random):
    v, t1, w, t2 = r.randint(41, 129), r.randint(2, 9), r.randint(37, 117), r.randint(2, 9)
    length = v * t1 + w * t2 + r.randint(50, 900)
    text = (f"A trip is {length} km long. A bus drives at {v} km/h for {t1} hours, then at {w} km/h for {t2} "
            "hours. How many km of the trip are left?")
    return text, Fraction(length - v * t1 - w * t2), f"driven = {v} * {t1} + {w} * {t2}\nprint({length} - driven)"


def _savings(r: random.Random):
    name, weekly, weeks, lock = r.choice(_NAMES), r.randint(17, 95), r.randint(12, 52), r.randint(12, 39)
    den = r.choice((3, 7, 8, 9))
    num = r.randint(1, den - 1)
    text = (f"{name} saves ${weekly} every week for {weeks} weeks, then spends {num}/{den} of the savings on a "
            f"bike and ${lock} on a lock. How many dollars are left? Round to the cent.")
    left = Fraction(weekly * weeks) * (den - num) / den - lock
    return text, _cents(left), (f"from fractions import Fraction\nsaved = Fraction({weekly} * {weeks})\n"
                                f"left = saved - saved * {num} / {den} - {lock}\nprint(float(round(left, 2)))")


def _packing(r: random.Random):
    crop, n, box = r.choice(_CROPS), r.randint(1000, 9999), r.randint(12, 48)
    price, loose = r.randint(9, 49), r.randint(1, 3)
    text = (f"A farm picks {n} {crop}. They are packed in boxes of {box}; each full box sells for ${price} and "
            f"each {crop[:-1]} left over sells for ${loose}. How many dollars does the farm earn?")
    return text, Fraction(n // box * price + n % box * loose), (f"boxes, left = divmod({n}, {box})\n"
                                                               f"print(boxes * {price} + left * {loose})")


def _garden(r: random.Random):
    length, width, path = r.randint(14, 96), r.randint(9, 71), r.randint(2, 7)
    price = r.randint(11, 58)
    text = (f"A garden is {length} m long and {width} m wide. A path {path} m wide runs all around it, outside "
            f"the garden. Paving costs ${price} per square metre. How many dollars does paving the path cost?")
    area = (length + 2 * path) * (width + 2 * path) - length * width
    return text, Fraction(area * price), (f"outer = ({length} + 2 * {path}) * ({width} + 2 * {path})\n"
                                          f"path_area = outer - {length} * {width}\nprint(path_area * {price})")


def _payroll(r: random.Random):
    workers, wage, hours, extra, weeks = r.randint(7, 64), r.randint(14, 47), 40, r.randint(2, 12), r.randint(2, 6)
    text = (f"A shop has {workers} workers paid ${wage} per hour. Each works {hours} hours a week plus {extra} hours "
            f"of overtime paid at one and a half times the wage. What is the total pay for {weeks} weeks, in dollars?")
    pay = workers * weeks * (hours * wage + Fraction(3, 2) * wage * extra)
    return text, pay, (f"week = {hours} * {wage} + 1.5 * {wage} * {extra}\nprint({workers} * {weeks} * week)")


def _average(r: random.Random):
    n = r.randint(8, 30)
    new_avg, removed = r.randint(40, 250), r.randint(100, 999)
    avg = Fraction(new_avg * (n - 1) + removed, n)
    if avg.denominator != 1:  # choose the removed number so the first average is whole too
        removed += n - (new_avg * (n - 1) + removed) % n
        avg = Fraction(new_avg * (n - 1) + removed, n)
    text = (f"The average of {n} numbers is {int(avg)}. One of them, {removed}, is removed. What is the average "
            "of the numbers that remain?")
    return text, Fraction(new_avg), f"total = {n} * {int(avg)}\nprint((total - {removed}) / ({n} - 1))"


def _interest(r: random.Random):
    principal, rate, years = r.randint(12, 95) * 100, r.choice((2, 3, 4, 5, 6, 7)), r.randint(2, 6)
    text = (f"${principal} is invested at {rate}% interest compounded once a year. How many dollars is it worth "
            f"after {years} years? Round to the cent.")
    value = Fraction(principal) * Fraction(100 + rate, 100) ** years
    return text, _cents(value), ("from fractions import Fraction\n"
                                 f"print(float(round({principal} * (1 + Fraction({rate}, 100)) ** {years}, 2)))")


_TEMPLATES = (_shop, _factory, _trip, _savings, _packing, _garden, _payroll, _average, _interest)


def _cents(x: Fraction) -> Fraction:
    """``x`` rounded to the cent exactly, as Python's ``round(x, 2)`` does (an exact half cent to the even cent)."""
    return round(x, 2)


def generate_problem(seed: int, index: int) -> tuple[str, Fraction, str]:
    """The ``index``-th generated problem of ``seed``: (question, answer, program)."""
    r = random.Random(f"stepmath-{seed}-{index}")
    return _TEMPLATES[r.randrange(len(_TEMPLATES))](r)


def split_of(question: str) -> str:
    """Which split a question text belongs to (90 / 5 / 5 % by a hash of the text)."""
    bucket = int.from_bytes(hashlib.sha256(question.encode()).digest()[:4], "big") % 20
    return "dev" if bucket == 18 else "test" if bucket == 19 else "train"


@lru_cache(maxsize=8)
def generated_problems(split: str, seed: int = DEFAULT_SEED) -> tuple[Problem, ...]:
    """The ``split``'s embedded problems (sizes in :data:`SPLIT_SIZES`), in generation order."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    want, seen, out, index = SPLIT_SIZES[split], set(), [], 0
    while len(out) < want:
        question, answer, program = generate_problem(seed, index)
        index += 1
        if question in seen or split_of(question) != split:
            continue
        seen.add(question)
        out.append(Problem(f"{split}-{len(out)}", question, answer, program))
    return tuple(out)
