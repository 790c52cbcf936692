"""WebShop's purchase reward, checked against hand computations."""

import pytest

from stepagent_envs.shop.data import Goal, Product
from stepagent_envs.shop.reward import normalize_color, option_matches, purchase_reward, type_reward


def product(**kw):
    base = dict(
        asin="B000000001", title="Acme Sulfate Free Argan Oil Shampoo for Dry Hair", category="beauty",
        query="shampoo", product_category="Beauty & Personal Care › Hair Care › Shampoos", pricing=(12.0,),
        price_tag="$12.0", price=12.0, options={"size": ["8 fl oz", "16 fl oz"], "scent": ["lavender", "mint"]},
        bullets=["Gentle on colour treated hair"], description="A paraben free formula.",
        attributes=["sulfate free", "argan oil"], rating="4.5",
    )
    base.update(kw)
    return Product(**base)


GOAL = Goal(goal_id="B000000001/0", asin="B000000001", instruction="i need a sulfate free shampoo",
            attributes=("sulfate free", "paraben free", "long lasting"), options=("16 fl oz", "lavender"),
            option_names=("size", "scent"), price_upper=20.0)


def test_buying_the_target_with_its_options_scores_by_the_formula():
    target = product()
    # attributes: sulfate free (fuzzy), paraben free (description substring), long lasting (missing) -> 2 of 3
    reward, parts = purchase_reward(target, target, GOAL, {"size": "16 fl oz", "scent": "lavender"})
    assert parts["num_attr_matches"] == 2 and parts["num_option_matches"] == 2 and parts["r_price"]
    assert parts["r_type"] == 1.0
    assert reward == pytest.approx((2 + 2 + 1) / (3 + 2 + 1))


def test_missing_option_and_price_over_cap():
    target = product()
    pricey = product(price=25.0)
    reward, parts = purchase_reward(pricey, target, GOAL, {"size": "8 fl oz"})
    assert parts["num_option_matches"] == 0 and not parts["r_price"]
    assert reward == pytest.approx(2 / 6)


def test_type_reward_levels():
    target = product()
    same_query = product(asin="B2", title="Other Shampoo", product_category="A › B")
    assert type_reward(same_query, target)["r_type"] == 1.0
    unrelated = product(asin="B3", title="Walnut Desk", query="desk", product_category="Furniture › Desks")
    parts = type_reward(unrelated, target)
    assert parts["title_score"] == 0.0 and parts["r_type"] == 0.0
    # shares one title noun of many, but neither query nor two category levels: 0.5 band
    weak = product(asin="B4", title="Hair Dryer Stand", query="dryer", product_category="Beauty & Personal Care › Tools")
    parts = type_reward(weak, target)
    assert 0.1 <= parts["title_score"] <= 0.2 and parts["r_type"] == 0.5


@pytest.mark.parametrize(
    "value, expected",
    [("", ""), ("black forest", "black"), ("violet lavender", "lavender"), ("steelivy fuchsia", "fuchsia"),
     ("123alabaster", "alabaster"), ("webshop", "webshop")],
)
def test_normalize_color_matches_webshop(value, expected):
    assert normalize_color(value) == expected


def test_option_matches_are_colour_normalised_and_fuzzy():
    assert option_matches(["pack of 12", "grey", "xl"], ("grey", "xl", "pack of 12")) == 3
    assert option_matches(["pack of 12", "blue", "xl"], ("grey", "xl", "pack of 12")) == 2
    assert option_matches(["dark grey heather"], ("black",)) == 0
    assert option_matches(["navy blue"], ("blue",)) == 1
    # WebShop's quirk, kept: "navy blue" reduces to "blue" (first in its colour list), so it misses "navy"
    assert option_matches(["navy blue"], ("navy",)) == 0


# ---------------------------------------------------------------------------
# Upstream's values, computed by hand from WebShop's rules (goal.py's
# get_reward / get_option_reward, normalize.py's normalize_color, thefuzz's
# token_set_ratio with its default processing). Token-set ratio, as thefuzz
# computes it: process each side (str(), drop U+0080..U+00FF, lower-case,
# non-alphanumerics to spaces); split into token sets; if the intersection is
# non-empty and one side has no other token, 100; else the best
# 100 * 2 * LCS / (len a + len b) over (sect, sect+rest1), (sect, sect+rest2),
# (sect+rest1, sect+rest2), tokens sorted and space-joined; rounded to an int.
# "raw" is what the old code got from rapidfuzz on the unprocessed strings.

from stepagent_envs.shop.reward import fuzz_process, goal_option_keys, token_set_score  # noqa: E402


@pytest.mark.parametrize(
    "a, b, expected",
    [
        # "x small" vs "small": {small} is all of b's tokens -> 100 (raw 83.3)
        ("x-small", "small", 100),
        # both process to "gluten free" -> 100 (raw 54.5)
        ("gluten free", "gluten-free", 100),
        # "xx large" vs the tuple's repr "size x large": sect "large" (5), rests
        # "large xx" (8) and "large size x" (12); best 2*5/13 = 76.9 -> 77
        ("xx-large", ("size", "x-large"), 77),
        # "large" is a subset of {size, x, large} -> 100: the option name joins the set
        ("large", ("size", "x-large"), 100),
        # no common token: "ash" vs "antique color graywash", LCS a-s-h = 3 -> 6/25 = 24
        ("ash", ("color", "antique graywash"), 24),
        # no common token: "sunflower" vs "color sunflowers", LCS 9 -> 18/25 = 72
        ("sunflower", ("color", "sunflowers"), 72),
        # "cream" vs "creamy flavor name", LCS 5 -> 10/23 = 43.5 -> 43
        ("cream", ("flavor name", "creamy"), 43),
        # force_ascii deletes è, û, é (not transliterated): "crme brle" vs "creme brulee",
        # no common token, "brle crme" (9) vs "brulee creme" (12), LCS 9 -> 18/21 = 85.7 -> 86
        # (raw, accents kept: 75)
        ("crème brûlée", "creme brulee", 86),
        # sect "30mm bdc pro tube" (17), rests "... 12x42mm 3" and "... 16x50mm 4" (27 each),
        # LCS of the two = 19 + "xmm " 4 = 23 -> 46/54 = 85.19 -> 85: NOT > 85 (raw 85.19 was a match)
        ("3-12x42mm bdc pro (30mm tube)", "4-16x50mm bdc pro (30mm tube)", 85),
        # identical after processing
        ("Pack of 12", "pack of 12", 100),
        # nothing left after processing on one side -> 0
        ("---", "black", 0),
    ],
)
def test_token_set_score_is_thefuzz_token_set_ratio(a, b, expected):
    assert token_set_score(a, b) == expected
    assert token_set_score(b, a) == expected


def test_fuzz_process_is_thefuzz_full_process():
    assert fuzz_process("Gluten-Free!") == "gluten free"
    assert fuzz_process(("size", "x-large")) == "size    x large"  # the tuple's repr, processed
    assert fuzz_process("Crème ™ Brûlée") == "crme   brle"  # Latin-1 dropped, ™ (U+2122) a space


@pytest.mark.parametrize(
    "value, expected",
    [
        # substring test on a string: the first colour of the list found wins
        ("antique graywash", "ash"),  # "graywash" holds "ash" (listed before "gray")
        ("dash kit", "ash"),
        ("rectangle", "tan"),  # rec-TAN-gle
        ("creamy", "cream"),
        ("sunflowers", "sunflower"),
        ("navy blue", "blue"),  # "blue" comes before "navy" in the list
        ("Black", "Black"),  # case-sensitive: no lower-case colour inside
        # membership test on a synthetic goal's (name, value) tuple: exact colour words only
        (("color", "black"), "black"),
        (("color", "dark"), "dark"),
        (("color", "antique graywash"), ("color", "antique graywash")),
        (("color", "navy blue"), ("color", "navy blue")),
        (("size", "x-large"), ("size", "x-large")),
    ],
)
def test_normalize_color_on_strings_and_goal_tuples(value, expected):
    assert normalize_color(value) == expected


@pytest.mark.parametrize(
    "chosen, wanted, expected",
    [
        # --- synthetic goals: wanted options are (name, value) tuples ---
        # goal x-large, chosen xx-large: 77, no match (the old code matched: raw 93.3 on
        # "x-large" vs "xx-large")
        (["xx-large"], [("size", "x-large")], 0),
        # the exact option bought: "antique graywash" -> "ash" vs the untouched tuple: 24
        (["antique graywash"], [("color", "antique graywash")], 0),
        # same for other values holding a colour: "dash" -> ash, "rectangle" -> tan,
        # "creamy" -> cream, "sunflowers" -> sunflower; none equals a tuple's token
        (["dash kit"], [("color", "dash kit")], 0),
        (["rectangle"], [("style", "rectangle")], 0),
        (["creamy"], [("flavor name", "creamy")], 0),
        (["sunflowers"], [("color", "sunflowers")], 0),
        # an exact colour word reduces on both sides -> "black" vs "black"
        (["black"], [("color", "black")], 1),
        (["jet black"], [("color", "black")], 1),
        # chosen "navy blue" -> "blue", a token of "color navy blue" -> 100
        (["navy blue"], [("color", "navy blue")], 1),
        # chosen tokens all in the tuple's tokens -> 100; the name makes "large" match "x-large"
        (["x-large"], [("size", "x-large")], 1),
        (["large"], [("size", "x-large")], 1),
        (["16 ounce (pack of 2)"], [("size", "16 ounce (pack of 2)")], 1),
        # upstream's own test: {"color": "grey", "size": "XL"} bought as chosen
        (["grey", "XL"], [("color", "grey"), ("size", "XL")], 2),
        # --- human goals: wanted options are strings ---
        # "x small" vs "small" -> 100 (the old code: 83.3, no match)
        (["small"], ["x-small"], 1),
        (["gluten-free"], ["gluten free"], 1),
        # both sides reduce by substring: "graywash" -> ash on both -> match
        (["antique graywash"], ["antique graywash"], 1),
        # "navy blue" -> blue vs "navy": no match
        (["navy blue"], ["navy"], 0),
        # 85.19 rounds to 85: not > 85
        (["3-12x42mm bdc pro (30mm tube)"], ["4-16x50mm bdc pro (30mm tube)"], 0),
        # upstream's own tests (test_get_option_reward): exact, partial, fuzzy, empty
        (["pack of 12", "grey", "XL"], ["grey", "XL", "pack of 12"], 3),
        (["pack of 12", "blue", "XL"], ["grey", "XL", "pack of 12"], 2),
        (["pack of 12", "powder snow", "XL"], ["cool powder snow", "XL", "pack of 12"], 3),
        (["goal 1", "goal 2"], [], 0),
        ([], ["goal 1", "goal 2"], 0),
        # each wanted option counts, duplicates included
        (["red"], ["red", "red"], 2),
    ],
)
def test_option_matches_as_upstream(chosen, wanted, expected):
    assert option_matches(chosen, wanted) == expected


def test_goal_option_keys_pair_synthetic_options_with_their_names():
    synthetic = Goal(goal_id="X/0", asin="X", instruction="", attributes=("a",), options=("x-large", "black"),
                     option_names=("size", "color"), price_upper=10.0)
    human = Goal(goal_id="X/1", asin="X", instruction="", attributes=("a",), options=("x-large", "black"),
                 option_names=None, price_upper=10.0)
    assert goal_option_keys(synthetic) == [("size", "x-large"), ("color", "black")]
    assert goal_option_keys(human) == ["x-large", "black"]


def _goal(attributes, options, option_names):
    return Goal(goal_id="B000000001/9", asin="B000000001", instruction="i need a shampoo",
                attributes=attributes, options=options, option_names=option_names, price_upper=20.0)


# Four attributes the fixture product has: two in its attributes, "paraben free" in the
# description, "dry hair" in the lower-cased title.
FOUR_ATTRS = ("sulfate free", "argan oil", "paraben free", "dry hair")


@pytest.mark.parametrize(
    "attributes, options, names, chosen, expected",
    [
        # the case: goal size x-large, chosen xx-large -> option missed:
        # (4 + 0 + 1) / (4 + 1 + 1) = 0.8333 (old code: 1.0)
        (FOUR_ATTRS, ("x-large",), ("size",), {"size": "xx-large"}, 5 / 6),
        # the case: exact "antique graywash" bought -> option missed:
        # (3 + 0 + 1) / (3 + 1 + 1) = 0.8 (old code: 1.0)
        (FOUR_ATTRS[:3], ("antique graywash",), ("color",), {"color": "antique graywash"}, 4 / 5),
        # the same goal as a human goal (no names): both sides "ash" -> (3 + 1 + 1) / 5 = 1.0
        (FOUR_ATTRS[:3], ("antique graywash",), None, {"color": "antique graywash"}, 1.0),
        # human goal x-small, chosen small: matched -> 1.0 (old code: 4 / 5 = 0.8)
        (FOUR_ATTRS[:3], ("x-small",), None, {"size": "small"}, 1.0),
        # upstream's test_get_reward: all 3 attributes, {"color": "grey", "size": "XL"} -> 1.0;
        # with "amount": "pack of 12" wanted but not chosen -> (3 + 2 + 1) / (3 + 3 + 1) = 6/7
        (FOUR_ATTRS[:3], ("grey", "XL"), ("color", "size"), {"color": "grey", "size": "XL"}, 1.0),
        (FOUR_ATTRS[:3], ("grey", "XL", "pack of 12"), ("color", "size", "amount"),
         {"color": "grey", "size": "XL"}, 6 / 7),
    ],
)
def test_purchase_reward_table(attributes, options, names, chosen, expected):
    target = product()
    reward, parts = purchase_reward(target, target, _goal(attributes, options, names), chosen)
    assert parts["r_type"] == 1.0 and parts["r_price"]
    assert parts["num_attr_matches"] == len(attributes)
    assert reward == pytest.approx(expected)


def test_attributes_are_compared_after_thefuzz_processing():
    # product attribute "gluten-free" vs goal "gluten free": 100 after processing (raw 54.5);
    # the text fallback would miss it (no "gluten free" in title, bullets or description)
    target = product(attributes=["gluten-free"])
    goal = _goal(("gluten free",), (), ())
    reward, parts = purchase_reward(target, target, goal, {})
    assert parts["num_attr_matches"] == 1 and reward == pytest.approx(1.0)
    # the substring fallback is case-sensitive on the goal's side, as upstream
    goal = _goal(("Dry Hair",), (), ())
    assert purchase_reward(target, target, goal, {})[1]["num_attr_matches"] == 0
