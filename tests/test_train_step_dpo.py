"""StepAgent's step-level DPO: the loss by hand, answer tokens only, learning, the reference per cycle,
inspection reports, the TRL export, resume mid-cycle, and config errors."""

import json
import math
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("accelerate")


import stepagent_envs  # noqa: E402,F401
import stepagent_train.loop as loop  # noqa: E402
import stepagent_train.step_dpo as step_dpo  # noqa: E402
from stepagent_train.checkpoint import latest_checkpoint  # noqa: E402
from stepagent_train.batching import IGNORE_INDEX  # noqa: E402
from stepagent_train.packing import AnswerGroup, PairTokens, collate_groups, pair_logprobs  # noqa: E402
from stepagent_train.offline_model import OfflineModelConfig, build_offline_model, record_texts  # noqa: E402
from stepagent_train.policies import load_model  # noqa: E402
from stepagent_train.prompts import PromptBuilder, PromptConfig, examples_from_record  # noqa: E402
from stepagent_train.step_dpo import (  # noqa: E402
    StepAgentConfig, StepPair, export_pairs, inspect_steps, reflection_step, step_dpo_loss, train_stepagent,
)
from wrappers import read_trajectories  # noqa: E402

from conftest import TINY_MODEL, assert_same_run  # noqa: E402

torch.set_num_threads(1)
TINY = OfflineModelConfig(**TINY_MODEL)


@pytest.fixture(scope="module")
def model_dir(demos, tmp_path_factory):
    return build_offline_model(record_texts(read_trajectories(demos)), tmp_path_factory.mktemp("m") / "model", TINY)


@pytest.fixture(scope="module")
def loaded(model_dir, demos):
    model, tokenizer, _ = load_model(model_dir)
    builder = PromptBuilder(tokenizer, PromptConfig(max_prompt_tokens=256))
    examples = [e for r in read_trajectories(demos) for e in examples_from_record(builder, r)]
    return model, tokenizer, builder, examples


def make_pairs(builder, examples, n):
    """Pairs whose rejected action is another step's expert action (a plausible wrong action)."""
    pairs = []
    for i, (prompt, action) in enumerate(examples[:n]):
        other = next(a for _, a in examples[i + 1 :] + examples[:i] if a != action)
        pairs.append(StepPair(prompt.input_ids, builder.answer_ids(prompt, action), builder.answer_ids(prompt, other),
                              chosen=action, rejected=other, prompt_text=prompt.text,
                              chosen_text=builder.answer_text(prompt, action), rejected_text=builder.answer_text(prompt, other)))
    return pairs


def manual_logprob(model, prompt_ids, answer_ids):
    """log p(answer | prompt) token by token from a plain forward over prompt + answer alone."""
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt_ids + answer_ids])).logits[0].double().log_softmax(-1)
    start = len(prompt_ids)
    return sum(float(logits[start - 1 + k, tok]) for k, tok in enumerate(answer_ids))


def config(out, demos, model_dir, **kw):
    base = dict(output_dir=str(out), train_file=demos, model=model_dir, cycles=2, trajectories=2, k=2, max_new_tokens=8,
                max_prompt_tokens=256, batch_size=2, learning_rate=1e-3, dev_episodes=0, eval_initial=False, seed=0)
    return StepAgentConfig(**{**base, **kw})


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_loss_equals_a_hand_computation(loaded, attention):
    model, tokenizer, builder, examples = loaded
    model.config._attn_implementation = attention
    try:
        pairs = make_pairs(builder, examples, 4)
        chosen, rejected = pair_logprobs(model, pairs, tokenizer.pad_token_id)
    finally:
        model.config._attn_implementation = "sdpa"
    ref_c, ref_r = [-40.0, -3.5, -12.25, -7.0], [-38.0, -9.0, -11.0, -30.5]
    beta, weight = 0.3, 0.5
    hand_c = [manual_logprob(model, p.prompt_ids, p.chosen_ids) for p in pairs]
    hand_r = [manual_logprob(model, p.prompt_ids, p.rejected_ids) for p in pairs]
    assert chosen.tolist() == pytest.approx(hand_c, rel=1e-5)
    assert rejected.tolist() == pytest.approx(hand_r, rel=1e-5)
    dpo = [-math.log(1 / (1 + math.exp(-beta * ((c - rc) - (r - rr))))) for c, r, rc, rr in zip(hand_c, hand_r, ref_c, ref_r)]
    nll = -sum(hand_c) / sum(len(p.chosen_ids) for p in pairs)
    tokens = torch.tensor([len(p.chosen_ids) for p in pairs])
    loss, stats = step_dpo_loss(chosen, rejected, torch.tensor(ref_c), torch.tensor(ref_r), beta, weight, chosen_tokens=tokens)
    assert float(loss.detach()) == pytest.approx(sum(dpo) / 4 + weight * nll, rel=1e-5)
    assert stats["correct"] == sum(beta * ((c - rc) - (r - rr)) > 0 for c, r, rc, rr in zip(hand_c, hand_r, ref_c, ref_r))
    # Split into two micro-batches with the step's totals, the losses add up to the whole batch's.
    halves = [step_dpo_loss(chosen[s], rejected[s], torch.tensor(ref_c)[s], torch.tensor(ref_r)[s], beta, weight,
                            num_pairs=4, num_tokens=int(tokens.sum()))[0] for s in (slice(0, 1), slice(1, 4))]
    assert float(sum(halves).detach()) == pytest.approx(float(loss.detach()), rel=1e-6)
    with pytest.raises(ValueError, match="sft_weight > 0 needs chosen_tokens"):
        step_dpo_loss(chosen, rejected, torch.tensor(ref_c), torch.tensor(ref_r), beta, 1.0)


def test_only_action_tokens_carry_loss(loaded):
    model, tokenizer, builder, examples = loaded
    pairs = make_pairs(builder, examples, 3)
    batch = collate_groups([AnswerGroup(p.prompt_ids, [p.chosen_ids, p.rejected_ids]) for p in pairs], tokenizer.pad_token_id)
    for row, p in enumerate(pairs):  # the labels are the answers' ids and nothing of the prompt
        labels, segments = batch["labels"][row], batch["segments"][row]
        assert labels[segments == 0].tolist() == p.chosen_ids
        assert labels[segments == 1].tolist() == p.rejected_ids
        assert (labels[segments < 0] == IGNORE_INDEX).all()
    assert tokenizer.decode(pairs[0].chosen_ids) == " " + pairs[0].chosen + tokenizer.eos_token
    # The packed row scores each answer as if alone: the rejected answer does not see the chosen one,
    # so changing the chosen answer leaves the rejected log-probability unchanged.
    _, rejected = pair_logprobs(model, pairs, tokenizer.pad_token_id)
    swapped = [PairTokens(p.prompt_ids, p.rejected_ids[:1] * 5, p.rejected_ids) for p in pairs]
    _, rejected_again = pair_logprobs(model, swapped, tokenizer.pad_token_id)
    assert torch.allclose(rejected, rejected_again, atol=1e-5)
    separate = pair_logprobs(model, pairs, tokenizer.pad_token_id, shared_prompt=False)
    assert torch.allclose(torch.stack(pair_logprobs(model, pairs, tokenizer.pad_token_id)), torch.stack(separate), atol=1e-4)
    # Scored against itself as the reference, a pair sits at the DPO loss's neutral point, log 2.
    chosen, rejected = pair_logprobs(model, pairs, tokenizer.pad_token_id)
    loss, _ = step_dpo_loss(chosen, rejected, chosen.detach(), rejected.detach(), beta=0.1)
    assert float(loss) == pytest.approx(math.log(2), abs=1e-6)


def test_margin_grows_with_training_on_a_fixed_pair_set(model_dir, loaded):
    _, tokenizer, builder, examples = loaded
    model, _, _ = load_model(model_dir)
    pairs = make_pairs(builder, examples, 8)
    step_dpo.reference_logprobs(model, pairs, tokenizer.pad_token_id, batch_size=4)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    model.train()
    margins, losses = [], []
    for _ in range(12):
        row = reflection_step(model, [pairs[:4], pairs[4:]], tokenizer.pad_token_id, beta=0.1)
        optimizer.step()
        optimizer.zero_grad()
        margins.append(row["reward_margin"])
        losses.append(row["loss"])
    assert losses[0] == pytest.approx(math.log(2), abs=1e-4)  # policy == reference at the start
    assert margins[0] == pytest.approx(0.0, abs=1e-4)
    assert margins[-1] > margins[5] > margins[1] > 0, margins
    assert losses[-1] < losses[0] - 0.1
    assert row["reward_accuracy"] == 1.0


class ScriptedPolicy:
    """A stand-in for HFPolicy in inspection: agrees with the expert at even steps only."""

    def __init__(self, builder, expert_of):
        self.builder, self.batch_size, self.expert_of = builder, 5, expert_of

    def act(self, prompts):
        return [self.expert_of[id(p)][1] if self.expert_of[id(p)][0] % 2 == 0 else "search[wrong thing]" for p in prompts]


def test_inspection_reports_agreement_per_step_position(loaded, demos, tmp_path, monkeypatch):
    _, tokenizer, builder, _ = loaded
    records = read_trajectories(demos)
    expert_of = {}
    real = step_dpo.examples_from_record

    def remember(b, record):  # map each built prompt to its (step, expert action)
        examples = real(b, record)
        for t, (p, a) in enumerate(examples):
            expert_of[id(p)] = (t, a)
        return examples

    monkeypatch.setattr(step_dpo, "examples_from_record", remember)
    cfg = config(tmp_path, demos, "tiny", trajectories=None, k=3)
    pairs, report = inspect_steps(ScriptedPolicy(builder, expert_of), records, cfg, cycle=1, show_progress=False)
    steps = sum(len(r["steps"]) for r in records)
    assert report["steps"] == steps and report["samples"] == 3 * steps
    for position in report["positions"]:
        assert position["agreement"] == (1.0 if position["step"] % 2 == 0 else 0.0)
        assert position["samples"] == 3 * sum(len(r["steps"]) > position["step"] for r in records)
    odd = sum(len(r["steps"]) // 2 for r in records)
    assert len(pairs) == odd  # one pair per odd step: unique_pairs folds the 3 identical samples
    assert all(p.step % 2 == 1 and p.rejected == "search[wrong thing]" and p.score == 0.0 for p in pairs)
    cfg = config(tmp_path, demos, "tiny", trajectories=None, k=3, unique_pairs=False, steps_per_trajectory=2)
    pairs, report = inspect_steps(ScriptedPolicy(builder, expert_of), records, cfg, cycle=1, show_progress=False)
    assert report["steps"] == 2 * len(records)
    assert len(pairs) == 3 * sum(p["samples"] // 3 for p in report["positions"] if p["step"] % 2)


def test_export_is_what_trl_tokenises(loaded, tmp_path):
    _, tokenizer, builder, examples = loaded
    pairs = make_pairs(builder, examples, 5)
    path = export_pairs(pairs, tmp_path / "pairs.jsonl", tokenizer.eos_token)
    rows = [json.loads(line) for line in open(path)]
    assert [r["prompt"] for r in rows] == [p.prompt_text for p in pairs]
    for row, p in zip(rows, pairs):
        assert set(row) >= {"prompt", "chosen", "rejected"}
        # TRL (non-conversational): tokenizer(prompt) and tokenizer(prompt + answer + eos), answer after the prompt's ids.
        assert tokenizer(row["prompt"])["input_ids"] == p.prompt_ids
        assert tokenizer(row["prompt"] + row["chosen"] + tokenizer.eos_token)["input_ids"] == p.prompt_ids + p.chosen_ids
        assert tokenizer(row["prompt"] + row["rejected"] + tokenizer.eos_token)["input_ids"] == p.prompt_ids + p.rejected_ids


def test_reference_is_fixed_within_a_cycle_and_moves_between_cycles(demos, model_dir, tmp_path, monkeypatch):
    calls = []
    real = step_dpo.reference_logprobs

    def counted(model, pairs, *args, **kwargs):
        calls.append(len(pairs))
        return real(model, pairs, *args, **kwargs)

    monkeypatch.setattr(step_dpo, "reference_logprobs", counted)
    summary = train_stepagent(config(tmp_path / "run", demos, model_dir, save_every=1, save_total_limit=50), show_progress=False)
    assert len(calls) == 2  # once per cycle
    run = tmp_path / "run"
    pairs = {c: [StepPair(**p) for p in json.load(open(run / f"cycle-{c}" / "pairs.json"))["pairs"]] for c in (1, 2)}
    end_of_1 = summary["cycles"][0]["checkpoint"]

    def logps(path, ps):
        model, tokenizer, _ = load_model(path)
        model.eval()
        with torch.no_grad():
            return torch.cat(pair_logprobs(model, ps, tokenizer.pad_token_id)).tolist()

    def refs(ps):
        return [p.ref_chosen_logp for p in ps] + [p.ref_rejected_logp for p in ps]

    # Cycle 1's reference is the starting model; cycle 2's is the model at the end of cycle 1.
    assert logps(model_dir, pairs[1]) == pytest.approx(refs(pairs[1]), abs=1e-3)
    assert logps(end_of_1, pairs[2]) == pytest.approx(refs(pairs[2]), abs=1e-3)
    assert logps(model_dir, pairs[2]) != pytest.approx(refs(pairs[2]), abs=1e-3)
    # Within cycle 1 the policy moves (each step's checkpoint) while the reference does not.
    rows = [json.loads(line) for line in open(run / "metrics.jsonl")]
    steps = [r for r in rows if r.get("event") != "cycle"]
    first_of_cycle = [r for r in steps if r["cycle_step"] == 1]
    assert len(first_of_cycle) == 2 and all(r["dpo_loss"] == pytest.approx(math.log(2), abs=1e-4) for r in first_of_cycle)
    assert any(r["reward_margin"] > 1e-3 for r in steps if r["cycle"] == 1 and r["cycle_step"] > 1)
    mid = run / "checkpoints" / "step-1"
    assert logps(str(mid), pairs[1]) != pytest.approx(refs(pairs[1]), abs=1e-3)
    assert [r["event"] for r in rows if "event" in r] == ["cycle", "cycle"]
    assert os.path.isfile(run / "cycle-1" / "inspection.json") and os.path.isfile(run / "cycle-2" / "pairs.jsonl")
    assert summary["best_cycle"] == 2 and summary["best_checkpoint"] == str(run / "best")  # no dev: the last cycle
    assert set(summary["agreement_by_position"]) == {"1", "2"}


def test_resume_mid_cycle_equals_an_uninterrupted_run(demos, model_dir, tmp_path, monkeypatch):
    kw = dict(save_every=2, save_total_limit=10)
    straight = train_stepagent(config(tmp_path / "a", demos, model_dir, **kw), show_progress=False)

    real_append = loop.append_jsonl

    def crash(path, row):
        real_append(path, row)
        if row.get("cycle") == 2 and row.get("cycle_step") == 3:
            raise KeyboardInterrupt  # logged, not checkpointed: redone on resume

    monkeypatch.setattr(loop, "append_jsonl", crash)
    with pytest.raises(KeyboardInterrupt):
        train_stepagent(config(tmp_path / "b", demos, model_dir, **kw), show_progress=False)
    state = json.load(open(os.path.join(latest_checkpoint(str(tmp_path / "b")), "trainer", "trainer_state.json")))
    assert (state["cycle"], state["cycle_step"]) == (2, 2)
    monkeypatch.setattr(loop, "append_jsonl", real_append)
    with pytest.raises(ValueError, match="already holds a StepAgent run"):
        train_stepagent(config(tmp_path / "b", demos, model_dir, **kw), show_progress=False)
    with pytest.raises(ValueError, match="resume: k is 3 but the run .* used 2"):
        train_stepagent(config(tmp_path / "b", demos, model_dir, resume=True, k=3, **kw), show_progress=False)
    resumed = train_stepagent(config(tmp_path / "b", demos, model_dir, resume=True, **kw), show_progress=False)

    assert_same_run(straight, resumed, tmp_path / "a", tmp_path / "b")
    assert [c["pairs"] for c in straight["cycles"]] == [c["pairs"] for c in resumed["cycles"]]


def test_sft_first_and_collected_demos_with_dev_selection(tmp_path):
    cfg = StepAgentConfig(output_dir=str(tmp_path / "run"), demo_episodes=2, sft_model="tiny", sft_learning_rate=3e-3,
                          sft_steps=2, cycles=1, trajectories=1, k=1,
                          temperature=0.7, max_new_tokens=6, max_prompt_tokens=192, batch_size=4, dev_episodes=1, num_envs=1,
                          lora=True, lora_r=2, lora_alpha=4)
    summary = train_stepagent(cfg, offline_config=TINY, show_progress=False)
    run = tmp_path / "run"
    assert len(read_trajectories(run / "demos.jsonl")) == 2
    assert os.path.isfile(run / "sft" / "base-model" / "tokenizer.json")
    assert summary["start_model"].startswith(str(run / "sft" / "checkpoints"))
    assert summary["initial_dev"]["episodes"] == 1 and summary["cycles"][0]["dev"]["episodes"] == 1
    # The best by success rate, then mean score, then step agreement; a tie keeps the earlier (the starting model).
    key = ("success_rate", "mean_score", "step_agreement")
    better = [summary["cycles"][0]["dev"][k] for k in key] > [summary["initial_dev"][k] for k in key]
    assert summary["best_cycle"] == (1 if better else 0)
    assert summary["best_checkpoint"] == (str(run / "best") if better else summary["start_model"])
    assert os.path.isdir(run / "best") == better
    assert os.path.isfile(os.path.join(summary["cycles"][0]["checkpoint"], "adapter_model.safetensors"))


@pytest.mark.parametrize("field, value, message", [
    ("cycles", 0, "cycles must be an int >= 1, got 0"),
    ("k", 2.5, "k must be an int >= 1, got 2.5"),
    ("beta", 0.0, "beta must be > 0, got 0.0"),
    ("temperature", 0.0, "temperature=0 .greedy. gives k=2 identical samples"),
    ("metric", "bleu", "metric 'bleu' is unknown; pass exact, f1 or similarity"),
    ("agree_threshold", 1.5, r"agree_threshold must be in \(0, 1\], got 1.5"),
    ("sft_weight", -1.0, "sft_weight must be >= 0"),
    ("select_by", "reward", "select_by must be one of success_rate, mean_score, step_agreement"),
    ("dev_episodes", -1, "dev_episodes must be None"),
    ("trajectories", 0, "trajectories must be None .all. or an int >= 1, got 0"),
    ("max_prompt_tokens", 4, "max_prompt_tokens must be an int >= 16"),
    ("env_kwargs", "[1]", "env_kwargs must be a JSON object"),
    ("train_file", "missing.jsonl", "train_file 'missing.jsonl' does not exist"),
])
def test_config_validation_names_field_and_value(demos, tmp_path, field, value, message):
    with pytest.raises(ValueError, match=message):
        config(tmp_path, demos, None, **{field: value})


def test_config_fields_fit_the_cli():
    """cli.py builds flags from the fields: types it can parse and a help text each."""
    import dataclasses

    for f in dataclasses.fields(StepAgentConfig):
        assert f.type.replace(" | None", "") in ("int", "float", "str", "bool"), f.name
        assert f.metadata.get("help"), f.name
