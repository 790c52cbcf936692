"""StepHotpot-v0: the contract checker, tools, invalid and repeated actions, branching and the expert oracle."""

import copy
import pickle

import gymnasium as gym
import pytest

import stepagent_envs  # noqa: F401
from stepagent_envs.hotpot.env import StepHotpotEnv
from stepagent_envs.hotpot.expert import missing_pages
from stepagent_envs.testing import check_text_env


@pytest.fixture(scope="module")
def env():
    env = gym.make("StepHotpot-v0", split="test")
    yield env
    env.close()


def by_support(env, kind, hops, word=""):
    """A test question of ``kind`` with ``hops`` supporting pages whose text has ``word``."""
    return next(q for q in env.unwrapped.questions.questions
                if q.kind == kind and len(q.support) == hops and word in q.question)


def run_expert(env, task_id):
    env.reset(options={"task_id": task_id})
    actions = []
    while True:
        actions.append(env.unwrapped.expert_action())
        obs, reward, terminated, truncated, info = env.step(actions[-1])
        if terminated or truncated:
            return actions, reward, info


def test_check_text_env():
    check_text_env(gym.make("StepHotpot-v0", split="test"), env_fn=lambda: gym.make("StepHotpot-v0", split="test"),
                   oracle_episodes=5)


@pytest.mark.realdata
def test_check_text_env_on_the_real_sample(hotpot_sample):
    make = lambda: gym.make("StepHotpot-v0", data_path=str(hotpot_sample))  # noqa: E731
    check_text_env(make(), env_fn=make, oracle_episodes=5)


def test_reset_shows_the_question_and_the_tools(env):
    obs, info = env.reset(seed=0)
    assert obs.endswith(f"\nQuestion: {info['task']}") and "search[entity], lookup[keyword]" in obs
    assert info["valid_actions"] == [] and info["tools"] == ["search", "lookup", "finish"]
    assert info["task_id"].startswith("test-") and info["page"] is None
    assert (info["won"], info["score"], info["invalid"]) == (False, 0.0, False)
    assert env.spec.max_episode_steps == 10


def test_search_lands_on_exact_titles_up_to_case_and_punctuation(env):
    question = by_support(env, "bridge", 2)
    env.reset(options={"task_id": question.qid})
    title = question.support[0]
    page = env.unwrapped.corpus.pages[title]
    obs, reward, terminated, _, info = env.step(f"SEARCH [ {title.upper()}! ]")
    assert obs.startswith(f"{title}\n{' '.join(page[:5])}") and info["page"] == title
    assert reward == 0.0 and not terminated and not info["invalid"]
    if len(page) > 5:
        assert obs.endswith("lookup[keyword] finds them.)" if len(page) > 6 else "lookup[keyword] finds it.)")
    obs, *_, info = env.step(f"search[{title}]")
    assert obs.startswith("(You have seen this page before.)\n") and info["page"] == title and not info["invalid"]


def test_a_missed_search_lists_similar_titles_and_keeps_the_page(env):
    env.reset(seed=1)
    question = env.unwrapped.question
    env.step(f"search[{question.support[0]}]")
    obs, _, _, _, info = env.step("search[directed film novel river]")
    assert obs.startswith("Could not find [directed film novel river]. Similar: [") and obs.count("', '") == 4
    assert info["page"] == question.support[0] and not info["invalid"]
    obs, *_ = env.step("search[qqqqzzzz]")
    assert obs == "Could not find [qqqqzzzz]. No similar titles."
    # a name two kinds share has only disambiguated pages: the bare name misses, "name film" lands
    shared = next(t for t in env.unwrapped.corpus.titles if t.endswith(" (film)"))
    obs, *_ = env.step(f"search[{shared[:-7]}]")
    assert obs.startswith(f"Could not find [{shared[:-7]}]. Similar: [")
    assert env.step(f"search[{shared[:-7]} film]")[-1]["page"] == shared


def test_lookup_ranks_matches_and_restarts_with_a_new_keyword(env):
    question = by_support(env, "bridge", 2, "film")
    env.reset(options={"task_id": question.qid})
    env.step(f"search[{question.support[0]}]")
    sentences = env.unwrapped.state.page.sentences
    matching = [s for s in sentences if "the" in s.lower()]
    assert len(matching) >= 2
    for rank, sentence in enumerate(matching, start=1):
        obs, *_ = env.step("lookup[THE]")
        assert obs == f"(Result {rank} / {len(matching)}) {sentence}"
    assert env.step("lookup[the]")[0] == "No more results."
    assert env.step("lookup[film]")[0].startswith("(Result 1 / ")
    obs, *_, info = env.step("lookup[qqqqzzzz]")
    assert obs == f"No results for [qqqqzzzz] on {question.support[0]}." and not info["invalid"]


def test_finish_pays_token_f1(env):
    question = by_support(env, "bridge", 2)
    env.reset(options={"task_id": question.qid})
    obs, reward, terminated, truncated, info = env.step(f"finish[{question.answer} maybe]")
    words = len(question.answer.split())
    assert reward == pytest.approx(2 * words / (2 * words + 1)) and terminated and not truncated
    assert info["f1"] == info["score"] == reward and info["em"] is False and info["won"] is False
    assert info["answer"] == f"{question.answer} maybe" and obs.startswith("Episode finished")
    with pytest.raises(RuntimeError, match="call reset"):
        env.step("finish[again]")
    env.reset(options={"task_id": question.qid})
    _, reward, _, _, info = env.step(f"finish[the {question.answer.upper()}]")
    assert (reward, info["em"], info["won"]) == (1.0, True, True)


@pytest.mark.parametrize("action, why", [
    ("banana", "is not a tool call"), ("click[Buy Now]", "is not a tool call"), ("search[]", "search[] is empty"),
    ("finish[  ]", "finish[] is empty"), ("lookup[born]", "no page to look up in"), (42, "got int"),
])
def test_invalid_actions_give_feedback_and_change_nothing(env, action, why):
    obs0, info0 = env.reset(seed=4)
    state = env.unwrapped.state
    obs, reward, terminated, truncated, info = env.step(action)
    assert obs.startswith("Invalid action: ") and why in obs and obs.endswith("or finish[answer].")
    assert (reward, terminated, truncated, info["invalid"]) == (0.0, False, False, True)
    assert env.unwrapped.state == state and {**info, "invalid": False} == info0


def test_truncated_after_ten_steps():
    env = gym.make("StepHotpot-v0", split="test")
    env.reset(seed=0)
    for step in range(10):
        *_, terminated, truncated, _ = env.step("lookup[anything]")
        assert not terminated and truncated == (step == 9)


def test_same_seed_same_episode_and_task_ids():
    a, b = StepHotpotEnv(split="test"), StepHotpotEnv(split="test")
    assert a.reset(seed=7) == b.reset(seed=7)
    obs, info = a.reset(options={"task_id": "test-00042"})
    assert info["task_id"] == "test-00042" and a.task_ids()[42] == "test-00042" and len(a.task_ids()) == 1000
    with pytest.raises(ValueError, match="task_id 'train-00001' is not in .*hotpot_test.json"):
        a.reset(options={"task_id": "train-00001"})


def test_deepcopy_and_pickle_mid_episode_continue_identically():
    env = StepHotpotEnv(split="test")
    question = by_support(env, "bridge", 3)
    prefix = [f"search[{question.support[0]}]", "lookup[the]"]
    rest = ["lookup[the]", f"search[{question.support[1]}]", "lookup[in]", f"finish[{question.answer}]"]
    for copier in (lambda e: pickle.loads(pickle.dumps(e)), copy.deepcopy):
        env.reset(options={"task_id": question.qid})
        for action in prefix:
            env.step(action)
        clone = copier(env)
        assert clone.corpus is env.corpus and clone.state == env.state
        for action in rest:
            assert clone.step(action) == env.step(action)
    assert len(pickle.dumps(env)) < 8000  # arguments and episode state only: the corpus is shared per process


def test_expert_wins_every_embedded_test_question_reading_every_supporting_page():
    env = gym.make("StepHotpot-v0", split="test")
    questions = env.unwrapped.questions.questions
    assert len(questions) == 1000
    for question in questions:
        actions, reward, info = run_expert(env, question.qid)
        assert reward == 1.0 and info["won"], (question, actions)
        assert env.unwrapped.state.seen == question.support and missing_pages(env.unwrapped) == []
        assert len(actions) == len(question.support) + 1


def test_expert_plans_from_any_state(env):
    question = by_support(env, "bridge", 3)
    env.reset(options={"task_id": question.qid})
    env.step(f"search[{question.support[1]}]")  # the agent jumped ahead
    env.step("search[qqqq]")
    assert env.unwrapped.expert_action() == f"search[{question.support[0]}]"
    env.step(env.unwrapped.expert_action())
    assert env.unwrapped.expert_action() == f"search[{question.support[2]}]"
    env.step(env.unwrapped.expert_action())
    assert env.unwrapped.expert_action() == f"finish[{question.answer}]"


@pytest.mark.realdata
def test_expert_on_the_real_sample(hotpot_sample):
    env = gym.make("StepHotpot-v0", data_path=str(hotpot_sample), split="dev")
    results = [run_expert(env, q.qid) + (q,) for q in env.unwrapped.questions.questions]
    assert len(results) == 60
    solved = [r for _, r, info, q in results if r == 1.0 and info["won"]]
    assert len(solved) / len(results) >= 0.95
    env.reset(options={"task_id": "dev-sample-020"})  # the gold answer has accents: the expert types ASCII
    assert env.unwrapped.expert_action() == "search[Formula One drivers from Mexico]"
    assert run_expert(env, "dev-sample-020")[0][-1] == "finish[Pedro Rodriguez]"
    assert env.unwrapped.split == "dev"


@pytest.mark.parametrize("kwargs, message", [
    ({"split": "tets"}, "unknown split 'tets'; expected one of train, dev, test"),
    ({"corpus": "web"}, "unknown corpus 'web'; expected one of local, wikipedia"),
    ({"corpus": "wikipedia"}, "needs real HotpotQA questions"),
    ({"page_sentences": 0}, "page_sentences must be a positive int"),
    ({"render_mode": "human"}, "unknown render_mode 'human'"),
])
def test_bad_arguments_say_what_to_pass(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        StepHotpotEnv(**kwargs)


def test_render_ansi_returns_the_last_observation():
    env = StepHotpotEnv(split="test", render_mode="ansi")
    obs, _ = env.reset(seed=0)
    assert env.render() == obs
