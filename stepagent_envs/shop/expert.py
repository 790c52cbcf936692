"""StepShop's expert oracle: the next action toward the goal from any state.

The plan, re-derived from the current page at every call (so it is exact
after any detour by the agent):

* search page: ``search[q]`` with a query verified against the engine to
  retrieve the goal's product (see :func:`expert_query`);
* results page: click the target when it is on this page, else ``Next >`` or
  ``< Prev`` toward its page; ``Back to Search`` when it is not in the results;
* another product's item page: ``< Prev`` when the target is among the
  results, else ``Back to Search``; a sub-page: ``< Prev``;
* the target's item page: click each wanted option value not yet selected
  (human goals name options in free text: the product value with the best
  colour-normalised fuzzy match > 85 is used, and a wanted option the product
  lacks is skipped), then ``Buy Now``.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from .reward import MATCH_THRESHOLD, normalize_color
from .env import RESULTS_PER_PAGE
from ..bm25 import MAX_RESULTS

_CAP = re.compile(r",? and price lower than [\d.]+ dollars$")
#: A query is kept at once when it puts the target on the first results page.
FIRST_PAGE = RESULTS_PER_PAGE


def _candidate_queries(goal, product) -> list[str]:
    core = _CAP.sub("", goal.instruction)
    if goal.option_names:  # cut the " with size: x, and color: y" part WebShop appended
        core = core.split(f" with {goal.option_names[0]}: ")[0]
    title = " ".join(product.title.lower().split()[:20])
    return [q for q in (core.lower(), title, f"{title} {core.lower()}") if q.strip()]


def expert_query(env) -> str:
    """A search query that retrieves the goal's product, cached per goal.

    Tries the instruction (without options and price), then the product's own
    title words, then both; keeps the first that puts the target on page 1,
    else the one that ranks it best; when none retrieves it, the title.
    """
    shop, goal = env.shop, env.goal
    cached = shop.expert_queries.get(goal.goal_id)
    if cached is not None:
        return cached[0]
    target = shop.data.index_of[goal.asin]
    best = None
    for query in _candidate_queries(goal, shop.data.products[target]):
        results = shop.search.search(query)
        rank = results.index(target) if target in results else MAX_RESULTS
        if best is None or rank < best[1]:
            best = (query, rank)
        if rank < FIRST_PAGE:
            break
    shop.expert_queries[goal.goal_id] = best
    return best[0]


def wanted_options(goal, product) -> list[tuple[str, str]]:
    """(option name, value) pairs to select on the target's page, in goal order."""
    if goal.option_names is not None:
        return [(n, v) for n, v in zip(goal.option_names, goal.options) if v in product.options.get(n, ())]
    picks = []
    for wanted in goal.options:
        best = None
        for name, values in product.options.items():
            for value in values:
                score = fuzz.token_set_ratio(normalize_color(value), normalize_color(wanted))
                if score > MATCH_THRESHOLD and (best is None or score > best[0]):
                    best = (score, name, value)
        if best is not None:
            picks.append((best[1], best[2]))
    return picks


def next_action(env) -> str:
    """The expert's next action for ``env`` (a :class:`StepShopEnv` mid-episode)."""
    s, data = env.state, env.shop.data
    target = data.index_of[env.goal.asin]
    if s.page == "search":
        return f"search[{expert_query(env)}]"
    if s.page == "sub":
        return "click[< Prev]"
    if s.page == "item":
        if s.item != target:
            return "click[< Prev]" if target in s.results else "click[Back to Search]"
        for name, value in wanted_options(env.goal, env.product):
            if s.selected.get(name) != value:
                return f"click[{value}]"
        return "click[Buy Now]"
    # results page
    if target not in s.results:
        return "click[Back to Search]"
    wanted_page = s.results.index(target) // RESULTS_PER_PAGE + 1
    if wanted_page == s.page_num:
        return f"click[{data.products[target].asin}]"
    return "click[Next >]" if wanted_page > s.page_num else "click[< Prev]"
