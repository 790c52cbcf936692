"""ETO: the trajectory log-probability and loss by hand, learning on a fixed set, pairing, resume mid-round, bad input."""

import json
import math
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import stepagent_train.loop as loop  # noqa: E402
from stepagent_train.checkpoint import latest_checkpoint  # noqa: E402
from stepagent_train.eto import ETOConfig, TrajectoryPair, train_eto, trajectory_dpo_loss, trajectory_logprobs  # noqa: E402
from stepagent_train.offline_model import OfflineModelConfig, build_offline_model, record_texts  # noqa: E402
from stepagent_train.policies import load_model  # noqa: E402
from stepagent_train.prompts import PromptBuilder, PromptConfig, examples_from_record  # noqa: E402
from wrappers import read_trajectories  # noqa: E402

from conftest import TINY_MODEL, assert_same_run  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model_dir(demos, tmp_path_factory):
    return build_offline_model(record_texts(read_trajectories(demos)), tmp_path_factory.mktemp("m") / "model",
                               OfflineModelConfig(**TINY_MODEL))


def turns_of(builder, record, actions=None):
    """A record's turns as ``[prompt_ids, answer_ids]``; ``actions`` replaces its actions (a wrong trajectory)."""
    if actions is not None:
        record = {**record, "steps": [{**s, "action": a} for s, a in zip(record["steps"], actions)]}
    return [[list(p.input_ids), builder.answer_ids(p, a)] for p, a in examples_from_record(builder, record)]


def manual_logprob(model, prompt_ids, answer_ids):
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt_ids + answer_ids])).logits[0].double().log_softmax(-1)
    return sum(float(logits[len(prompt_ids) - 1 + k, tok]) for k, tok in enumerate(answer_ids))


def eto_config(out, demos, model_dir, **kw):
    base = dict(output_dir=str(out), train_file=demos, model=model_dir, rounds=2, tasks_per_round=None, max_new_tokens=8,
                max_prompt_tokens=256, batch_size=1, grad_accum_steps=1, learning_rate=1e-3, dev_episodes=0, eval_initial=False, num_envs=4,
                pair_when="failed", seed=0)
    return ETOConfig(**{**base, **kw})


def test_loss_of_a_two_turn_trajectory_pair_equals_a_hand_computation(model_dir, demos):
    model, tokenizer, _ = load_model(model_dir)
    builder = PromptBuilder(tokenizer, PromptConfig(max_prompt_tokens=256))
    record = next(r for r in read_trajectories(demos) if len(r["steps"]) >= 2)
    record = {**record, "steps": record["steps"][:2]}
    chosen = turns_of(builder, record)
    rejected = turns_of(builder, record, ["search[garden hose]", "click[< prev]"])
    assert len(chosen) == len(rejected) == 2
    by_hand = [sum(manual_logprob(model, p, a) for p, a in tau) for tau in (chosen, rejected)]
    with torch.no_grad():
        got = trajectory_logprobs(model, [chosen, rejected], tokenizer.pad_token_id)
    assert got.tolist() == pytest.approx(by_hand, abs=1e-4)
    ref_c, ref_r, beta = by_hand[0] + 0.3, by_hand[1] - 0.5, 0.5
    logit = beta * ((by_hand[0] - ref_c) - (by_hand[1] - ref_r))  # 0.5 * (-0.3 - 0.5) = -0.4
    expected = -math.log(1 / (1 + math.exp(-logit)))
    tokens = sum(len(a) for _, a in chosen)
    loss, stats = trajectory_dpo_loss(got[:1], got[1:], torch.tensor([ref_c]), torch.tensor([ref_r]), beta, num_pairs=1,
                                      sft_weight=0.2, num_tokens=tokens)
    assert float(loss) == pytest.approx(expected + 0.2 * -by_hand[0] / tokens, abs=1e-4)
    assert stats["margin"] == pytest.approx(-0.4, abs=1e-5) and stats["correct"] == 0.0


def test_margin_grows_on_a_fixed_set_of_trajectory_pairs(model_dir, demos):
    model, tokenizer, _ = load_model(model_dir)
    builder = PromptBuilder(tokenizer, PromptConfig(max_prompt_tokens=256))
    pairs = []
    for record in read_trajectories(demos):
        wrong = ["click[< prev]" if a.startswith("click") else "search[garden hose]" for a in (s["action"] for s in record["steps"])]
        pairs.append(TrajectoryPair(turns_of(builder, record), turns_of(builder, record, wrong)))
    with torch.no_grad():
        ref = trajectory_logprobs(model, [t for p in pairs for t in (p.chosen, p.rejected)], tokenizer.pad_token_id)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    model.train()
    margins, losses = [], []
    for _ in range(10):
        both = trajectory_logprobs(model, [t for p in pairs for t in (p.chosen, p.rejected)], tokenizer.pad_token_id)
        loss, stats = trajectory_dpo_loss(both[0::2], both[1::2], ref[0::2], ref[1::2], 0.1, num_pairs=len(pairs))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        margins.append(stats["margin"] / len(pairs))
        losses.append(float(loss.detach()))
    assert losses[0] == pytest.approx(math.log(2), abs=1e-4) and margins[0] == pytest.approx(0.0, abs=1e-4)
    assert margins[-1] > margins[4] > margins[1] > 0, margins
    assert losses[-1] < losses[0] - 0.1


def test_round_pairs_failed_exploration_with_the_expert_and_saves_them(tmp_path, demos, model_dir):
    summary = train_eto(eto_config(tmp_path / "run", demos, model_dir, rounds=1), show_progress=False)
    report = summary["cycles"][0]
    saved = json.loads((tmp_path / "run" / "cycle-1" / "pairs.json").read_text())
    records = [json.loads(line) for line in open(tmp_path / "run" / "cycle-1" / "rollouts.jsonl")]
    assert report["explored"] == len(records) == 4
    failed = [r for r in records if not r["won"]]
    assert report["pairs"] == len(saved["pairs"]) == len(failed) >= 1
    expert = {r["task_id"]: r for r in read_trajectories(demos)}
    for pair, agent in zip(saved["pairs"], failed):
        assert pair["task_id"] == agent["task_id"] and len(pair["chosen"]) == len(expert[agent["task_id"]]["steps"])
        assert len(pair["rejected"]) == len(agent["steps"]) and pair["ref_chosen_logp"] < 0
    assert report["steps"] == len(failed)  # batch_size 1, no accumulation, one epoch: one optimizer step per pair


def test_default_micro_batch_is_one_pair_accumulated_to_eight(tmp_path, demos, model_dir):
    # A pair is two whole trajectories: 8 pairs in one forward of the default model took 23 GiB on StepShop.
    config = ETOConfig(output_dir=str(tmp_path / "run"), train_file=demos, model=model_dir)
    assert (config.batch_size, config.grad_accum_steps) == (1, 8)


def test_resume_mid_round_equals_an_uninterrupted_run(tmp_path, demos, model_dir, monkeypatch):
    kw = dict(save_every=1, save_total_limit=10, temperature=1.5)
    straight = train_eto(eto_config(tmp_path / "a", demos, model_dir, **kw), show_progress=False)
    assert all(c["steps"] >= 2 for c in straight["cycles"]), [c["steps"] for c in straight["cycles"]]
    real_append = loop.append_jsonl

    def crash(path, row):
        real_append(path, row)
        if row.get("cycle") == 2 and row.get("cycle_step") == 2:
            raise KeyboardInterrupt  # logged, not checkpointed: redone on resume

    monkeypatch.setattr(loop, "append_jsonl", crash)
    with pytest.raises(KeyboardInterrupt):
        train_eto(eto_config(tmp_path / "b", demos, model_dir, **kw), show_progress=False)
    state = json.load(open(os.path.join(latest_checkpoint(str(tmp_path / "b")), "trainer", "trainer_state.json")))
    assert (state["cycle"], state["cycle_step"]) == (2, 1)
    monkeypatch.setattr(loop, "append_jsonl", real_append)
    with pytest.raises(ValueError, match="already holds a ETO run|already holds an ETO run"):
        train_eto(eto_config(tmp_path / "b", demos, model_dir, **kw), show_progress=False)
    resumed = train_eto(eto_config(tmp_path / "b", demos, model_dir, resume=True, **kw), show_progress=False)
    assert_same_run(straight, resumed, tmp_path / "a", tmp_path / "b")
    assert [c["pairs"] for c in straight["cycles"]] == [c["pairs"] for c in resumed["cycles"]]


@pytest.mark.parametrize("field, value, message", [
    ("pair_when", "worse", "unknown pair_when 'worse'; expected one of failed, lower"),
    ("tasks_per_round", 0, "tasks_per_round must be None"),
    ("beta", 0.0, "need beta > 0"),
    ("model", None, "model is required"),
    ("train_file", "missing.jsonl", "train_file 'missing.jsonl' does not exist"),
])
def test_bad_configs_name_the_field_and_value(tmp_path, demos, model_dir, field, value, message):
    with pytest.raises(ValueError, match=message):
        eto_config(tmp_path, demos, model_dir, **{field: value})


def test_eto_command(tmp_path, demos, model_dir, capsys):
    from stepagent_train.cli import main

    assert main(["eto", "--output-dir", str(tmp_path / "run"), "--train-file", demos, "--model", model_dir, "--rounds", "1",
                 "--tasks-per-round", "2", "--max-new-tokens", "8", "--max-prompt-tokens", "256", "--dev-episodes", "0",
                 "--no-eval-initial", "--num-envs", "2"]) == 0
    assert "best:" in capsys.readouterr().out
    assert (tmp_path / "run" / "cycle-1" / "pairs.json").is_file()
