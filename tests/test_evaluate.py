"""The env-side evaluator (``stepagent baselines``): the random and expert agents, a step
the expert cannot plan, and the table's heading, steps per episode and intervals."""

from __future__ import annotations

import gymnasium as gym
import pytest

import stepagent_envs  # noqa: F401  (registers the env ids)
from stepagent_envs import ExpertUnavailable
from stepagent_envs.evaluate import ExpertAgent, RandomAgent, evaluate, format_table

from word_envs import CORRIDOR_ID, WordCorridor


class LostCorridor(WordCorridor):
    """The corridor whose expert cannot say what to do one step from the door."""

    def expert_action(self) -> str:
        if self._at == self.LENGTH - 1:
            raise ExpertUnavailable("no plan from here")
        return "east"


def test_a_step_the_expert_cannot_plan_counts_as_disagreement_and_the_episode_goes_on():
    result = evaluate(LostCorridor(), lambda obs, info: "east", "east", show_progress=False)
    assert result.episodes == 1 and result.success_rate == 1.0
    assert result.steps == 3 and result.step_agreement == pytest.approx(2 / 3)


def test_the_table_names_env_and_split_and_shows_steps_per_episode():
    env = gym.make(CORRIDOR_ID)
    rows = [evaluate(env, ExpertAgent(env), "expert", show_progress=False),
            evaluate(env, RandomAgent(seed=0), "random", show_progress=False)]
    assert rows[0].env == CORRIDOR_ID and rows[0].split == "train"
    table = format_table(rows).splitlines()
    assert table[0] == f"{CORRIDOR_ID}, split train (95% bootstrap intervals over tasks)"
    assert "steps/ep" in table[1] and "95% CI" in table[1]
    assert table[3].split()[-1] == "3.0"  # the expert walks three steps


def test_the_random_agent_samples_every_tool_where_the_space_is_open():
    env = gym.make("StepHotpot-v0", split="test")
    agent = RandomAgent(seed=0)
    obs, info = env.reset(seed=0)
    tools = {agent(obs, info).split("[")[0] for _ in range(200)}
    assert tools == {"search", "lookup", "finish"}
    result = evaluate(env, agent, "random", episodes=30, show_progress=False)
    assert result.steps / result.episodes < 10  # it answers, so episodes end before the step cap


def test_the_random_agent_searches_the_shop_with_task_words():
    env = gym.make("StepShop-v0", split="test")
    obs, info = env.reset(seed=0)
    action = RandomAgent(seed=0, num_words=2)(obs, info)
    assert action.startswith("search[") and all(w in info["task"].split() for w in action[7:-1].split())


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_the_random_agent_rejects_a_bad_word_count(bad):
    with pytest.raises(ValueError, match="num_words must be a positive int"):
        RandomAgent(num_words=bad)
