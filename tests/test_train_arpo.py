"""ARPO: the branching rule and entropy by hand, the tree's shared prefixes and GRPO advantages over it,
no gradient through tool results, and whole runs on a word env and on StepMath-v0."""

import math
import random

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from stepagent_train.advantages import grpo  # noqa: E402
from stepagent_train.arpo import ARPOConfig, branch_copies, collect_tree, normalised_entropy, train_arpo  # noqa: E402
from stepagent_train.critic_free import critic_free_loss  # noqa: E402
from stepagent_train.loop import open_session  # noqa: E402
from stepagent_train.offline_model import OfflineModelConfig, build_offline_model  # noqa: E402
from stepagent_train.onpolicy import Turn, unit_scores  # noqa: E402
from stepagent_train.policies import HFPolicy, Sample  # noqa: E402

import word_envs  # noqa: E402  (registers WordCorridor-v0)

SMALL = OfflineModelConfig(vocab_size=320, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64)


@pytest.fixture(scope="module")
def word_model(tmp_path_factory):
    return build_offline_model(word_envs.model_texts(), tmp_path_factory.mktemp("wm") / "model", SMALL)


def arpo_config(out, model, **kw):
    base = dict(output_dir=str(out), env=word_envs.CORRIDOR_ID, model=model, lora=False, learning_rate=1e-2,
                iterations=1, tasks_per_iteration=3, group_size=6, initial_rollouts=2, batch_size=16, update_epochs=1,
                dev_episodes=0, eval_initial=False, max_prompt_tokens=128, seed=0)
    return ARPOConfig(**{**base, **kw})


def test_branching_rule_against_a_hand_computation():
    u = [random.Random(5).random() for _ in range(4)]  # the draws a Random(5) gives, in order
    h_now, h_init, p, w = 0.9, 0.4, 0.5, 0.2
    expected = sum(x - w * (h_now - h_init) <= p for x in u[:3])
    assert branch_copies(random.Random(5), h_now, h_init, p, w, beam=4, budget=10) == expected
    # The budget caps the copies; beam 1 never branches; p = 1 with no entropy rise always copies.
    assert branch_copies(random.Random(5), h_now, h_init, p, w, beam=4, budget=1) == min(expected, 1)
    assert branch_copies(random.Random(5), 1.0, 0.0, 0.5, 0.2, beam=1, budget=10) == 0
    assert branch_copies(random.Random(5), 0.0, 0.0, 1.0, 0.2, beam=3, budget=10) == 2
    # A higher entropy rise makes copies more likely: the threshold moves by w * (H_now - H_init).
    rng_lo, rng_hi = random.Random(1), random.Random(1)
    lo = sum(branch_copies(rng_lo, 0.0, 0.5, 0.5, 0.2, 2, 9) for _ in range(2000))
    hi = sum(branch_copies(rng_hi, 1.0, 0.0, 0.5, 0.2, 2, 9) for _ in range(2000))
    assert abs(lo / 2000 - 0.4) < 0.03 and abs(hi / 2000 - 0.7) < 0.03


def test_entropy_of_a_planted_uniform_distribution(word_model, tmp_path):
    """A model whose final norm is zero has zero logits: every token's distribution is uniform over the
    vocabulary, so sampled entropies are log |V| and ARPO's normalised entropy is 1."""
    policy = HFPolicy.from_pretrained(word_model, device="cpu", temperature=1.0, max_new_tokens=6, seed=0)
    with torch.no_grad():
        policy.model.model.norm.weight.zero_()
    vocab = policy.model.config.vocab_size
    prompt = policy.builder.build("Reach the door.", [("You are 3 steps from the door.", "east")], "You are 2 steps.")
    sample = policy.sample([prompt])[0]
    assert sample.entropies == pytest.approx([math.log(vocab)] * len(sample.entropies), rel=1e-5)
    assert normalised_entropy(sample, 20, vocab) == pytest.approx(1.0, rel=1e-5)
    assert normalised_entropy(Sample("a", [1], [0.0], [0.5, 0.1, 0.1]), 1, 8) == pytest.approx(0.5 / math.log(8))
    ranked = Sample("east", [1], [-0.7], [math.log(3)], candidates=[[1], [2], [3]], candidate=0)
    assert normalised_entropy(ranked, 20, vocab) == pytest.approx(1.0)


def test_tree_shares_prefixes_and_advantages_are_grpo_over_the_flat_group(word_model, tmp_path):
    config = arpo_config(tmp_path / "run", word_model, branch_p=1.0, branch_w=0.0, beam=3)  # always copy
    session = open_session(config, word_model, (), name="ARPO")
    episodes, report = collect_tree(session, config, 1, show_progress=False)
    groups = [e["group"] for e in episodes]
    assert sorted(groups) == [g for g in range(3) for _ in range(6)]  # the budget, exactly, per task
    assert report["branches"] + report["fresh_fill"] == 3 * (6 - 2) and report["branches"] > 0
    # Siblings from a branch share the prefix's samples (the same objects: the same tokens, log-probs).
    shared = 0
    for i, a in enumerate(episodes):
        for b in episodes[i + 1:]:
            if a["group"] != b["group"]:
                continue
            k = 0
            while k < min(len(a["turns"]), len(b["turns"])) and a["turns"][k].sample is b["turns"][k].sample:
                k += 1
            shared += k > 0
            if k:
                assert all(a["turns"][j].prompt_ids == b["turns"][j].prompt_ids for j in range(k))
    assert shared > 0
    # GRPO over the flattened tree: every trajectory's turns get its group-normalised return.
    rewards = [[t.reward for t in e["turns"]] for e in episodes]
    adv = grpo(rewards, groups)
    for e, a in zip(episodes, adv):
        ret = sum(t.reward for t in e["turns"])
        same = [sum(r) for r, g in zip(rewards, groups) if g == e["group"]]
        mean, std = sum(same) / len(same), (sum((x - sum(same) / len(same)) ** 2 for x in same) / len(same)) ** 0.5
        assert a == pytest.approx([(ret - mean) / (std + 1e-6)] * len(e["turns"]))


def test_no_branching_is_plain_group_rollouts(word_model, tmp_path):
    config = arpo_config(tmp_path / "run", word_model, beam=1)
    session = open_session(config, word_model, (), name="ARPO")
    episodes, report = collect_tree(session, config, 1, show_progress=False)
    assert report["branches"] == 0 and report["fresh_fill"] == 3 * 4 and len(episodes) == 18


def test_tool_result_tokens_get_no_gradient(word_model):
    """The loss scores the action's tokens only: of the logits the forward computes, exactly the positions
    that predict an action token get a gradient; no prompt token (observation, tool result) is a target."""
    policy = HFPolicy.from_pretrained(word_model, device="cpu", temperature=1.0, max_new_tokens=4, seed=1)
    prompt = policy.builder.build("Reach the door.", [("You are 3 steps from the door.", "east")], "You are 2 steps.")
    sample = policy.sample([prompt])[0]
    turn = Turn(list(prompt.input_ids), sample, 1.0, 0, "", advantage=1.0)
    grads = []

    def keep(module, inputs, output):
        output.register_hook(grads.append)

    handle = policy.model.lm_head.register_forward_hook(keep)
    try:
        logprobs, entropies, *_ = unit_scores(policy.model, [turn], policy.tokenizer.pad_token_id, 1.0)
        loss, _ = critic_free_loss(logprobs, entropies, [turn], 0.2, 0.0, 0.0, turn.units)
        loss.backward()
    finally:
        handle.remove()
    per_position = grads[0][0].abs().sum(-1)
    assert int((per_position > 0).sum()) == turn.units == len(sample.token_ids)
    assert len(per_position) <= turn.units + 1 < len(prompt.input_ids)  # prompt positions are not even scored


@pytest.mark.parametrize("kw, message", [
    (dict(initial_rollouts=7), "initial_rollouts must be in 1..group_size \\(6\\), got 7"),
    (dict(beam=0), "beam must be an int >= 1, got 0"),
    (dict(branch_p=1.5), "branch_p must be in \\[0, 1\\]"),
    (dict(branch_w=-1.0), "branch_w must be >= 0"),
    (dict(entropy_window=0), "entropy_window must be >= 1"),
    (dict(group_size=1, initial_rollouts=1), "group_size must be >= 2"),
])
def test_bad_configs_fail_at_construction(tmp_path, word_model, kw, message):
    with pytest.raises(ValueError, match=message):
        arpo_config(tmp_path / "run", word_model, **kw)


def test_arpo_run_writes_the_cycle_layout(tmp_path, word_model):
    summary = train_arpo(arpo_config(tmp_path / "run", word_model, iterations=2), show_progress=False)
    assert len(summary["cycles"]) == 2
    cycle = summary["cycles"][0]
    assert cycle["episodes"] == 18 and "tool_calls_per_episode" in cycle and "branches" in cycle
    assert (tmp_path / "run" / "cycle-1" / "rollouts.jsonl").exists()
    lines = (tmp_path / "run" / "cycle-1" / "rollouts.jsonl").read_text().splitlines()
    assert len(lines) == 18  # one record per trajectory, branches included


@pytest.mark.slow
def test_arpo_runs_on_stepmath_with_generated_actions(tmp_path):
    import stepagent_envs  # noqa: F401
    texts = ["python[print(12 * 34)]", "Output:\n408", "answer[408]", "Solve the problem. Tools: python[code]"] * 50
    model = build_offline_model(texts, tmp_path / "model", SMALL)
    config = ARPOConfig(output_dir=str(tmp_path / "run"), env="StepMath-v0", env_kwargs='{"tool_timeout": 1.0}', model=model,
                        lora=False, learning_rate=1e-3, iterations=1, tasks_per_iteration=2, group_size=4,
                        initial_rollouts=2, batch_size=8, update_epochs=1, dev_episodes=0, eval_initial=False,
                        max_prompt_tokens=256, max_new_tokens=12, seed=0)
    summary = train_arpo(config, show_progress=False)
    cycle = summary["cycles"][0]
    assert cycle["episodes"] == 8 and cycle["env_steps"] >= 8
