"""WebShop's purchase reward, reproduced rule for rule.

    r = r_type * (matched attributes + matched options + [price <= cap])
               / (goal attributes + goal options + 1)

* An attribute matches when rapidfuzz's token-set ratio against one of the
  product's attributes is > 85, else when it is a substring of the
  lower-cased title, bullets or description.
* An option matches when its token-set ratio against a chosen option is > 85,
  both first reduced to the colour they name (WebShop's colour list).
* ``r_type`` is 1, 0.5, 0.1 or 0: 1 when the query matches, or at least two
  category levels are shared, or the title-noun overlap is > 0.2; 0.5 when
  none of those hold; then 0.1 when the overlap is < 0.1 and 0 when it is 0.

Title nouns: WebShop tags them with spaCy (NOUN, PROPN). When spaCy and its
``en_core_web_sm`` model are installed we do the same. Otherwise the fallback
counts every alphabetic word of two or more letters that is not a stop word,
a number, a unit or an adjective-like word from a short list as a noun. The
fallback only changes ``r_type`` when a purchase shares some title words but
not the nouns; for buying the goal's own product it gives the same
``title_score`` (1.0) as spaCy. ``NOUN_TAGGER`` tells which is in use.
"""

from __future__ import annotations

import functools
import re

from rapidfuzz import fuzz

from .data import Goal, Product

MATCH_THRESHOLD = 85

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


def normalize_color(value: str) -> str:
    """The first WebShop colour named in ``value``, else ``value`` itself."""
    for color in COLOR_SET:
        if color in value:
            return color
    return value


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
        if any(fuzz.token_set_ratio(have, wanted) > MATCH_THRESHOLD for have in purchased.attributes):
            matches += 1
            continue
        if text is None:
            text = (purchased.title.lower(), " ".join(purchased.bullets).lower(), purchased.description.lower())
        if any(wanted in t for t in text):
            matches += 1
    return matches


def option_matches(chosen: list[str], wanted: tuple[str, ...]) -> int:
    """How many wanted option values are among the chosen ones (colour-normalised fuzzy)."""
    chosen = [normalize_color(o) for o in chosen]
    return sum(
        any(fuzz.token_set_ratio(c, normalize_color(w)) > MATCH_THRESHOLD for c in chosen) for w in wanted
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
    n_opt = option_matches(list(chosen_options.values()), goal.options)
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
