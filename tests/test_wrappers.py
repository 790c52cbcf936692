"""The wrappers on StepShop-v0 and on a third-party text env: expert-step rewards,
trajectory records, action parsing, their composition and the env checker."""

from __future__ import annotations

import copy
import json
import string
import warnings

import gymnasium as gym
import pytest
from gymnasium import spaces

import stepagent_envs  # noqa: F401
from stepagent_envs.records import DataError
from stepagent_envs.testing import check_text_env
from wrappers import (
    Demonstrations,
    ExpertStepReward,
    MissingDemonstrationError,
    ParseAction,
    RecordTrajectories,
    read_trajectories,
)

# --- a third-party text env: no contract helpers, no expert_action(), sparse info -----------


class CounterEnv(gym.Env):
    """Count from 0 to a target with "inc" and "dec", then "submit"."""

    metadata = {"render_modes": []}

    def __init__(self, obs_max_length: int = 256):
        self.observation_space = spaces.Text(obs_max_length, charset=string.printable)
        self.action_space = spaces.Text(16, charset=string.printable)
        self.steps_taken = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.target, self.value = int(self.np_random.integers(1, 4)), 0
        return self._obs(), {"task_id": f"reach-{self.target}"}

    def step(self, action):
        self.steps_taken += 1
        if action == "submit":
            return "Submitted.", float(self.value == self.target), True, False, {"task_id": f"reach-{self.target}"}
        self.value += {"inc": 1, "dec": -1}.get(action, 0) if isinstance(action, str) else 0
        return self._obs(), 0.0, False, False, {"task_id": f"reach-{self.target}"}

    def _obs(self):
        return f"value {self.value} target {self.target}"


def counter_expert(env, obs, info):
    """A third-party expert: reads the observation it is given."""
    _, value, _, target = obs.split()
    return "submit" if value == target else ("inc" if int(value) < int(target) else "dec")


def counter_demos():
    """One demonstration per target, as trajectory records."""
    return [
        {"task_id": f"reach-{target}", "steps": [{"action": "inc"}] * target + [{"action": "submit"}]}
        for target in (1, 2, 3)
    ]


def play(env, actions_for, seed=0):
    """Reset with ``seed`` and step with ``actions_for(env, obs, info)`` to the episode's end;
    returns the transitions (obs, reward, terminated, truncated, info)."""
    obs, info = env.reset(seed=seed)
    transitions, done = [], False
    while not done:
        transition = env.step(actions_for(env, obs, info))
        transitions.append(transition)
        obs, _, terminated, truncated, info = transition
        done = terminated or truncated
    return transitions


def shop_expert(env, obs, info):
    return env.unwrapped.expert_action()


@pytest.fixture
def shop():
    env = gym.make("StepShop-v0", split="test")
    yield env
    env.close()


# --- ExpertStepReward ---------------------------------------------------------


def test_expert_playing_scores_one_every_step_on_the_shop(shop):
    env = ExpertStepReward(shop)
    transitions = play(env, shop_expert)
    assert [t[4]["step_reward"] for t in transitions] == [1.0] * len(transitions)
    assert [t[1] for t in transitions] == [1.0] * (len(transitions) - 1) + [2.0]  # + the purchase reward
    assert transitions[-1][4]["won"] and transitions[-1][4]["env_reward"] == 1.0


def test_follow_expert_scores_the_expert_at_one_and_returns_its_path(shop):
    bare = gym.make("StepShop-v0", split="test")
    expert_path = play(bare, shop_expert)
    env = ExpertStepReward(shop, follow="expert")
    followed = play(env, shop_expert)
    assert [t[4]["step_reward"] for t in followed] == [1.0] * len(followed)
    assert [t[0] for t in followed] == [t[0] for t in expert_path]


def test_follow_expert_inspects_a_wrong_agent_along_the_expert_path(shop):
    env = ExpertStepReward(shop, follow="expert")
    transitions = play(env, lambda env, obs, info: "click[Back to Search]")
    assert transitions[-1][4]["won"]
    assert [t[4]["step_reward"] for t in transitions] == [0.0] * len(transitions)
    assert transitions[-1][1] == 1.0  # 0 step reward + the expert's purchase


def test_weights_combine_the_step_and_the_env_reward(shop):
    env = ExpertStepReward(shop, step_weight=0.5, outcome_weight=2.0)
    rewards = [t[1] for t in play(env, shop_expert)]
    assert rewards == [0.5] * (len(rewards) - 1) + [2.5]
    env = ExpertStepReward(shop, step_weight=0, outcome_weight=1)
    assert sum(t[1] for t in play(env, shop_expert)) == 1.0


def test_agent_actions_are_scored_by_the_metric(shop):
    env = ExpertStepReward(shop, metric="f1")
    env.reset(seed=0)
    expert = shop.unwrapped.expert_action()  # search[<query words>]
    _, reward, _, _, info = env.step(expert[:-1] + " extra words]")
    assert info["expert_action"] == expert
    assert 0.0 < info["step_reward"] < 1.0 and reward == info["step_reward"]
    assert info["env_reward"] == 0.0 and not info["invalid"]


def test_invalid_actions_score_zero_even_when_similar(shop):
    env = ExpertStepReward(shop, metric="similarity")
    env.reset(seed=0)
    expert = shop.unwrapped.expert_action()
    _, reward, _, _, info = env.step(expert.replace("search", "serch"))
    assert info["invalid"] and info["step_reward"] == 0.0 and reward == 0.0


def test_callable_metric(shop):
    env = ExpertStepReward(shop, metric=lambda action, expert: 0.25)
    assert {t[4]["step_reward"] for t in play(env, shop_expert)} == {0.25}


def test_metric_outside_the_unit_interval_is_an_error(shop):
    env = ExpertStepReward(shop, metric=lambda action, expert: 2.0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"returned 2\.0 .*a metric must return a float in \[0, 1\]"):
        env.step("search[shoes]")


def test_third_party_env_with_an_expert_callable():
    calls = []

    def expert(env, obs, info):
        calls.append((env, obs, info))
        return counter_expert(env, obs, info)

    inner = CounterEnv()
    env = ExpertStepReward(inner, expert=expert)
    obs, info = env.reset(seed=0)
    assert calls == []  # asked lazily, only inside step
    returned = [(obs, info)]
    for action in ("inc", "dec", "inc"):
        step_obs, reward, _, _, step_info = env.step(action)
        returned.append((step_obs, step_info))
        assert reward == step_info["step_reward"] == float(action == step_info["expert_action"])
    # Asked with the env it wraps and the obs and info last returned.
    assert calls == [(inner, obs, info) for obs, info in returned[:-1]]
    transitions = play(env, counter_expert, seed=1)
    assert [t[1] for t in transitions] == [1.0] * (len(transitions) - 1) + [2.0]


@pytest.mark.parametrize("source", ["list", "path", "object"])
def test_third_party_env_with_recorded_demonstrations(source, tmp_path):
    demos = counter_demos()
    if source == "path":
        path = tmp_path / "demos.jsonl"
        path.write_text("".join(json.dumps(record) + "\n" for record in demos) + "\n")
        demos = path
    elif source == "object":
        demos = Demonstrations(demos)
    env = ExpertStepReward(CounterEnv(), expert=demos)
    for seed in range(4):
        transitions = play(env, counter_expert, seed=seed)
        assert [t[4]["step_reward"] for t in transitions] == [1.0] * len(transitions)
        assert transitions[-1][1] == 2.0
    followed = play(ExpertStepReward(CounterEnv(), follow="expert", expert=demos), lambda *a: "dec")
    assert followed[-1][4]["env_reward"] == 1.0


def test_demonstrations_run_out_with_a_clear_error():
    env = ExpertStepReward(CounterEnv(), expert=[{"task_id": "reach-9", "steps": [{"action": "inc"}]}])
    env.reset(seed=0)
    with pytest.raises(MissingDemonstrationError, match=r"no demonstration of task 'reach-\d' \(1 tasks have one\)"):
        env.step("inc")
    env = ExpertStepReward(CounterEnv(), expert=counter_demos())
    env.reset(seed=0)
    for _ in range(env.unwrapped.target + 1):
        env.step("dec")  # off the expert's path: the episode outlives the demonstration
    with pytest.raises(MissingDemonstrationError, match=r"has \d steps and the episode asks for step \d"):
        env.step("dec")


def test_demonstrations_need_a_task_id_in_info():
    class NoTaskId(gym.Wrapper):
        def reset(self, **kwargs):
            return self.env.reset(**kwargs)[0], {}

    env = ExpertStepReward(NoTaskId(CounterEnv()), expert=counter_demos())
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"looked up by info\['task_id'\].*no 'task_id'"):
        env.step("inc")


def test_demonstrations_validate_records(tmp_path):
    same = counter_demos() + counter_demos()[:1]
    assert Demonstrations(same).actions == Demonstrations(counter_demos()).actions
    clash = counter_demos() + [{"task_id": "reach-1", "steps": [{"action": "submit"}]}]
    with pytest.raises(ValueError, match="second demonstration of task 'reach-1' with different actions"):
        Demonstrations(clash)
    with pytest.raises(ValueError, match=r"record 0 of the given records is not a trajectory record.*'steps'"):
        Demonstrations([{"task_id": "a"}])
    with pytest.raises(ValueError, match=r"steps\[1\] has no 'action' str"):
        Demonstrations([{"task_id": "a", "steps": [{"action": "x"}, {"observation": "o"}]}])
    path = tmp_path / "torn.jsonl"
    path.write_text('{"task_id": "a", "steps": []}\n{"task_id"')
    with pytest.raises(ValueError, match=r"torn\.jsonl: line 2: not valid JSON"):
        Demonstrations(path)
    with pytest.raises(TypeError, match="a path to a JSON Lines file or a list of record dicts, got int"):
        Demonstrations(3)
    demos = Demonstrations(counter_demos())
    assert copy.deepcopy(demos) is demos  # read-only, shared by branches


def test_expert_must_return_a_string():
    env = ExpertStepReward(CounterEnv(), expert=lambda env, obs, info: None)
    env.reset(seed=0)
    with pytest.raises(TypeError, match="the expert returned None"):
        env.step("inc")


@pytest.mark.parametrize("wrapper", [ExpertStepReward, ParseAction, RecordTrajectories])
def test_step_before_reset_is_an_error(wrapper, tmp_path):
    args = {RecordTrajectories: (tmp_path / "t.jsonl",), ExpertStepReward: (), ParseAction: ()}[wrapper]
    env = wrapper(gym.make("StepShop-v0", split="test"), *args)
    with pytest.raises(RuntimeError, match=r"call reset\(\) before step\(\)"):
        env.step("Action: search[x]")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"metric": "exactt"}, ValueError, "unknown metric 'exactt'; expected one of exact, f1, similarity"),
        ({"step_weight": -1.0}, ValueError, r"step_weight must be a finite number >= 0, got -1\.0"),
        ({"outcome_weight": float("nan")}, ValueError, "outcome_weight must be a finite number >= 0, got nan"),
        ({"step_weight": True}, ValueError, "step_weight must be a finite number >= 0, got True"),
        ({"outcome_weight": "1"}, ValueError, "outcome_weight must be a finite number >= 0, got '1'"),
        ({"follow": "novice"}, ValueError, "unknown follow 'novice'; expected 'agent'"),
        ({"expert": 3}, TypeError, "expert must be None .* got int"),
    ],
)
def test_construction_errors_name_the_argument_and_the_value(shop, kwargs, error, message):
    with pytest.raises(error, match=message):
        ExpertStepReward(shop, **kwargs)


def test_construction_without_any_expert_is_an_error():
    with pytest.raises(ValueError, match=r"CounterEnv has no expert_action\(\) and no expert was given; pass expert="):
        ExpertStepReward(CounterEnv())


def test_expert_step_reward_refuses_to_wrap_a_parse_action(shop):
    with pytest.raises(ValueError, match=r"put ParseAction outside instead: ParseAction\(ExpertStepReward\(env\)\)"):
        ExpertStepReward(RecordTrajectories(ParseAction(shop), "/dev/null"))


# --- RecordTrajectories -----------------------------------------------------------------


def test_records_of_the_shop_hold_every_step(shop, tmp_path):
    path = tmp_path / "runs.jsonl"
    env = RecordTrajectories(ExpertStepReward(shop), path)
    observations = [env.reset(seed=3)[0]]
    transitions = []
    for _ in range(2):  # two steps, then a reset drops the unfinished episode
        transitions.append(env.step(shop.unwrapped.expert_action()))
    for seed in (3, None):
        obs, info = env.reset(seed=seed)
        observations, actions, transitions, done = [obs], [], [], False
        while not done:
            actions.append(shop.unwrapped.expert_action())
            transitions.append(env.step(actions[-1]))
            observations.append(transitions[-1][0])
            done = transitions[-1][2] or transitions[-1][3]
    records = read_trajectories(path)
    assert len(records) == 2
    assert [r["seed"] for r in records] == [3, None]
    record = records[1]
    assert record["env_id"] == "StepShop-v0"
    assert (record["task_id"], record["task"]) == (info["task_id"], info["task"])
    assert [s["observation"] for s in record["steps"]] == observations[:-1]
    assert [s["action"] for s in record["steps"]] == actions
    assert [s["expert_action"] for s in record["steps"]] == actions
    assert [s["step_reward"] for s in record["steps"]] == [1.0] * len(actions)
    assert [s["reward"] for s in record["steps"]] == [t[4]["env_reward"] for t in transitions]
    assert (record["won"], record["score"]) == (True, 1.0)


def test_truncated_episodes_are_recorded_too(shop, tmp_path):
    path = tmp_path / "runs.jsonl"
    env = RecordTrajectories(ExpertStepReward(shop), path)
    transitions = play(env, lambda env, obs, info: "click[nothing here]")
    assert transitions[-1][3] and len(transitions) == shop.spec.max_episode_steps
    [record] = read_trajectories(path)
    assert (record["won"], record["score"], len(record["steps"])) == (False, 0.0, len(transitions))
    assert {s["step_reward"] for s in record["steps"]} == {0.0}


def test_records_inside_the_expert_step_reward_have_null_expert_fields(shop, tmp_path):
    outside, inside = tmp_path / "outside.jsonl", tmp_path / "inside.jsonl"
    play(RecordTrajectories(ExpertStepReward(gym.make("StepShop-v0", split="test")), outside), shop_expert)
    play(ExpertStepReward(RecordTrajectories(shop, inside)), shop_expert)
    [out], [ins] = read_trajectories(outside), read_trajectories(inside)
    assert all(s["expert_action"] is None and s["step_reward"] is None for s in ins["steps"])
    strip = [{**s, "expert_action": None, "step_reward": None} for s in out["steps"]]
    assert {**out, "steps": strip} == ins  # the env's rewards either way


def test_records_of_a_third_party_env(tmp_path):
    path = tmp_path / "counter.jsonl"
    env = RecordTrajectories(CounterEnv(), path, fsync=False)
    play(env, counter_expert, seed=0)
    [record] = read_trajectories(path)
    assert (record["env_id"], record["task"], record["won"], record["score"]) == (None, None, None, None)
    assert record["task_id"] == f"reach-{env.unwrapped.target}"
    assert record["steps"][-1] == {
        "observation": f"value {env.unwrapped.target} target {env.unwrapped.target}",
        "action": "submit",
        "reward": 1.0,
        "expert_action": None,
        "step_reward": None,
        "valid_actions": [],
    }


def test_non_json_actions_are_stored_as_their_repr_and_the_episode_is_kept(tmp_path):
    """json.dumps raised TypeError at the episode's end and the whole record was lost."""
    import numpy as np

    class Opaque:
        def __repr__(self):
            return "<opaque>"

    path = tmp_path / "odd.jsonl"
    env = RecordTrajectories(CounterEnv(), path, fsync=False)
    env.reset(seed=0)
    odd = [b"inc", bytearray(b"x"), np.int64(3), Opaque(), {1, 2}]
    for action in odd:
        env.step(action)
    env.step("submit")
    [record] = read_trajectories(path)
    steps = record["steps"]
    assert [s["action"] for s in steps] == [repr(a) for a in odd] + ["submit"]
    assert [s.get("action_is_repr") for s in steps] == [True] * len(odd) + [None]


def test_recorder_truncates_a_torn_tail(tmp_path):
    path = tmp_path / "runs.jsonl"
    whole = json.dumps({"task_id": "reach-1", "steps": []}) + "\n"
    torn = '{"env_id": null, "task_id": "rea'
    path.write_text(whole + torn)
    with pytest.warns(RuntimeWarning, match=rf"ended with a torn line.*truncated its last {len(torn)} bytes"):
        env = RecordTrajectories(CounterEnv(), path)
    assert path.read_text() == whole
    play(env, counter_expert)
    assert [r["task_id"] for r in read_trajectories(path)] == ["reach-1", f"reach-{env.unwrapped.target}"]

    path.write_text("no newline at all " * 5000)  # longer than one read-back chunk
    with pytest.warns(RuntimeWarning, match="keeping 0 bytes"):
        RecordTrajectories(CounterEnv(), path)
    assert path.read_text() == ""


def test_recorder_leaves_whole_files_alone(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text('{"task_id": "a", "steps": []}\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RecordTrajectories(CounterEnv(), path)
        RecordTrajectories(CounterEnv(), tmp_path / "new.jsonl")
    assert path.read_text() == '{"task_id": "a", "steps": []}\n'
    assert (tmp_path / "new.jsonl").read_text() == ""


def test_read_trajectories_names_a_bad_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"task_id": "a", "steps": []}\n\n[1, 2]\n')
    with pytest.raises(DataError, match=r"bad\.jsonl: line 3: expected an object, got list"):
        read_trajectories(path)
    path.write_text('{"task_id": "a", "steps": [{"observation": "o", "action": "x"}, {"observation": "o"}]}\n')
    with pytest.raises(DataError, match=r"bad\.jsonl: line 1 \.steps\[1\]: missing field \['action'\]"):
        read_trajectories(path)
    path.write_text('{"task_id": "a", "steps": [{"observation": "o", "action": 3}], "won": "yes"}\n')
    with pytest.raises(DataError, match=r"bad\.jsonl: line 1 \.steps\[0\]\.action: expected a string, got 3"):
        read_trajectories(path)


def test_recorder_copies_append_to_the_same_file(tmp_path, monkeypatch):
    path = tmp_path / "runs.jsonl"
    env = RecordTrajectories(CounterEnv(), path)
    env.reset(seed=0)
    env.step("inc")
    monkeypatch.chdir(tmp_path)  # the path was made absolute
    branch = copy.deepcopy(env)
    for e in (env, branch):
        while not e.step(counter_expert(e, e.unwrapped._obs(), {}))[2]:
            pass
    records = read_trajectories(path)
    assert len(records) == 2 and records[0] == records[1]


# --- ParseAction ---------------------------------------------------------------------


def test_parse_action_steps_with_the_parsed_action(shop):
    env = ParseAction(shop)
    env.reset(seed=0)
    expert = shop.unwrapped.expert_action()
    obs, _, _, _, info = env.step(f"Thought: let me search.\n**Action:** {expert}")
    assert info["format_error"] is False and not info["invalid"]
    assert shop.unwrapped.state.page == "results"


def test_format_errors_return_feedback_without_stepping():
    inner = CounterEnv()
    env = ParseAction(inner)
    obs, info = env.reset(seed=0)
    for answer in ("I think I should increase.", None, "Action:"):
        feedback_obs, reward, terminated, truncated, error_info = env.step(answer)
        assert inner.steps_taken == 0
        assert feedback_obs == env.feedback + "\n" + obs  # prefixes never stack up
        assert "Action: <action>" in env.feedback
        assert (reward, terminated, truncated) == (0.0, False, False)
        assert error_info == {**info, "invalid": True, "format_error": True}
    assert env.step("Action: inc")[0] == "value 1 target " + str(inner.target)


def test_format_errors_pay_nothing_and_ask_no_expert(shop):
    env = ParseAction(ExpertStepReward(shop))
    env.reset(seed=0)
    env.step("Action: " + shop.unwrapped.expert_action())
    _, reward, _, _, info = env.step("no action here")
    assert reward == 0.0 and info["format_error"] and info["invalid"]
    assert (info["expert_action"], info["step_reward"], info["env_reward"]) == (None, 0.0, 0.0)


def test_format_error_feedback_fits_the_observation_space():
    env = ParseAction(CounterEnv(obs_max_length=20), style="raw", feedback="Say something.")
    env.reset(seed=0)
    obs = env.step("  ")[0]
    assert obs == "Say something.\nvalue"
    assert obs in env.observation_space
    with pytest.raises(ValueError, match=r"characters \['é'\] outside the observation space's charset"):
        ParseAction(CounterEnv(), feedback="No action, mon amié.")

    class Alphanumeric(CounterEnv):
        def __init__(self):
            super().__init__()
            self.observation_space = spaces.Text(64)  # Gymnasium's default charset

    with pytest.raises(ValueError, match="pass feedback= written with the space's characters only"):
        ParseAction(Alphanumeric())
    with pytest.raises(ValueError, match="more than the observation space's max_length 8"):
        ParseAction(CounterEnv(obs_max_length=8), feedback="too long")


def test_parse_action_styles_on_an_env():
    env = ParseAction(CounterEnv(), style=r"<a>(\w+)</a>")
    env.reset(seed=0)
    assert env.step("<a>inc</a>")[0].startswith("value 1")
    assert env.step("inc")[0].startswith("Invalid format: no action found; the answer must match the pattern <a>")
    env = ParseAction(CounterEnv(), style=lambda text: text.upper().lower() if text.isalpha() else None)
    env.reset(seed=0)
    assert env.step("inc")[4]["format_error"] is False
    assert env.step("i n c")[4]["format_error"] is True


# --- composition and the env checker ----------------------------------------------------


def compositions(path):
    """The same stack in different orders (ParseAction outermost or above the recorder)."""

    def shop():
        return gym.make("StepShop-v0", split="test")

    return {
        "PA(ESR(RT))": lambda: ParseAction(ExpertStepReward(RecordTrajectories(shop(), path / "a.jsonl"))),
        "PA(RT(ESR))": lambda: ParseAction(RecordTrajectories(ExpertStepReward(shop()), path / "b.jsonl")),
        "RT(PA(ESR))": lambda: RecordTrajectories(ParseAction(ExpertStepReward(shop())), path / "c.jsonl"),
        "PA(ESR)": lambda: ParseAction(ExpertStepReward(shop())),
    }


def test_wrappers_compose_in_any_order(tmp_path):
    bare = gym.make("StepShop-v0", split="test")
    bare.reset(seed=5)
    expert, done = [], False
    while not done:
        expert.append(bare.unwrapped.expert_action())
        done = bare.step(expert[-1])[2]
    answers = ["Thought: search first.\nAction: " + expert[0], "I am not sure.", "Action: click[no such button]"]
    answers += [f"Thought: next.\nAction: {a.upper()}" for a in expert[1:]]

    runs = {}
    for name, make in compositions(tmp_path).items():
        env = make()
        env.reset(seed=5)
        runs[name] = []
        for answer in answers:
            obs, reward, terminated, truncated, info = env.step(answer)
            keys = ("expert_action", "step_reward", "env_reward", "invalid", "format_error", "won", "score")
            runs[name].append((obs, reward, terminated, truncated, {k: info[k] for k in keys}))
    first = runs["PA(ESR)"]
    assert all(run == first for run in runs.values())
    assert [t[1] for t in first] == [1.0, 0.0, 0.0] + [1.0] * (len(expert) - 2) + [2.0]

    [a], [b], [c] = (read_trajectories(tmp_path / f"{x}.jsonl") for x in "abc")
    parsed = [expert[0], "click[no such button]"] + [x.upper() for x in expert[1:]]
    assert [s["action"] for s in a["steps"]] == [s["action"] for s in b["steps"]] == parsed
    assert [s["action"] for s in c["steps"]] == answers  # the model's whole answers
    assert [s["reward"] for s in a["steps"]] == [s["reward"] for s in b["steps"]]
    assert [s["step_reward"] for s in b["steps"]] == [1.0, 0.0] + [1.0] * (len(expert) - 1)
    assert [s["step_reward"] for s in c["steps"]] == [1.0, 0.0, 0.0] + [1.0] * (len(expert) - 1)
    assert a["won"] and b["won"] and c["won"]


def test_check_text_env_passes_when_wrapped(tmp_path):
    def make():
        return gym.make("StepShop-v0", split="test")

    path = tmp_path / "checked.jsonl"
    check_text_env(ExpertStepReward(make(), metric="similarity"), oracle_episodes=2)
    check_text_env(RecordTrajectories(ExpertStepReward(make()), path, fsync=False), oracle_episodes=2)
    check_text_env(ParseAction(ExpertStepReward(make()), style="raw"), oracle_episodes=2)
    # Under the react style the checker's plain actions are all format errors: the
    # contract holds (nothing moves), but the oracle cannot win through it.
    check_text_env(ParseAction(make()), check_oracle=False)
    records = read_trajectories(path)
    assert records and all(r["env_id"] == "StepShop-v0" and r["steps"] for r in records)


def test_expert_unavailable_pays_no_step_reward_and_is_raised_when_following():
    from stepagent_envs.contract import ExpertUnavailable
    from wrappers import ExpertStepReward

    def no_plan(env, obs, info):
        raise ExpertUnavailable("no plan from here")

    env = ExpertStepReward(gym.make("StepShop-v0", split="test"), expert=no_plan)
    env.reset(seed=0)
    _, reward, _, _, info = env.step("search[shampoo]")
    assert reward == 0.0 and info["step_reward"] == 0.0 and info["expert_action"] is None
    following = ExpertStepReward(gym.make("StepShop-v0", split="test"), expert=no_plan, follow="expert")
    following.reset(seed=0)
    with pytest.raises(ExpertUnavailable, match="no plan from here"):
        following.step("search[shampoo]")
