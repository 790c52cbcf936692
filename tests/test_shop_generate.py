"""Tests for the synthetic WebShop-format catalogue generator."""

from __future__ import annotations

import json
import re

import pytest

from stepagent_envs.shop.categories import CATEGORY_NAMES, CATEGORY_SEP
from stepagent_envs.shop.generate import (
    ATTRIBUTES_FILE,
    GENERATOR,
    ITEMS_FILE,
    MARKER_FILE,
    VERSION,
    generate_catalogue,
    main,
)

FILES = (ITEMS_FILE, ATTRIBUTES_FILE, MARKER_FILE)
ASIN_RE = re.compile(r"B0[0-9A-Z]{8}")
PRICING_RE = re.compile(r"\$(\d+\.\d{2})(?:\$(\d+\.\d{2}))?")
RECORD_TYPES = {
    "asin": str,
    "name": str,
    "category": str,
    "query": str,
    "product_category": str,
    "pricing": str,
    "list_price": str,
    "small_description": list,
    "full_description": str,
    "product_information": dict,
    "average_rating": float,
    "total_reviews": int,
    "reviews": list,
    "images": list,
    "brand": str,
}


def _load(out):
    with open(out / ITEMS_FILE, encoding="ascii") as f:
        items = json.load(f)
    with open(out / ATTRIBUTES_FILE, encoding="ascii") as f:
        attributes = json.load(f)
    return items, attributes


def _text(record: dict) -> str:
    return " ".join([record["name"], *record["small_description"], record["full_description"]]).lower()


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    out = generate_catalogue(tmp_path_factory.mktemp("shop"), num_products=1000, seed=7)
    return out, *_load(out)


def test_writes_files_and_marker(catalogue):
    out, items, attributes = catalogue
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)  # no temp files left behind
    assert json.loads((out / MARKER_FILE).read_text()) == {
        "generator": GENERATOR, "version": VERSION, "num_products": 1000, "seed": 7,
    }
    assert len(items) == len(attributes) == 1000
    assert [r["asin"] for r in items] == list(attributes)


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = generate_catalogue(tmp_path / "a", 300, seed=1)
    b = generate_catalogue(tmp_path / "b", 300, seed=1)
    c = generate_catalogue(tmp_path / "c", 300, seed=2)
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / ITEMS_FILE).read_bytes() != (c / ITEMS_FILE).read_bytes()
    assert (a / ATTRIBUTES_FILE).read_bytes() != (c / ATTRIBUTES_FILE).read_bytes()


def test_smaller_catalogue_is_prefix_of_larger(tmp_path):
    small, small_ins = _load(generate_catalogue(tmp_path / "s", 50, seed=3))
    large, large_ins = _load(generate_catalogue(tmp_path / "l", 120, seed=3))
    assert large[:50] == small
    assert list(large_ins.items())[:50] == list(small_ins.items())


def test_record_schema(catalogue):
    _, items, _ = catalogue
    for r in items:
        for key, kind in RECORD_TYPES.items():
            assert isinstance(r[key], kind), (key, r[key])
        assert ASIN_RE.fullmatch(r["asin"]), r["asin"]
        assert r["category"] in CATEGORY_NAMES
        assert r["query"] and r["query"] == r["query"].lower()
        assert r["query"] in r["name"].lower()
        assert 3 <= len(r["product_category"].split(CATEGORY_SEP)) <= 5, r["product_category"]
        match = PRICING_RE.fullmatch(r["pricing"])
        assert match, r["pricing"]
        if match.group(2):
            assert float(match.group(1)) < float(match.group(2))
        assert r["list_price"] == ""
        assert 3 <= len(r["small_description"]) <= 5
        assert all(isinstance(b, str) and b for b in r["small_description"])
        assert r["full_description"]
        assert 1.0 <= r["average_rating"] <= 5.0
        assert r["total_reviews"] >= len(r["reviews"])
        assert len(r["reviews"]) <= 3
        for review in r["reviews"]:
            assert set(review) == {"title", "score", "body"}
            assert isinstance(review["score"], int) and 1 <= review["score"] <= 5
        assert r["images"] in ([], [f"https://example.invalid/images/{r['asin']}.jpg"])
        assert r["brand"] in r["name"]


def test_customization_options(catalogue):
    _, items, _ = catalogue
    slash_values = 0
    for r in items:
        options = r["customization_options"]
        if options == "":
            continue
        assert isinstance(options, dict) and 1 <= len(options) <= 3
        combos = 1
        for name, values in options.items():
            assert isinstance(name, str) and isinstance(values, list)
            assert 2 <= len(values) <= 6
            combos *= len(values)
            texts = [v["value"] for v in values]
            assert len({t.lower() for t in texts}) == len(texts), texts
            assert all("[" not in t and "]" not in t for t in texts)
            slash_values += sum("/" in t for t in texts)
            assert [v["is_selected"] for v in values].count(True) == 1
            for v in values:
                assert set(v) == {"is_selected", "url", "value", "price_string", "price", "image"}
                assert isinstance(v["url"], str) and v["image"] is None
                assert isinstance(v["price"], float)
                assert v["price_string"] == f"${v['price']:.2f}"
        assert combos <= 24
    assert slash_values > 0


def test_asins_unique(catalogue):
    _, items, _ = catalogue
    assert len({r["asin"] for r in items}) == len(items)


def test_all_categories_present(catalogue):
    _, items, _ = catalogue
    assert {r["category"] for r in items} == set(CATEGORY_NAMES) == {
        "beauty", "grocery", "fashion", "furniture", "electronics",
    }
    assert len({r["query"] for r in items}) >= 50


def test_instructions(catalogue):
    _, items, attributes = catalogue
    with_instruction = 0
    for r in items:
        entry = attributes[r["asin"]]
        attrs = entry["attributes"]
        assert 3 <= len(attrs) <= 6 and len(set(attrs)) == len(attrs)
        assert all(a == a.lower() for a in attrs)
        text = _text(r)
        assert all(a in text for a in attrs)
        if entry["instruction"] is None:
            assert entry["instruction_attributes"] is None
            continue
        with_instruction += 1
        instruction = entry["instruction"]
        wanted = entry["instruction_attributes"]
        assert instruction == instruction.lower()
        assert r["query"] in instruction
        assert "$" not in instruction and "price" not in instruction and ":" not in instruction
        assert 1 <= len(wanted) <= 3 and set(wanted) <= set(attrs)
        for a in wanted:
            assert a in instruction
            assert a in text
    assert 0.9 <= with_instruction / len(items) <= 0.99


def test_price_ranges_share(catalogue):
    _, items, _ = catalogue
    share = sum(PRICING_RE.fullmatch(r["pricing"]).group(2) is not None for r in items) / len(items)
    assert 0.1 <= share <= 0.3


def test_products_of_a_type_differ(catalogue):
    _, items, _ = catalogue
    names = [r["name"] for r in items]
    assert len(set(names)) >= 0.95 * len(names)


@pytest.mark.parametrize(
    ("num_products", "seed", "error", "fragment"),
    [
        (0, 0, ValueError, "got 0"),
        (-5, 0, ValueError, "got -5"),
        (1.5, 0, TypeError, "got 1.5"),
        ("100", 0, TypeError, "got '100'"),
        (True, 0, TypeError, "got True"),
        (10, "1", TypeError, "got '1'"),
        (10, 1.0, TypeError, "got 1.0"),
        (10, None, TypeError, "got None"),
        (10, -3, ValueError, "got -3"),
        (36**8 + 1, 0, ValueError, f"got {36**8 + 1}"),
    ],
)
def test_argument_validation(tmp_path, num_products, seed, error, fragment):
    with pytest.raises(error, match=re.escape(fragment)) as info:
        generate_catalogue(tmp_path, num_products, seed)
    assert "such as" in str(info.value)  # the message says what to pass instead
    assert not (tmp_path / MARKER_FILE).exists()


def test_rerun_replaces_files_and_marker(tmp_path):
    generate_catalogue(tmp_path, 40, seed=1)
    generate_catalogue(tmp_path, 25, seed=2)
    items, attributes = _load(tmp_path)
    assert len(items) == len(attributes) == 25
    assert json.loads((tmp_path / MARKER_FILE).read_text())["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)


def test_cli(tmp_path, capsys):
    main(["--out", str(tmp_path / "cli"), "--num-products", "30", "--seed", "4", "--quiet"])
    assert capsys.readouterr().out.strip() == str(tmp_path / "cli")
    assert json.loads((tmp_path / "cli" / MARKER_FILE).read_text())["num_products"] == 30
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "bad"), "--num-products", "0"])
    assert "num_products must be at least 1" in capsys.readouterr().err


def test_twenty_thousand_products(tmp_path):
    out = generate_catalogue(tmp_path, 20_000, seed=11, show_progress=True)
    items, attributes = _load(out)
    assert len(items) == len(attributes) == 20_000
    assert len({r["asin"] for r in items}) == 20_000
    mean_size = (out / ITEMS_FILE).stat().st_size / 20_000
    assert 500 < mean_size < 1600, mean_size
    assert {r["category"] for r in items} == set(CATEGORY_NAMES)
