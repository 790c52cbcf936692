"""The prompt builder: layout, truncation within the token budget, answers and parsing."""

import pytest

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from stepagent_train.offline_model import OfflineModelConfig, build_offline_model  # noqa: E402
from stepagent_train.prompts import PromptBuilder, PromptConfig, examples_from_record  # noqa: E402

TEXTS = [
    "Observation: WebShop [SEP] Instruction: [SEP] find red shoes [SEP] Search\nAction: search[red shoes]",
    "Observation: results [SEP] B0ABC [SEP] Red Shoe [SEP] $10\nAction: click[B0ABC]",
    "Task: find red shoes under 20 dollars",
] * 20


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    path = build_offline_model(TEXTS, tmp_path_factory.mktemp("m") / "model",
                               OfflineModelConfig(vocab_size=320, hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32))
    return AutoTokenizer.from_pretrained(path)


def turns(n):
    return [(f"page {i} " + "word " * 20, f"click[item {i}]") for i in range(n)]


def test_plain_layout_and_answer(tokenizer):
    builder = PromptBuilder(tokenizer, PromptConfig(max_prompt_tokens=4096, system="SYS"))
    assert not builder.chat
    prompt = builder.build("find red shoes", [("obs one", "search[red shoes]")], "obs two")
    assert prompt.text == "SYS\nTask: find red shoes\n\nObservation: obs one\nAction: search[red shoes]\n\nObservation: obs two\nAction:"
    assert prompt.input_ids[0] == tokenizer.bos_token_id and len(prompt) == len(prompt.input_ids)
    answer = builder.answer_ids(prompt, "click[B0ABC]")
    assert answer[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(answer[:-1]) == " click[B0ABC]"
    # Concatenated ids are what the tokenizer makes of the whole text: nothing merges across the seam.
    joined = tokenizer(prompt.text + " click[B0ABC]")["input_ids"]
    assert prompt.input_ids + answer[:-1] == joined


def test_parse_reads_the_first_line_with_the_wrappers_parser(tokenizer):
    builder = PromptBuilder(tokenizer)
    assert builder.parse(" click[Buy Now]\nObservation: junk\nAction: click[x]") == "click[Buy Now]"
    assert builder.parse(" `search[red shoes]`") == "search[red shoes]"
    assert builder.parse("   ") == ""  # nothing parsed: the stripped text, for the env to flag


@pytest.mark.parametrize("budget", [120, 200, 320])
def test_older_turns_are_dropped_first_within_budget(tokenizer, budget):
    builder = PromptBuilder(tokenizer, PromptConfig(max_prompt_tokens=budget))
    history = turns(12)
    prompt = builder.build("find red shoes", history, "current page")
    assert len(prompt.input_ids) <= budget
    kept = len(prompt.history)
    assert prompt.history == history[len(history) - kept :]  # a suffix: the most recent turns
    assert "Task: find red shoes" in prompt.text and prompt.observation == "current page"
    if kept < len(history):  # one more turn would not have fit
        longer = builder._render("find red shoes", history[len(history) - kept - 1 :], "current page")
        assert len(longer.input_ids) > budget


def test_max_turns_caps_history(tokenizer):
    builder = PromptBuilder(tokenizer, PromptConfig(max_prompt_tokens=4096, max_turns=2))
    assert builder.build("t", turns(5), "o").history == turns(5)[3:]
    assert PromptBuilder(tokenizer, PromptConfig(max_turns=0)).build("t", turns(5), "o").history == []


def test_long_observation_loses_its_middle_but_the_instruction_never(tokenizer):
    builder = PromptBuilder(tokenizer, PromptConfig(max_prompt_tokens=64, system="S"))
    observation = "HEAD " + "alpha beta gamma " * 200 + "TAIL"
    prompt = builder.build("find red shoes", turns(3), observation)
    assert len(prompt.input_ids) <= 64 and prompt.history == [] and "Task: find red shoes" in prompt.text
    head, tail = prompt.observation.split(" ... ")
    assert observation.startswith(head) and observation.endswith(tail)
    assert head.startswith("HEAD ") and tail.endswith("TAIL") and len(head) >= len(tail)
    longer = builder._render("find red shoes", [], observation[: len(head) + 1] + " ... " + tail)
    assert len(longer.input_ids) > 64 or len(longer.input_ids) == len(prompt.input_ids)  # as much as fits
    with pytest.raises(ValueError, match="the task alone"):
        builder.build("word " * 200, [], "obs")


def test_examples_follow_the_record(tokenizer):
    builder = PromptBuilder(tokenizer)
    record = {"task": "t", "steps": [{"observation": "o1", "action": "a1"}, {"observation": "o2", "action": "a2"}]}
    (p1, a1), (p2, a2) = examples_from_record(builder, record)
    assert (a1, a2) == ("a1", "a2")
    assert p1.text == builder.build("t", [], "o1").text
    assert p2.input_ids == builder.build("t", [("o1", "a1")], "o2").input_ids


def test_a_record_without_observations_is_refused_with_its_task(tokenizer):
    record = {"task_id": "t-1", "task": "t", "steps": [{"observation": "o1", "action": "a1"}, {"action": "a2"}]}
    with pytest.raises(ValueError, match=r"task 't-1' cannot be trained on: .* \(steps \[1\] lack one\)"):
        examples_from_record(PromptBuilder(tokenizer), record)


def test_chat_template(tokenizer):
    template = (
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    tokenizer = type(tokenizer).from_pretrained(tokenizer.name_or_path)
    tokenizer.chat_template = template
    builder = PromptBuilder(tokenizer, PromptConfig(system="SYS"))
    assert builder.chat
    prompt = builder.build("t", [("o1", "a1")], "o2")
    assert [m["role"] for m in prompt.messages] == ["system", "user", "assistant", "user"]
    assert prompt.text.endswith("<|user|>Observation: o2</s><|assistant|>")
    answer = builder.answer_ids(prompt, "click[x]")
    assert tokenizer.decode(answer) == "Action: click[x]</s>"
    assert builder.parse("Thought: easy.\nAction: click[x]") == "click[x]"
    assert not PromptBuilder(tokenizer, PromptConfig(chat_template=False)).chat
    with pytest.raises(ValueError, match="no chat template"):
        PromptBuilder(type(tokenizer).from_pretrained(tokenizer.name_or_path), PromptConfig(chat_template=True))


def test_chat_template_without_system_role(tokenizer):
    tokenizer = type(tokenizer).from_pretrained(tokenizer.name_or_path)
    tokenizer.chat_template = (
        "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}</s>{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    builder = PromptBuilder(tokenizer, PromptConfig(system="SYS"))
    prompt = builder.build("t", [], "o")
    assert prompt.text == "<user>SYS\nTask: t\n\nObservation: o</s><assistant>"
    assert tokenizer.decode(builder.answer_ids(prompt, "a")) == "Action: a</s>"


def test_without_tokenizer_counts_characters():
    builder = PromptBuilder(None, PromptConfig(max_prompt_tokens=100))
    prompt = builder.build("t", turns(10), "o")
    assert prompt.input_ids == [] and len(prompt.text) // 4 <= 100 and prompt.messages[-1]["content"] == "Observation: o"
    with pytest.raises(ValueError, match="needs a tokenizer"):
        builder.answer_ids(prompt, "a")


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="max_prompt_tokens must be an int >= 16, got 3"):
        PromptConfig(max_prompt_tokens=3)
    with pytest.raises(ValueError, match="max_turns"):
        PromptConfig(max_turns=-1)


def test_config_round_trip(tmp_path):
    config = PromptConfig(max_prompt_tokens=99, max_turns=3, system="x")
    config.save(tmp_path)
    assert PromptConfig.load(tmp_path) == config
    assert PromptConfig.load(tmp_path / "missing") is None
