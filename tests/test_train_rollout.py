"""Rollouts batched across envs, expert collection, and results from records."""

import gymnasium as gym
import pytest

import stepagent_envs  # noqa: F401
from stepagent_envs.evaluate import ExpertAgent, evaluate
from stepagent_train.collect import collect_expert, episode_specs
from stepagent_train.evaluate import result_from_records
from stepagent_train.policies import CallablePolicy
from stepagent_train.prompts import PromptBuilder, PromptConfig, examples_from_record
from stepagent_train.rollout import rollout
from wrappers import read_trajectories


class ExpertByTask:
    """A batched callable that answers the expert's action for each prompt's env
    (found by task), counting calls and batch sizes."""

    def __init__(self, envs, wrong_every=0):
        self.envs = envs
        self.calls = []
        self.prompts = []
        self.wrong_every = wrong_every

    def __call__(self, prompts):
        self.calls.append(len(prompts))
        self.prompts += prompts
        actions = []
        for p in prompts:
            live = [e for e in self.envs if e.unwrapped.goal is not None and e.unwrapped.state.page != "done"
                    and e.unwrapped._info()["task"] == p.task]
            assert len(live) == 1, "the tests play tasks with distinct instructions"
            actions.append(live[0].unwrapped.expert_action())
        if self.wrong_every and len(self.calls) % self.wrong_every == 0:
            actions = ["click[Description]" if a.startswith("click") else a for a in actions]
        return actions


@pytest.fixture(scope="module")
def envs():
    return [gym.make("StepShop-v0", split="test") for _ in range(4)]


def test_one_act_call_per_step_for_all_live_envs(envs, tmp_path):
    specs = episode_specs(envs[0], 7, seed=0, shuffle=False)
    fn = ExpertByTask(envs, wrong_every=3)
    policy = CallablePolicy(fn, PromptBuilder(None, PromptConfig(max_prompt_tokens=4096)), batched=True)
    records = rollout(policy, envs, specs, out=tmp_path / "r.jsonl", show_progress=False)
    # The batch is full while episodes are queued, then shrinks as envs run dry.
    assert fn.calls[0] == 4 and max(fn.calls) == 4 and fn.calls[-1] <= fn.calls[0]
    assert sum(fn.calls) == sum(len(r["steps"]) for r in records)
    assert [r["task_id"] for r in records] == [s["options"]["task_id"] for s in specs]
    assert read_trajectories(tmp_path / "r.jsonl") != [] and len(read_trajectories(tmp_path / "r.jsonl")) == 7
    steps = [s for r in records for s in r["steps"]]
    assert all(s["expert_action"] is not None for s in steps)
    assert any(s["step_reward"] == 0.0 for s in steps) and any(s["step_reward"] == 1.0 for s in steps)
    assert all(r["won"] is not None and r["score"] is not None for r in records)


def test_training_prompts_are_byte_for_byte_the_rollout_prompts(envs, tmp_path):
    pytest.importorskip("transformers")
    from stepagent_train.offline_model import OfflineModelConfig, build_offline_model
    from transformers import AutoTokenizer

    demos = tmp_path / "demos.jsonl"
    collect_expert(gym.make("StepShop-v0", split="train"), demos, 3, show_progress=False)
    texts = [s["observation"] for r in read_trajectories(demos) for s in r["steps"]]
    path = build_offline_model(texts, tmp_path / "m", OfflineModelConfig(vocab_size=400, hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32))
    builder = PromptBuilder(AutoTokenizer.from_pretrained(path), PromptConfig(max_prompt_tokens=200))
    fn = ExpertByTask(envs, wrong_every=2)
    records = rollout(CallablePolicy(fn, builder, batched=True), envs, episode_specs(envs[0], 5, seed=1), show_progress=False)
    assert any(" ... " in p.observation for p in fn.prompts)  # the budget cut some observations
    rebuilt = [p for r in records for p, _ in examples_from_record(builder, r)]
    assert len(rebuilt) == len(fn.prompts)
    given = sorted((p.text, tuple(p.input_ids)) for p in fn.prompts)
    trained = sorted((p.text, tuple(p.input_ids)) for p in rebuilt)
    assert given == trained


def test_inspection_follows_the_expert_and_scores_the_policy(envs):
    specs = episode_specs(envs[0], 4, seed=2)
    builder = PromptBuilder(None, PromptConfig(max_prompt_tokens=4096))
    given = []

    def always_buy(prompts):
        given.extend(prompts)
        return ["click[Buy Now]"] * len(prompts)

    records = rollout(CallablePolicy(always_buy, builder, batched=True), envs, specs, follow="expert", show_progress=False)
    assert all(r["won"] for r in records)  # the expert's path, whatever the policy says
    steps = [s for r in records for s in r["steps"]]
    assert all(s["action"] == "click[Buy Now]" for s in steps)
    assert [s["step_reward"] for s in steps] == [float(s["expert_action"] == "click[Buy Now]") for s in steps]
    # Prompts show the expert's past actions: those of the expert's own trajectory.
    expert_view = [dict(r, steps=[dict(s, action=s["expert_action"]) for s in r["steps"]]) for r in records]
    assert sorted(p.text for p in given) == sorted(p.text for r in expert_view for p, _ in examples_from_record(builder, r))


def test_results_from_records_match_the_env_evaluation(envs):
    specs = [{"seed": None, "options": {"task_id": t}} for t in envs[0].unwrapped.task_ids()[:5]]
    policy = CallablePolicy(ExpertByTask(envs), PromptBuilder(None), batched=True)
    ours = result_from_records(rollout(policy, envs, specs, show_progress=False), "expert", "test")
    theirs = evaluate(envs[0], ExpertAgent(envs[0]), "expert", 5, show_progress=False)
    assert ours == theirs


def test_vector_envs(envs):
    specs = episode_specs(envs[0], 3, seed=0, shuffle=False)
    vec = gym.vector.SyncVectorEnv([lambda: gym.make("StepShop-v0", split="test")] * 2)
    policy = CallablePolicy(ExpertByTask(vec.envs), PromptBuilder(None), batched=True)
    assert all(r["won"] for r in rollout(policy, vec, specs, show_progress=False))
    with pytest.raises(TypeError, match="pass a list of envs or a gymnasium.vector.SyncVectorEnv"):
        rollout(policy, gym.vector.AsyncVectorEnv([lambda: gym.make("StepShop-v0", split="test")], shared_memory=False), specs)


def test_collect_is_deterministic_by_seed(tmp_path):
    env = gym.make("StepShop-v0", split="train")
    a = collect_expert(env, tmp_path / "a.jsonl", 4, seed=3, show_progress=False)
    collect_expert(env, tmp_path / "b.jsonl", 4, seed=3, show_progress=False)
    c = collect_expert(env, tmp_path / "c.jsonl", 4, seed=4, show_progress=False)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert [r["task_id"] for r in a] != [r["task_id"] for r in c]
    assert len({r["task_id"] for r in a}) == 4 and [r["seed"] for r in a] == [3, 4, 5, 6]
    assert all(r["won"] and all(s["step_reward"] == 1.0 for s in r["steps"]) for r in a)
    assert len(collect_expert(env, tmp_path / "a.jsonl", 2, seed=0, show_progress=False)) == 2  # appends, returns the new
    with pytest.raises(ValueError, match="episodes=100000 but the split has"):
        episode_specs(env, 100000, 0)
