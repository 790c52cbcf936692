"""StepHotpot's data: the embedded generator, the HotpotQA reader, reading order, scoring and the local corpus."""

import json

import pytest

from stepagent_envs.hotpot.corpus import LocalCorpus
from stepagent_envs.hotpot.data import load_hotpot, order_support, title_key
from stepagent_envs.hotpot.generate import MARKER_FILE, PAGES_FILE, SPLIT_SIZES, generate, split_file
from stepagent_envs.hotpot.reward import answer_f1, exact_match, normalize_answer
from stepagent_envs.hotpot.store import generated_dir, load_questions
from stepagent_envs.records import DataError


@pytest.fixture(scope="module")
def generated():
    out = generated_dir()
    return {split: json.loads((out / split_file(split)).read_text()) for split in SPLIT_SIZES}


# -- the embedded generator ------------------------------------------------------------


def test_generated_splits_have_the_documented_sizes_and_are_disjoint(generated):
    assert {split: len(records) for split, records in generated.items()} == {"train": 10000, "dev": 1000, "test": 1000}
    questions = [r["question"] for records in generated.values() for r in records]
    ids = [r["_id"] for records in generated.values() for r in records]
    assert len(set(questions)) == len(questions) == 12000 and len(set(ids)) == 12000
    assert generated["test"][0]["_id"] == "test-00000"
    meta = json.loads((generated_dir() / MARKER_FILE).read_text())
    assert meta["splits"] == SPLIT_SIZES and meta["pages"] == 6880


def test_generated_records_follow_hotpotqa_and_their_facts_hold(generated):
    pages = json.loads((generated_dir() / PAGES_FILE).read_text())
    kinds = {"bridge": 0, "comparison": 0}
    for record in generated["test"]:
        assert set(record) == {"_id", "question", "answer", "type", "level", "supporting_facts", "context"}
        kinds[record["type"]] += 1
        context = dict((title, sentences) for title, sentences in record["context"])
        assert len(record["context"]) == 10 and len(context) == 10
        for title, index in record["supporting_facts"]:
            assert context[title] == [s if i == 0 else " " + s for i, s in enumerate(pages[title])]
            assert 0 <= index < len(pages[title])
        last_title, last_index = record["supporting_facts"][-1]
        if record["type"] == "bridge":  # the answer is stated by the last supporting sentence
            assert record["answer"] in pages[last_title][last_index]
        else:
            assert record["answer"] in ("yes", "no") or record["answer"] in record["question"]
    assert 0.75 < kinds["bridge"] / 1000 < 0.85
    answers = [r["answer"] for r in generated["train"] if r["type"] == "comparison"]
    assert 0.3 < answers.count("yes") / max(1, answers.count("yes") + answers.count("no")) < 0.7


def test_generation_is_seeded_and_atomic(tmp_path):
    out = tmp_path / "world"
    out.mkdir()
    (out / "leftover.json").write_text("{}")  # an unfinished earlier generation: replaced
    generate(out, seed=0)
    assert not (out / "leftover.json").exists() and (out / MARKER_FILE).exists()
    for name in (split_file("test"), PAGES_FILE):
        assert (out / name).read_bytes() == (generated_dir() / name).read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["world"]  # no temporary folder left behind
    with pytest.raises(TypeError, match="seed must be an int"):
        generate(tmp_path / "other", seed="0")


def test_reading_order_matches_the_generated_hop_order(generated):
    questions = load_questions(None, "test").questions
    for question, record in zip(questions, generated["test"]):
        assert question.support == tuple(dict.fromkeys(t for t, _ in record["supporting_facts"]))


# -- the HotpotQA reader ---------------------------------------------------------------


@pytest.mark.realdata
def test_real_sample_loads_with_its_quirks(hotpot_sample):
    questions, pages = load_hotpot(hotpot_sample)
    assert len(questions) == 60 and len(pages) == 600
    assert all(not s.startswith(" ") for sentences in pages.values() for s in sentences)
    assert 'I"s' in pages and "I&quot;s" not in pages  # HTML entities in titles decoded
    by_id = {q.qid: q for q in questions}
    assert by_id["dev-sample-000"].support == ("Scott Derrickson", "Ed Wood")
    assert by_id["dev-sample-001"].support == ("Kiss and Tell (1945 film)", "Shirley Temple")
    assert {q.kind for q in questions} == {"bridge", "comparison"}


RECORD = {"_id": "a", "question": "q?", "answer": "x", "supporting_facts": [["T", 0]], "context": [["T", ["s."]]]}


def test_reader_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_hotpot(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match="bad.json: not valid JSON: key must be a string at line 1 column 2"):
        load_hotpot(bad)
    bad.write_text(json.dumps([{"_id": "a", "question": "q?", "context": []}]))
    with pytest.raises(DataError, match=r"record 0: missing fields \['answer', 'supporting_facts'\].*unlabelled test"):
        load_hotpot(bad)
    bad.write_text(json.dumps([RECORD, RECORD]))
    with pytest.raises(ValueError, match=r"repeated _id values \['a'\]"):
        load_hotpot(bad)


@pytest.mark.parametrize("change, message", [
    ({"context": [[5, ["s."]]]}, r"record 1 \.context\[0\]\[0\]: expected a string, got 5 \(int\)"),
    ({"context": [["T", ["s.", None]]]}, r"record 1 \.context\[0\]\[1\]\[1\]: expected a string, got None"),
    ({"context": [["T", "not a list"]]}, r"record 1 \.context\[0\]\[1\]: expected a list, got 'not a list' \(str\)"),
    ({"context": None}, r"record 1 \.context: expected a list, got None \(NoneType\)"),
    ({"supporting_facts": [["T"]]}, r"record 1 \.supporting_facts\[0\]: missing field \[1\]"),
    ({"supporting_facts": [["T", "0"]]}, r"record 1 \.supporting_facts\[0\]\[1\]: expected an integer, got '0'"),
    ({"question": None}, r"record 1 \.question: expected a string, got None"),
    ({"answer": None}, r"record 1 \.answer: expected a string, got None"),  # was accepted as the answer 'None'
])
def test_a_bad_field_is_named_with_its_record_and_path(tmp_path, change, message):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([dict(RECORD, _id="ok"), {**RECORD, **change}]))
    with pytest.raises(DataError, match=message):
        load_hotpot(bad)


def test_a_cut_off_or_binary_file_is_named_with_where_reading_stopped(tmp_path):
    bad = tmp_path / "cut.json"
    text = json.dumps([dict(RECORD, _id=str(i)) for i in range(2000)])
    bad.write_text(text[: len(text) // 2])
    with pytest.raises(DataError, match=rf"cut.json: not valid JSON: EOF while parsing .* column {len(text) // 2}"):
        load_hotpot(bad)
    bad.write_bytes(b"[\x00\xff\xfe binary")
    with pytest.raises(DataError, match=r"cut.json: not UTF-8 text \(byte 2 is b'\\xff'\)"):
        load_hotpot(bad)


def test_reading_order_rules():
    pages = {"Bridge Page": ("It names Target Page.",), "Target Page": ("Nothing.",)}
    titles = ["Target Page", "Bridge Page"]
    # the page the question names comes first, then the page it leads to
    assert order_support("Where did Bridge Page lead?", titles, pages) == ("Bridge Page", "Target Page")
    # both named: in the question's order
    assert order_support("Is Target Page older than Bridge Page?", titles[::-1], pages) == ("Target Page", "Bridge Page")
    # none named: most title words shared with the question, else the page naming the other
    assert order_support("Which bridge did it cross?", titles, pages) == ("Bridge Page", "Target Page")
    assert order_support("Who?", titles, pages) == ("Bridge Page", "Target Page")


# -- scoring ---------------------------------------------------------------------------


@pytest.mark.parametrize("prediction, gold, f1, em", [
    ("The Silent River", "silent river", 1.0, True),
    ("Pedro Rodriguez", "Pedro Rodríguez", 1.0, True),  # the agent types ASCII: accents folded
    ("1,234,567", "1234567", 1.0, True),
    ("Silent River film", "The Silent River", 0.8, False),
    ("no", "yes", 0.0, False),
    ("yes it is", "yes", 0.0, False),  # HotpotQA: yes/no answers score all or nothing
    ("the", "a", 1.0, True),  # both normalise to nothing (SQuAD 2.0)
    ("anything", "the", 0.0, False),
])
def test_answer_f1_and_exact_match(prediction, gold, f1, em):
    assert answer_f1(prediction, gold) == pytest.approx(f1)
    assert exact_match(prediction, gold) is em


def test_normalisation_is_squad_style():
    assert normalize_answer("  The  Cat's, a HAT! ") == "cats hat"
    assert title_key("Ed Wood (film)") == title_key("ed wood film") == "ed wood film"
    assert title_key("Neafie &amp; Levy") == "neafie levy"


# -- the local corpus ------------------------------------------------------------------


def test_local_corpus_matches_titles_then_suggests_by_bm25(tmp_path):
    pages = {"Ed Wood": ("Edward Wood was an American filmmaker.",),
             "Ed Wood (film)": ("Ed Wood is a 1994 film by Tim Burton.",),
             "Sergio Pérez": ("Sergio Pérez is a Mexican racing driver.",),
             "ED WOOD": ("A page whose title shares a key with Ed Wood.",),
             "\u65e5\u672c": ("A title with no ASCII letter.",)}
    corpus = LocalCorpus(pages, cache_dir=tmp_path / "index")
    assert corpus.search("Ed Wood").page.title == "Ed Wood"
    assert corpus.search("ED WOOD").page.title == "ED WOOD"  # the exact title beats the shared key
    assert corpus.search("ed wood").page.title == "Ed Wood"  # a shared key: the first in corpus order
    assert corpus.search("  ed   wood, FILM ").page.title == "Ed Wood (film)"
    assert corpus.search("Sergio Perez").page.sentences == ("Sergio Pérez is a Mexican racing driver.",)
    missed = corpus.search("Tim Burton movie")
    assert missed.page is None and missed.similar[0] == "Ed Wood (film)"
    assert corpus.search("zzzz").similar == ()
    assert corpus.search("!!!").page is None and corpus.search("\u4e2d").page is None
    reloaded = LocalCorpus(pages, cache_dir=tmp_path / "index")  # the index is loaded from disk
    assert reloaded.search("racing driver").similar == ("Sergio Pérez",)
