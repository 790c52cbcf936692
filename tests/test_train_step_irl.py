"""StepAgent's inverse-RL reflection: the step reward model, the runs, resume, the one command, and bad input."""

import json
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import stepagent_envs  # noqa: E402,F401
from stepagent_train.cli import main as cli_main  # noqa: E402
from stepagent_train.offline_model import OfflineModelConfig, build_offline_model, record_texts  # noqa: E402
from stepagent_train.policies import load_model  # noqa: E402
from stepagent_train.prompts import PromptBuilder, PromptConfig, examples_from_record  # noqa: E402
from stepagent_train.stages import collect_demos  # noqa: E402
from stepagent_train.step_irl import (  # noqa: E402
    StepIRLConfig, StepRewardModel, action_features, auc, fit_reward_model, train_step_irl,
)
from wrappers import read_trajectories  # noqa: E402

import word_envs  # noqa: E402  (registers WordBandit-v0 and WordCorridor-v0)
from conftest import TINY_MODEL, assert_same_run  # noqa: E402

torch.set_num_threads(1)
#: Actions that are wrong in every shop state (planted negatives of the constructed set).
PLANTED = ["click[back to search]", "click[< prev]", "search[garden hose]", "click[next >]"]


@pytest.fixture(scope="module")
def word_model(tmp_path_factory):
    return build_offline_model(word_envs.model_texts(), tmp_path_factory.mktemp("wm") / "model",
                               OfflineModelConfig(vocab_size=320, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64))


@pytest.fixture(scope="module")
def corridor_demos(tmp_path_factory):
    return collect_demos(word_envs.CORRIDOR_ID, {}, 1, 0, str(tmp_path_factory.mktemp("cd") / "demos.jsonl"), False)


def irl_config(out, model, demos, **kw):
    base = dict(output_dir=str(out), env=word_envs.CORRIDOR_ID, model=model, lora=False, learning_rate=1e-2, train_file=demos,
                iterations=2, k=4, batch_size=16, num_envs=4, tasks_per_iteration=4, dev_episodes=0, eval_initial=False,
                max_prompt_tokens=128, seed=0)
    return StepIRLConfig(**{**base, **kw})


# -- the step reward model -------------------------------------------------------
def test_auc_by_hand():
    assert auc([3.0, 2.0], [1.0, 0.0]) == 1.0
    assert auc([1.0], [1.0]) == 0.5
    assert auc([1.0, 0.0], [0.5]) == 0.5
    assert auc([], [1.0]) is None


@pytest.fixture(scope="module")
def shop_set(tmp_path_factory):
    """Expert actions and planted wrong actions at the states of 24 StepShop-v0 expert episodes, as the
    tiny model's features, split by episode into fit and held-out states."""
    folder = tmp_path_factory.mktemp("shop")
    demos = collect_demos("StepShop-v0", {}, 24, 0, str(folder / "demos.jsonl"), False)
    records = read_trajectories(demos)
    model_dir = build_offline_model(record_texts(records), folder / "model", OfflineModelConfig(**TINY_MODEL))
    model, tokenizer, _ = load_model(model_dir)
    builder = PromptBuilder(tokenizer, PromptConfig(max_prompt_tokens=256))
    sets = {"fit": ([], []), "held": ([], [])}
    for r, record in enumerate(records):
        part = sets["held" if r % 3 == 2 else "fit"]
        for t, (prompt, action) in enumerate(examples_from_record(builder, record)):
            wrong = next(a for a in PLANTED[t % len(PLANTED):] + PLANTED if a != action)
            part[0].append((list(prompt.input_ids), builder.answer_ids(prompt, action)))
            part[1].append((list(prompt.input_ids), builder.answer_ids(prompt, wrong)))
    pad = tokenizer.pad_token_id
    return {name: (action_features(model, pos, pad, 8), action_features(model, neg, pad, 8)) for name, (pos, neg) in sets.items()}


@pytest.mark.parametrize("hidden", [0, 16])
def test_discriminator_separates_expert_from_planted_actions_on_held_out_states(shop_set, hidden):
    (pos, neg), (held_pos, held_neg) = shop_set["fit"], shop_set["held"]
    assert len(held_pos) >= 10
    model = fit_reward_model(pos, neg, hidden=hidden, epochs=300, seed=0)
    with torch.no_grad():
        assert auc(model(held_pos).tolist(), model(held_neg).tolist()) > 0.95
    # The reward ranks the expert's action above the wrong one at (nearly) every held-out state.
    expert, wrong = model.reward(held_pos, 5.0), model.reward(held_neg, 5.0)
    assert float((expert > wrong).float().mean()) >= 0.9
    assert float(expert.mean()) > 0 > float(wrong.mean())
    assert float(expert.max()) <= 5.0 and float(wrong.min()) >= -5.0  # clipped


def test_fit_is_deterministic_and_leaves_the_global_rng_alone(shop_set):
    pos, neg = shop_set["fit"]
    state = torch.random.get_rng_state()
    a = fit_reward_model(pos, neg, hidden=8, epochs=20, seed=3)
    assert torch.equal(state, torch.random.get_rng_state())
    b = fit_reward_model(pos, neg, hidden=8, epochs=20, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    with pytest.raises(ValueError, match="needs expert and agent actions, got 3 and 0"):
        fit_reward_model(pos[:3], neg[:0])


def test_features_are_the_answer_s_mean_and_last_hidden_states(word_model):
    model, tokenizer, _ = load_model(word_model)
    items = [([5, 6, 7], [8, 9]), ([5, 6], [10])]
    got = action_features(model, items, tokenizer.pad_token_id, batch_size=2)
    for row, (prompt, answer) in zip(got, items):
        with torch.no_grad():
            alone = model(input_ids=torch.tensor([prompt + answer]), output_hidden_states=True).hidden_states[-1][0]
        expected = torch.cat([alone[len(prompt):].mean(0), alone[-1]]).float()
        assert row.shape == (64,) and torch.allclose(row, expected, atol=1e-5)


# -- runs --------------------------------------------------------------------------
def test_run_writes_the_cycle_layout_and_pays_the_learned_reward(tmp_path, word_model, corridor_demos):
    summary = train_step_irl(irl_config(tmp_path / "run", word_model, corridor_demos, rollouts="both"), show_progress=False)
    first = summary["cycles"][0]
    assert first["inspected_states"] == 3 and first["samples"] == 12
    assert first["reward_auc_train"] > 0.9 and first["expert_reward"] > first["agent_reward"]
    assert first["free_episodes"] == 4 and first["steps"] >= 1
    cycle = tmp_path / "run" / "cycle-1"
    for name in ("inspection.json", "reward_model.pt", "reward_model.json", "rollouts.jsonl", "report.json"):
        assert (cycle / name).is_file(), name
    inspection = json.loads((cycle / "inspection.json").read_text())
    assert [s["expert"] for s in inspection["states"]] == ["east"] * 3
    assert summary["agreement_by_cycle"]["1"] == pytest.approx(first["agreement"])
    # The learned reward is standardised over the cycle's turns (no env reward here: outcome_weight 0).
    assert first["mean_turn_reward"] == pytest.approx(0.0, abs=1e-6)


def test_raw_learned_reward_is_paid_as_it_is_when_not_normalised(tmp_path, word_model, corridor_demos):
    summary = train_step_irl(irl_config(tmp_path / "run", word_model, corridor_demos, rollouts="both", iterations=1,
                                        reward_normalize=False), show_progress=False)
    first = summary["cycles"][0]
    assert abs(first["learned_reward_raw_mean"]) > 0.1  # the AIRL logit is not centred (here mostly negative)
    assert first["mean_turn_reward"] == pytest.approx(first["learned_reward_raw_mean"], abs=1e-6)


def test_resume_after_a_cycle_equals_an_uninterrupted_run(tmp_path, word_model, corridor_demos):
    straight = train_step_irl(irl_config(tmp_path / "a", word_model, corridor_demos, iterations=3), show_progress=False)
    train_step_irl(irl_config(tmp_path / "b", word_model, corridor_demos, iterations=1), show_progress=False)
    with pytest.raises(ValueError, match="resume: k is 2 but the run .* used 4"):
        train_step_irl(irl_config(tmp_path / "b", word_model, corridor_demos, iterations=3, resume=True, k=2),
                       show_progress=False)
    resumed = train_step_irl(irl_config(tmp_path / "b", word_model, corridor_demos, iterations=3, resume=True),
                             show_progress=False)
    assert_same_run(straight, resumed, tmp_path / "a", tmp_path / "b")


@pytest.mark.slow
def test_inverse_rl_learns_the_corridor_from_the_expert_s_states(tmp_path, word_model, corridor_demos):
    """No env reward at all (outcome_weight 0): the learned step reward alone takes the policy to the door."""
    summary = train_step_irl(irl_config(tmp_path / "run", word_model, corridor_demos, iterations=8, k=8, dev_episodes=None,
                                        eval_initial=True, eval_every=8), show_progress=False)
    assert summary["initial_dev"]["success_rate"] == 0.0
    assert summary["cycles"][-1]["dev"]["success_rate"] == 1.0
    assert summary["cycles"][-1]["agreement"] > summary["cycles"][0]["agreement"]


def test_one_command_two_reflections(tmp_path, word_model, corridor_demos, capsys):
    common = ["--env", word_envs.CORRIDOR_ID, "--model", word_model, "--train-file", corridor_demos, "--dev-episodes", "0",
              "--no-eval-initial", "--max-prompt-tokens", "128", "--cycles", "1", "--k", "2", "--no-lora"]
    assert cli_main(["stepagent", "--reflection", "inverse", "--output-dir", str(tmp_path / "inv"), *common]) == 0
    assert (tmp_path / "inv" / "cycle-1" / "reward_model.json").is_file()
    assert cli_main(["stepagent", "--output-dir", str(tmp_path / "imp"), *common]) == 0
    assert (tmp_path / "imp" / "cycle-1" / "pairs.json").is_file()
    with pytest.raises(SystemExit, match="--reflection inverse has no setting --beta"):
        cli_main(["stepagent", "--reflection", "inverse", "--output-dir", str(tmp_path / "x"), "--beta", "0.2", *common])


# -- bad input ---------------------------------------------------------------------
def test_a_missing_trainer_dependency_is_named_with_the_fix():
    from stepagent_train.cli import _trainer_dependencies

    with pytest.raises(SystemExit, match=r"peft is missing; install them with pip install torch==2.13.0 && pip install -e"):
        with _trainer_dependencies():
            raise ModuleNotFoundError("No module named 'peft'", name="peft")
    with pytest.raises(ModuleNotFoundError):  # not one of the trainer's: a real bug, raised as is
        with _trainer_dependencies():
            raise ModuleNotFoundError("No module named 'stepagent_train.nope'", name="stepagent_train.nope")


@pytest.mark.parametrize("kw, message", [
    (dict(reward="step"), "inverse RL learns its step reward"),
    (dict(rollouts="all"), "unknown rollouts 'all'; expected one of prefix, free, both"),
    (dict(reward_hidden=-1), "reward_hidden must be an int >= 0"),
    (dict(reward_weight=0.0, outcome_weight=0.0), "not both 0"),
    (dict(model=None), "model is required"),
    (dict(reward_init="nowhere"), "reward_init 'nowhere' holds no reward_model.pt"),
])
def test_bad_configs_fail_at_construction(tmp_path, word_model, corridor_demos, kw, message):
    with pytest.raises(ValueError, match=message):
        irl_config(tmp_path / "run", kw.pop("model", word_model), corridor_demos, **kw)


def test_reward_model_of_another_tokenizer_is_refused_with_both_names(tmp_path, word_model, corridor_demos):
    folder = tmp_path / "other"
    folder.mkdir()
    torch.save(StepRewardModel(1152).state_dict(), folder / "reward_model.pt")
    (folder / "reward_model.json").write_text(json.dumps({"tokenizer": "HuggingFaceTB/SmolLM2-135M-Instruct",
                                                          "vocab_size": 49152, "features": 1152, "reward_hidden": 0}))
    with pytest.raises(ValueError, match=r"tokenizer 'HuggingFaceTB/SmolLM2-135M-Instruct' .*but the policy's tokenizer is '.*model'"):
        train_step_irl(irl_config(tmp_path / "run", word_model, corridor_demos, reward_init=str(folder)), show_progress=False)
    assert not os.path.exists(tmp_path / "run" / "cycle-1" / "reward_model.pt")
