"""WebShop's purchase reward, reproduced rule for rule, quirks included.

The reference is ``get_reward`` in WebShop's ``web_agent_site/engine/goal.py``
(princeton-nlp/WebShop) with its ``normalize.py`` colour list and thefuzz's
``fuzz.token_set_ratio``::

    r = r_type * (matched attributes + matched options + [price <= cap])
               / (goal attributes + goal options + 1)

* **Fuzzy score** (:func:`token_set_score`), used for attributes and options:
  thefuzz's ``token_set_ratio`` with its defaults. Each side is first made a
  string with ``str()``, the characters U+0080..U+00FF are deleted
  (``force_ascii``), then rapidfuzz's ``default_process`` lower-cases it,
  turns every character that is not a letter or a digit into a space and
  trims it (``full_process``); the score is rounded to an integer (Python's
  ``round``: halves to even) before the ``> 85`` test. So ``gluten free`` and
  ``gluten-free`` score 100 and ``x-small`` against ``small`` 100; an 85.6
  counts (86) and an 85.4 does not (85).
  Which thefuzz: from 0.20 on it scores with rapidfuzz's Indel ratio, as
  here (so does 0.19 with its ``python-Levenshtein`` speed-up). WebShop pins
  0.19.0, which without that package falls back to difflib's
  ``SequenceMatcher`` and can score a few points lower (``10x50 hd
  binoculars`` against ``15x60 hd binoculars``: 89 here, 84 under difflib).
  On WebShop's 106-product sample both give the same reward on all 6,718
  purchases tried; of the 75,600 option-value pairs there, 4 are decided
  differently.
* An **attribute** matches when its fuzzy score against one of the product's
  attributes is > 85, else when it is a substring of the lower-cased title,
  the bullets joined by spaces, or the description. The goal attribute
  itself is not lower-cased for the substring test.
* **Options** (:func:`goal_option_keys`, :func:`option_matches`): every
  wanted option counts once if some chosen option value scores > 85 against
  it, both first passed through :func:`normalize_color`. What is "wanted"
  depends on the goal, as upstream's ``get_reward`` hands
  ``goal_options.items()`` on for a synthetic goal (a dict) and the list
  itself for a human goal:

  - *synthetic goals*: the wanted options are ``(option name, value)``
    tuples. Quirk 1: :func:`normalize_color` on a tuple tests membership,
    so a wanted option becomes a colour only when its name or value *is* a
    colour word (``("color", "black")`` -> ``black``; ``("color", "antique
    graywash")`` stays a tuple). Quirk 2: the tuple is scored as its
    ``repr``, ``"('size', 'x-large')"``, i.e. the tokens ``size x large``:
    the option name joins the comparison. A chosen value whose tokens all
    appear there still scores 100 (``large`` against ``size: x-large``), but
    ``xx-large`` scores 77 (no match). Quirk 3: the chosen value is always
    colour-reduced by substring, so buying exactly the wanted ``antique
    graywash`` gives ``ash`` (``graywash`` contains ``ash``), which scores
    low against ``color antique graywash``: the right option earns nothing
    (likewise ``dash kit`` -> ``ash``, ``rectangle`` -> ``tan``, ``creamy``
    -> ``cream``, ``sunflowers`` -> ``sunflower``). So buying the goal's own
    product with exactly its options earns less than 1 on some goals: 21 of
    the embedded catalogue's 500 test goals, 20 of the real sample's 413.
  - *human goals*: the wanted options are the instruction's option strings;
    both sides are reduced by substring (the first colour of WebShop's list
    found in the text wins, so ``navy blue`` -> ``blue`` and then fails to
    match a wanted ``navy``).

* ``r_type`` is 1, 0.5, 0.1 or 0: 1 when the query matches, or at least two
  category levels are shared, or the title-noun overlap is > 0.2; 0.5 when
  none of those hold; then 0.1 when the overlap is < 0.1 and 0 when it is 0.
* The price term is ``price <= cap``. The denominator counts every goal
  attribute and every goal option, duplicates included.

Title nouns: WebShop tags them with spaCy (NOUN, PROPN). When spaCy and its
``en_core_web_sm`` model are installed we do the same. Otherwise the fallback
counts every alphabetic word of two or more letters that is not a stop word,
a number, a unit or an adjective-like word from a short list as a noun. The
fallback only changes ``r_type`` when a purchase shares some title words but
not the nouns; for buying the goal's own product it gives the same
``title_score`` (1.0) as spaCy. :func:`noun_tagger` tells which is in use.

There is no deliberate departure from upstream in the rules; one added later
must be a named option, off by default, and listed here.
"""

from __future__ import annotations

import functools
import re

from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from .data import Goal, Product

#: A fuzzy score must be above this (after rounding to an integer) to match.
MATCH_THRESHOLD = 85
#: thefuzz's ``force_ascii``: the code points 128..255 are deleted before processing.
_DROP_LATIN1 = dict.fromkeys(range(128, 256))

#: WebShop's colour list, used to reduce an option value to the colour it names.
COLOR_SET = tuple(
    """
alabaster apricot aqua ash asphalt azure banana beige black blue blush bordeaux bronze brown
burgundy camel camo caramel champagne charcoal cheetah chestnut chocolate christmas coffee cognac
copper coral cranberry cream crystal dark denim eggplant elephant espresso fuchsia gold granite
grape graphite grass gray green grey heather indigo ivory ivy khaki lavender lemon leopard
light lilac lime magenta maroon mauve merlot midnight mint mocha multicolor mushroom mustard
natural navy nude olive orange peach pewter pink plum purple rainbow red rose royal rust sand
sapphire seashell silver skull slate steel stone stonewash sunflower tan taupe teal tiger turquoise
violet walnut wheat white wine yellow
    """.split()
)

_STOP = frozenset(
    "a an the and or of for with without to in on at by from as is are be it its this that these those "
    "your you our we my me i he she they them his her their not no yes all any each per via into onto "
    "up down out over under off about than then so too very can will just more most less new best "
    "pack count set piece pieces pcs pc oz fl ounce ounces lb lbs inch inches cm mm ml g kg ft "
    "size sizes color colors x xl xxl l m s".split()
)
# Words that title the product's qualities rather than its type; spaCy tags them ADJ.
_ADJ = frozenset(
    "free natural organic premium professional portable large small mini big soft hard light heavy "
    "long short high low easy quick fast slow extra super ultra dry wet hot cold warm cool fresh "
    "clean waterproof wireless adjustable durable compatible stainless non gluten vegan healthy "
    "black white red blue green yellow pink purple grey gray brown orange silver gold beige navy "
    "women men womens mens kids baby girls boys unisex".split()
)
_WORD = re.compile(r"[a-z][a-z'-]+")


@functools.lru_cache(maxsize=1)
def _spacy_nlp():
    try:
        import spacy

        return spacy.load("en_core_web_sm", disable=["parser", "ner", "lemmatizer"])
    except Exception:  # spaCy or its model missing: the documented fallback applies
        return None


def noun_tagger() -> str:
    """Which noun tagger the type reward uses: ``"spacy"`` or ``"fallback"``."""
    return "spacy" if _spacy_nlp() is not None else "fallback"


@functools.lru_cache(maxsize=65536)
def title_nouns(title: str) -> tuple[str, ...]:
    """The lower-cased nouns of a product title (spaCy when available)."""
    nlp = _spacy_nlp()
    if nlp is not None:
        return tuple(t.text.lower() for t in nlp(title) if t.pos_ in ("PNOUN", "NOUN", "PROPN"))
    return tuple(w for w in _WORD.findall(title.lower()) if w not in _STOP and w not in _ADJ)


def normalize_color(value: str | tuple[str, ...]) -> str | tuple[str, ...]:
    """The first WebShop colour ``in`` ``value``, else ``value`` itself.

    For a string ``in`` is a substring test (``antique graywash`` -> ``ash``);
    for an ``(option name, value)`` tuple, as upstream passes a synthetic
    goal's options, it is membership: only an exact colour word reduces.
    """
    for color in COLOR_SET:
        if color in value:
            return color
    return value


@functools.lru_cache(maxsize=65536)
def fuzz_process(value: str | tuple[str, ...]) -> str:
    """thefuzz's ``full_process(value, force_ascii=True)``: ``str(value)`` (a
    tuple's repr), U+0080..U+00FF deleted, then lower-cased with every
    non-alphanumeric character a space, trimmed."""
    return default_process(str(value).translate(_DROP_LATIN1))


def token_set_score(a: str | tuple[str, ...], b: str | tuple[str, ...]) -> int:
    """thefuzz's ``fuzz.token_set_ratio(a, b)``: both sides through
    :func:`fuzz_process`, rapidfuzz's token-set ratio, rounded to an int."""
    return int(round(fuzz.token_set_ratio(fuzz_process(a), fuzz_process(b))))


def type_reward(purchased: Product, target: Product) -> dict:
    """r_type and its parts: query match, category overlap and title-noun overlap."""
    query_match = purchased.query == target.query
    bought_levels = {x.strip() for x in purchased.product_category.split("›")}
    wanted_levels = {x.strip() for x in target.product_category.split("›")}
    category_match = len(bought_levels & wanted_levels) >= 2
    bought_nouns, wanted_nouns = set(title_nouns(purchased.title)), title_nouns(target.title)
    title_score = 0.2 if not wanted_nouns else len(bought_nouns & set(wanted_nouns)) / len(wanted_nouns)
    r_type = 1.0
    if not (query_match or category_match or title_score > 0.2):
        r_type = 0.5
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0.0:
        r_type = 0.0
    return {"r_type": r_type, "query_match": query_match, "category_match": category_match, "title_score": title_score}


def attribute_matches(purchased: Product, goal: Goal) -> int:
    """How many goal attributes the purchased product has (fuzzy, then as text)."""
    text = None
    matches = 0
    for wanted in goal.attributes:
        if any(token_set_score(have, wanted) > MATCH_THRESHOLD for have in purchased.attributes):
            matches += 1
            continue
        if text is None:
            text = (purchased.title.lower(), " ".join(purchased.bullets).lower(), purchased.description.lower())
        if any(wanted in t for t in text):
            matches += 1
    return matches


def goal_option_keys(goal: Goal) -> list[str | tuple[str, str]]:
    """What upstream compares the chosen options against, one entry per goal option.

    A synthetic goal (``goal.option_names`` set) gives ``(name, value)``
    tuples, as upstream's ``goal_options.items()``; a human goal gives its
    option strings.
    """
    if goal.option_names is None:
        return list(goal.options)
    return list(zip(goal.option_names, goal.options))


def option_matches(chosen: list[str], wanted: list[str | tuple[str, str]] | tuple) -> int:
    """How many ``wanted`` options some ``chosen`` value matches (upstream's
    ``get_option_reward``): both colour-reduced, then fuzzy score > 85.

    ``wanted`` entries are strings or ``(name, value)`` tuples; see
    :func:`goal_option_keys` and the module notes for what each does.
    """
    chosen = [normalize_color(o) for o in chosen]
    return sum(
        any(token_set_score(c, normalize_color(w)) > MATCH_THRESHOLD for c in chosen) for w in wanted
    )


def purchase_reward(purchased: Product, target: Product, goal: Goal, chosen_options: dict[str, str]) -> tuple[float, dict]:
    """WebShop's reward for buying ``purchased`` with ``chosen_options`` toward ``goal``.

    Args:
        purchased: the product bought.
        target: the goal's own product (its query, category and title define the type).
        goal: the goal (attributes, option values, price cap).
        chosen_options: option name -> value selected on the item page.

    Returns:
        ``(reward, parts)``; ``parts`` holds every term (JSON-safe) for ``info``.
    """
    parts = type_reward(purchased, target)
    price_ok = purchased.price <= goal.price_upper
    n_attr = attribute_matches(purchased, goal)
    n_opt = option_matches(list(chosen_options.values()), goal_option_keys(goal))
    total = (n_attr + n_opt + int(price_ok)) / (len(goal.attributes) + len(goal.options) + 1)
    reward = total * parts["r_type"]
    parts.update(
        r_att=n_attr / len(goal.attributes) if goal.attributes else None,
        num_attr_matches=n_attr,
        r_option=n_opt / len(goal.options) if goal.options else None,
        num_option_matches=n_opt,
        r_price=price_ok,
        noun_tagger=noun_tagger(),
    )
    return reward, parts
