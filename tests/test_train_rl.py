"""On-policy RL on the shared core: samples, advantages, losses, resume, and real learning on word envs."""

import json
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


from stepagent_train.advantages import discounted_returns, gae, gigpo, grpo, rloo  # noqa: E402
from stepagent_train.critic_free import critic_free_loss  # noqa: E402
from stepagent_train.grpo import GRPOConfig, train_grpo  # noqa: E402
from stepagent_train.offline_model import OfflineModelConfig, build_offline_model  # noqa: E402
from stepagent_train.onpolicy import Turn, clipped_surrogate, kl_penalty, unit_scores  # noqa: E402
from stepagent_train.policies import HFPolicy  # noqa: E402
from stepagent_train.ppo import PPOConfig, train_ppo  # noqa: E402

import word_envs  # noqa: E402  (registers WordBandit-v0 and WordCorridor-v0)
from conftest import assert_same_run  # noqa: E402


@pytest.fixture(scope="module")
def word_model(tmp_path_factory):
    return build_offline_model(word_envs.model_texts(), tmp_path_factory.mktemp("wm") / "model",
                               OfflineModelConfig(vocab_size=320, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64))


def grpo_config(out, model, **kw):
    base = dict(output_dir=str(out), env=word_envs.BANDIT_ID, model=model, lora=False, learning_rate=1e-2, iterations=2,
                tasks_per_iteration=8, group_size=4, batch_size=16, update_epochs=1, num_envs=8, dev_episodes=0,
                eval_initial=False, max_prompt_tokens=128, seed=0)
    return GRPOConfig(**{**base, **kw})


# -- advantages against hand computations ------------------------------------
def test_gae_by_hand():
    # r = [0, 1], V = [0.5, 0.2], gamma 0.9, lambda 0.8, episode ended (V_2 = 0):
    # delta_1 = 1 - 0.2 = 0.8; A_1 = 0.8
    # delta_0 = 0 + 0.9 * 0.2 - 0.5 = -0.32; A_0 = -0.32 + 0.9 * 0.8 * 0.8 = 0.256
    advantages, returns = gae([0.0, 1.0], [0.5, 0.2], gamma=0.9, lam=0.8)
    assert advantages == pytest.approx([0.256, 0.8])
    assert returns == pytest.approx([0.756, 1.0])
    assert discounted_returns([1.0, 0.0, 2.0], 0.5) == pytest.approx([1.5, 1.0, 2.0])


def test_grpo_and_rloo_by_hand():
    rewards = [[0.0, 1.0], [0.0], [0.0, 0.0, 0.0], [1.0], [0.5]]  # returns 1, 0, 0 | 1, 0.5
    groups = ["a", "a", "a", "b", "b"]
    # group a: mean 1/3, population std sqrt(2)/3; group b: mean 0.75, std 0.25
    std_a = (2 ** 0.5) / 3
    got = grpo(rewards, groups, eps=0.0)
    assert got[0] == pytest.approx([(2 / 3) / std_a] * 2)
    assert got[1] == pytest.approx([(-1 / 3) / std_a]) and got[2] == pytest.approx([(-1 / 3) / std_a] * 3)
    assert got[3] == pytest.approx([1.0]) and got[4] == pytest.approx([-1.0])
    assert grpo(rewards, groups, std_normalize=False)[0] == pytest.approx([2 / 3, 2 / 3])
    # RLOO: 1 - mean(0, 0) = 1; 0 - mean(1, 0) = -0.5; group b: 1 - 0.5 = 0.5, 0.5 - 1 = -0.5
    assert [a[0] for a in rloo(rewards, groups)] == pytest.approx([1.0, -0.5, -0.5, 0.5, -0.5])
    with pytest.raises(ValueError, match="RLOO needs at least 2 episodes per group; group 'c' has 1"):
        rloo([[1.0]], ["c"])


def test_gigpo_groups_identical_anchor_states_across_the_groups_trajectories():
    # One group of two episodes from the same start "s0". Episode 0: s0 -> s1 (reward 1 at the end);
    # episode 1: s0 -> s2 -> s1 (no reward). Another group with its own "s0" must not mix in.
    rewards = [[0.0, 1.0], [0.0, 0.0, 0.0], [1.0]]
    anchors = [["s0", "s1"], ["s0", "s2", "s1"], ["s0"]]
    groups = [0, 0, 1]
    got = gigpo(rewards, groups, anchors, step_weight=0.5, gamma=0.5, eps=0.0)
    # Episode level: returns 1 and 0 -> +1 and -1; group 1 alone -> 0.
    # Step groups of group 0: s0 = {(0,0): G = 0.5, (1,0): G = 0} -> +1, -1;
    # s1 = {(0,1): G = 1, (1,2): G = 0} -> +1, -1; s2 seen once -> 0.
    assert got[0] == pytest.approx([1 + 0.5, 1 + 0.5])
    assert got[1] == pytest.approx([-1 - 0.5, -1 + 0.0, -1 - 0.5])
    assert got[2] == pytest.approx([0.0])
    with pytest.raises(ValueError, match="one anchor per turn"):
        gigpo(rewards, groups, [["s0"], ["s0"], ["s0"]])


def test_clipped_surrogate_and_kl_by_hand():
    logp = torch.log(torch.tensor([0.5, 0.5]))
    old = torch.log(torch.tensor([0.25, 0.5]))
    loss, ratio, clipped = clipped_surrogate(logp, old, torch.tensor([1.0, -2.0]), 0.2)
    # ratio 2 with A = 1 clips to 1.2; ratio 1 with A = -2 gives 2
    assert ratio.tolist() == pytest.approx([2.0, 1.0]) and loss.tolist() == pytest.approx([-1.2, 2.0])
    assert clipped.tolist() == [1.0, 0.0]
    # k3 with pi = 0.5, pi_ref = 0.25: exp(log 0.5) - log 0.5 - 1
    kl = kl_penalty(torch.log(torch.tensor([0.5])), torch.log(torch.tensor([0.25])))
    assert float(kl) == pytest.approx(0.5 - torch.log(torch.tensor(0.5)).item() - 1)


# -- samples: the first update's ratio is 1 -----------------------------------
def test_sampled_logprobs_equal_recomputed_ones(word_model):
    policy = HFPolicy.from_pretrained(word_model, device="cpu", temperature=0.7, max_new_tokens=5, seed=3)
    b = policy.builder
    prompts = [b.build("Obey the traffic light.", [], f"The light is {c}.", ["go", "stop"]) for c in ("green", "red")]
    prompts += [b.build("Reach the door.", [("You are 3 steps from the door.", "east")], "You are 2 steps from the door.")] * 3
    samples = policy.sample(prompts)
    assert [s.candidate is not None for s in samples] == [True, True, False, False, False]
    for s, p in zip(samples[:2], prompts[:2]):
        assert s.action in p.valid_actions and s.token_ids == b.answer_ids(p, s.action)
        assert sum(s.distribution) == pytest.approx(1.0) and len(s.logprobs) == 1
    for s in samples[2:]:
        assert len(s.token_ids) == len(s.logprobs) == len(s.entropies) >= 1
    turns = [Turn(list(p.input_ids), s, 0.0, 0, "") for p, s in zip(prompts, samples)]
    policy.model.train()
    logprobs, entropies, *_ = unit_scores(policy.model, turns, policy.tokenizer.pad_token_id, 0.7)
    for t, lp, en in zip(turns, logprobs, entropies):
        assert lp.tolist() == pytest.approx(t.sample.logprobs, abs=1e-5)  # ratio exp(new - old) = 1
        assert en.tolist() == pytest.approx(t.sample.entropies, abs=1e-4)
    # The loss at ratio 1 with advantage A is -A per unit.
    for t in turns:
        t.advantage = 1.0
    loss, stats = critic_free_loss(logprobs, entropies, turns, 0.2, 0.0, 0.0, sum(t.units for t in turns))
    assert loss.item() == pytest.approx(-1.0, abs=1e-5) and stats["clipped"] == 0.0


# -- configs that cannot work --------------------------------------------------
@pytest.mark.parametrize("kw, message", [
    (dict(group_size=1), "group_size must be >= 2 for group advantages, got 1"),
    (dict(gigpo_weight=0.5), "gigpo_weight=0.5 only applies to estimator=gigpo"),
    (dict(estimator="ppo"), "unknown estimator 'ppo'; expected one of grpo, rloo, gigpo"),
    (dict(reward="step"), "needs an expert oracle, but WordBandit-v0 has no expert_action"),
    (dict(reward="final"), "unknown reward 'final'; expected one of outcome, step, mixed"),
    (dict(temperature=0.0), "temperature must be > 0"),
    (dict(model=None), "model is required"),
])
def test_bad_configs_fail_at_construction(tmp_path, word_model, kw, message):
    with pytest.raises(ValueError, match=message):
        grpo_config(tmp_path / "run", kw.pop("model", word_model), **kw)


# -- resume --------------------------------------------------------------------
def test_resume_after_an_iteration_equals_an_uninterrupted_run(tmp_path, word_model):
    straight = train_grpo(grpo_config(tmp_path / "a", word_model, iterations=3), show_progress=False)
    train_grpo(grpo_config(tmp_path / "b", word_model, iterations=1), show_progress=False)
    with pytest.raises(ValueError, match="already holds a GRPO run"):
        train_grpo(grpo_config(tmp_path / "b", word_model, iterations=3), show_progress=False)
    with pytest.raises(ValueError, match="resume: group_size is 2 but the run .* used 4"):
        train_grpo(grpo_config(tmp_path / "b", word_model, iterations=3, resume=True, group_size=2), show_progress=False)
    resumed = train_grpo(grpo_config(tmp_path / "b", word_model, iterations=3, resume=True), show_progress=False)
    assert_same_run(straight, resumed, tmp_path / "a", tmp_path / "b")


def test_step_reward_is_one_flag(tmp_path, word_model):
    """The same run with reward=step pays the expert-step reward per turn (the corridor's oracle says east)."""
    out = {}
    for reward in ("outcome", "step"):
        summary = train_grpo(grpo_config(tmp_path / reward, word_model, env=word_envs.CORRIDOR_ID, reward=reward, iterations=1,
                                         tasks_per_iteration=2), show_progress=False)
        out[reward] = summary["cycles"][0]
    records = [json.loads(line) for line in open(tmp_path / "step" / "cycle-1" / "rollouts.jsonl")]
    east = sum(s["action"] == "east" for r in records for s in r["steps"])
    assert out["step"]["mean_return"] == pytest.approx(east / len(records))
    assert out["outcome"]["mean_return"] == pytest.approx(out["outcome"]["success_rate"])
    assert out["step"]["expert_unavailable"] == 0


# -- real learning from chance --------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("estimator", ["grpo", "rloo", "gigpo"])
def test_grpo_learns_the_bandit_from_chance(tmp_path, word_model, estimator):
    summary = train_grpo(grpo_config(tmp_path / "run", word_model, estimator=estimator, iterations=12, dev_episodes=None,
                                     eval_initial=True, eval_every=12), show_progress=False)
    assert summary["initial_dev"]["success_rate"] == 0.5  # greedy on two tasks: chance
    assert summary["cycles"][-1]["dev"]["success_rate"] > 0.9


@pytest.mark.slow
def test_ppo_learns_the_corridor_from_chance(tmp_path, word_model):
    config = PPOConfig(output_dir=str(tmp_path / "run"), env=word_envs.CORRIDOR_ID, model=word_model, lora=False,
                       learning_rate=1e-2, iterations=6, tasks_per_iteration=16, batch_size=16, update_epochs=1, num_envs=8,
                       dev_episodes=None, eval_every=6, max_prompt_tokens=128)
    summary = train_ppo(config, show_progress=False)
    assert summary["initial_dev"]["success_rate"] == 0.0
    assert summary["cycles"][0]["success_rate"] < 0.5  # sampling from the start: rarely at the door in 8 turns
    assert summary["cycles"][-1]["dev"]["success_rate"] > 0.9
    assert os.path.isfile(os.path.join(summary["cycles"][-1]["checkpoint"], "trainer", "value_head.pt"))
