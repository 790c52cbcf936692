"""Loading WebShop-format data: real-file quirks, goals, splits without leakage."""

import json

import pytest

from stepagent_envs.shop.data import DEV_SIZE, SPLIT_VERSION, TEST_SIZE, parse_options, parse_pricing, price_tag
from stepagent_envs.shop.tables import load_shop_data
from stepagent_envs.records import DataError, iter_json
from stepagent_envs.shop.store import generated_data_dir


@pytest.mark.parametrize(
    "raw, parsed",
    [("$877.80", (877.8,)), ("$1,847.00", (1847.0,)), ("$19.99$27.99", (19.99, 27.99)), ("", ()), (None, ())],
)
def test_pricing_quirks(raw, parsed):
    assert parse_pricing(raw) == parsed


def test_price_tag():
    assert price_tag((19.99, 27.99)) == "$19.99 to $27.99"
    assert price_tag(()) == "$100.0"


def test_option_quirks():
    assert parse_options("") == {}
    assert parse_options({"Color": None}) == {}
    opts = parse_options({"Color": [{"value": "Black/White"}, {"value": " Red "}], "Size": None,
                          "Style": [{"is_selected": True, "is_available": True, "value": "Slim", "asin": "X"}]})
    assert opts == {"color": ["black | white", "red"], "style": ["slim"]}


def test_real_subset_loads_with_its_quirks(webshop_dir):
    data = load_shop_data(webshop_dir)
    assert len(data.products) == 106
    assert len(data.goals) == 413  # as the data README counts, built the WebShop way
    assert len(data.splits["test"]) == 413 and not data.splits["dev"] and not data.splits["train"]
    for p in data.products:
        assert p.asin == p.asin.upper() and p.price > 0
    # the top-level asin wins over the one in product_information
    raw = json.loads((webshop_dir / "items_shuffle.json").read_text())
    assert [p.asin for p in data.products] == [r["asin"].upper() for r in raw]


def test_human_goals_file_format(webshop_dir, tmp_path):
    # The sample's human instructions name products outside the 106, so remap them onto real ones.
    sample = json.loads((webshop_dir / "items_human_ins_format_sample.json").read_text())
    products = json.loads((webshop_dir / "items_shuffle.json").read_text())
    human = {p["asin"]: entries for p, entries in zip(products, sample.values())}
    (tmp_path / "items_shuffle.json").write_text(json.dumps(products))
    (tmp_path / "items_human_ins.json").write_text(json.dumps(human))
    data = load_shop_data(tmp_path, goals="human")
    expected = sum(1 for entries in sample.values() for e in entries if e["instruction_attributes"])
    assert len(data.goals) == expected and data.goals[0].option_names is None


def test_bad_arguments_get_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown goals 'humans'; expected one of synthetic, human"):
        load_shop_data(tmp_path, goals="humans")
    with pytest.raises(FileNotFoundError, match="no items_shuffle"):
        load_shop_data(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_shop_data(tmp_path / "missing")


def test_embedded_splits_follow_webshop_and_do_not_leak():
    data = load_shop_data(generated_data_dir())
    assert SPLIT_VERSION == 1
    assert len(data.splits["test"]) == TEST_SIZE and len(data.splits["dev"]) == DEV_SIZE
    assert len(data.splits["train"]) == len(data.goals) - TEST_SIZE - DEV_SIZE > 1000
    ids = {s: {g.goal_id for g in goals} for s, goals in data.splits.items()}
    assert not ids["test"] & ids["dev"] and not ids["test"] & ids["train"] and not ids["dev"] & ids["train"]
    assert sum(map(len, ids.values())) == len(data.goals)
    # loading again gives the very same split lists
    again = load_shop_data(generated_data_dir())
    assert [g.goal_id for g in again.splits["test"]] == [g.goal_id for g in data.splits["test"]]


def test_streamed_json_reader_handles_chunk_edges(tmp_path):
    items = [{"asin": f"B{i:09d}", "name": "x" * (i % 37), "n": [i, 1.5, None]} for i in range(300)] + [12345, 2.5, "s"]
    path = tmp_path / "items.json"
    path.write_text(json.dumps(items, indent=1))
    entries = {f"k{i}": {"a": [i, "é" * (i % 9)], "n": i + 0.5} for i in range(200)}
    pairs = tmp_path / "entries.json"
    pairs.write_text(json.dumps(entries))
    for chunk in (1, 7, 64, 1 << 20):
        assert list(iter_json(path, "fix", chunk_chars=chunk)) == items
        assert list(iter_json(pairs, "fix", pairs=True, chunk_chars=chunk)) == list(entries.items())
    path.write_text('{"not": "a list"}')
    with pytest.raises(DataError, match="items.json: top level: expected a list"):
        list(iter_json(path, "fix"))
    path.write_text('[{"a": 1}, {"b": ')
    with pytest.raises(DataError, match="items.json: record 1: not valid JSON: .* at character 17 of the file"):
        list(iter_json(path, "fix"))


def _shop_dir(tmp_path, items, instructed):
    folder = tmp_path / "shop"
    folder.mkdir(exist_ok=True)
    (folder / "items_shuffle.json").write_text(json.dumps(items) if not isinstance(items, str) else items)
    (folder / "items_ins_v2.json").write_text(json.dumps(instructed) if not isinstance(instructed, str) else instructed)
    return folder


GOOD_ITEM = {"asin": "B000000001", "name": "A lamp", "pricing": "$10.00"}
GOOD_INS = {"attributes": ["bright"], "instruction": "i need a lamp", "instruction_attributes": ["bright"]}


@pytest.mark.parametrize("instructed, message", [
    (json.dumps({"B000000001": GOOD_INS})[:30], r"items_ins_v2.json: entry 0: not valid JSON: .* at character 30 "
     r"of the file \(the file ends there: cut off\?\)"),
    ([GOOD_INS], r"items_ins_v2.json: top level: expected an object of entries, got text starting '\[\{"),
    ({"B000000001": {**GOOD_INS, "instruction": 7}},
     r"items_ins_v2.json: entry 'B000000001' .instruction: expected a string, got 7 \(int\)"),
    ({"B000000001": {**GOOD_INS, "attributes": 3}},
     r"items_ins_v2.json: entry 'B000000001' .attributes: expected a list, got 3 \(int\)"),
    ({"B000000001": "lamp"}, r"entry 'B000000001': expected an object, got 'lamp' \(str\)"),
])
def test_a_bad_instruction_file_is_named_with_entry_and_field(tmp_path, instructed, message):
    with pytest.raises(DataError, match=message + ".*items_ins_v2 layout"):
        load_shop_data(_shop_dir(tmp_path, [GOOD_ITEM], instructed))


def test_a_bad_products_file_is_named_with_record_and_position(tmp_path):
    items = json.dumps([dict(GOOD_ITEM, asin=f"B{i:09d}", name="x" * 100) for i in range(3000)])
    folder = _shop_dir(tmp_path, items[:239_000], {"B000000001": GOOD_INS})
    # a file cut at 239k characters: reported where it stops (it used to say "near character 0")
    with pytest.raises(DataError, match=r"items_shuffle.json: record \d+: not valid JSON: .* at character 23\d{4} "):
        load_shop_data(folder)
    (folder / "items_shuffle.json").write_bytes(b'[{"asin": "B1", "name": "\xff\xfe\x00"}]')
    with pytest.raises(DataError, match=r"items_shuffle.json: not UTF-8 text"):
        load_shop_data(folder)
    (folder / "items_shuffle.json").write_text(json.dumps([GOOD_ITEM, 5]))
    with pytest.raises(DataError, match=r"items_shuffle.json: record 1: expected an object, got 5 \(int\)"):
        load_shop_data(folder)
