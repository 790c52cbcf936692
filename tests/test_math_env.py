"""StepMath-v0: problems, answers, GSM8K reading, tools, invalid actions and the expert oracle."""

import json
import time
from fractions import Fraction

import gymnasium as gym
import pytest

import stepagent_envs  # noqa: F401
from stepagent_envs.math.answer import agrees, format_number, numbers_in, parse_number
from stepagent_envs.math.env import StepMathEnv
from stepagent_envs.math.gsm8k import load_gsm8k, solution_program
from stepagent_envs.math.problems import SPLIT_SIZES, generated_problems, split_of
from stepagent_envs.math.sandbox import run_python
from stepagent_envs.records import DataError
from stepagent_envs.testing import check_text_env

# GSM8K lines whose worked solution ends in words (no annotation computes the answer).
GSM8K_SAMPLE_PROGRAMS_MISSING_ANSWER = {"gsm8k-14", "gsm8k-15", "gsm8k-25", "gsm8k-30", "gsm8k-35", "gsm8k-44"}


def _expert_episode(env, task_id):
    env.reset(options={"task_id": task_id})
    actions = []
    while True:
        action = env.unwrapped.expert_action()
        actions.append(action)
        obs, reward, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return reward, info, actions


@pytest.mark.parametrize("text, value", [("18", 18), ("$1,234.50", Fraction(2469, 2)), ("18.0", 18), (" 3/4 ", Fraction(3, 4)),
                                         ("12%", 12), ("-5", -5), ("12.", 12), (".5", Fraction(1, 2)), ("1e3", 1000)])
def test_parse_number_normalises(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "abc", "18 dollars", "1,23", "3/0", "1 2", "--4"])
def test_parse_number_refuses_what_is_not_one_number(text):
    assert parse_number(text) is None


def test_agreement_tolerance_and_formatting():
    assert agrees(Fraction("18.0000001"), Fraction(18)) and not agrees(Fraction("18.0001"), Fraction(18))
    assert not agrees(Fraction("1234.56"), Fraction("1234.57"))  # a cent off is wrong
    assert [format_number(Fraction(x)) for x in ("18", "18.5", "1/3", "-0.25")] == ["18", "18.5", "1/3", "-0.25"]
    assert numbers_in("step1 = 9\ntotal: 1,234.5 and -3 x2") == [9, Fraction(2469, 2), -3]


def test_generated_splits_are_disjoint_sized_and_stable():
    texts = {s: {p.question for p in generated_problems(s)} for s in SPLIT_SIZES}
    assert {s: len(t) for s, t in texts.items()} == SPLIT_SIZES
    assert not (texts["train"] & texts["dev"]) and not (texts["train"] & texts["test"]) and not (texts["dev"] & texts["test"])
    assert all(split_of(q) == "test" for q in texts["test"])
    first = generated_problems("test")[0]
    assert first.pid == "test-0" and first.answer == generated_problems.__wrapped__("test")[0].answer


def test_every_dev_program_prints_its_exact_answer():
    """The solution programs of one split, run in the sandbox, end by printing the exact answer."""
    wrong = []
    for p in generated_problems("dev")[:150]:
        printed = numbers_in(run_python(p.program).output)
        if not printed or printed[-1] != p.answer:
            wrong.append((p.pid, p.question, printed[-1:], p.answer))
    assert wrong == []


def test_check_text_env_and_oracle_on_generated_problems():
    make = lambda: gym.make("StepMath-v0", split="test")  # noqa: E731
    check_text_env(make(), env_fn=make, oracle_episodes=5)


def test_oracle_solves_every_gsm8k_sample_problem(gsm8k_sample):
    env = gym.make("StepMath-v0", data_path=str(gsm8k_sample))
    check_text_env(env, env_fn=lambda: gym.make("StepMath-v0", data_path=str(gsm8k_sample)), oracle_episodes=3)
    ids = env.unwrapped.task_ids()
    assert len(ids) == 60
    long_way = set()
    for task_id in ids:
        reward, info, actions = _expert_episode(env, task_id)
        assert reward == 1.0 and info["won"], (task_id, actions)
        if len(actions) == 2 and task_id in GSM8K_SAMPLE_PROGRAMS_MISSING_ANSWER:
            long_way.add(task_id)
    # The program runs once, then the expert answers the gold whether or not the program printed it.
    assert long_way == GSM8K_SAMPLE_PROGRAMS_MISSING_ANSWER


def test_gsm8k_gold_is_the_number_after_the_marks(gsm8k_sample):
    problems = load_gsm8k(gsm8k_sample)
    lines = [json.loads(line) for line in gsm8k_sample.read_text().splitlines()]
    assert [p.answer for p in problems] == [Fraction(int(r["answer"].split("####")[1].replace(",", ""))) for r in lines]
    assert problems[0].program.startswith("step1 = 16-3-4")


def test_solution_program_from_annotations():
    program = solution_program("He has 3*4=<<3*4=12>>12, then 12+5=<<12+5=17>>17 more.")
    assert run_python(program).output == "step1 = 12\nstep2 = 17\n"


@pytest.mark.parametrize("content, message", [
    ('{"question": "q"}\n', "line 1: missing field ['answer']"),
    ('{"question": "q", "answer": "no marks"}\n', "line 1 .answer: expected the solution to end with '#### <number>'"),
    ('{"question": "q", "answer": "#### 4"}\nnot json\n', "line 2: not valid JSON"),
    ('{"question": 3, "answer": "#### 4"}\n', "line 1 .question: expected a string"),
    ("\n\n", "no problems in the file"),
])
def test_bad_gsm8k_files_name_line_and_field(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=None) as err:
        load_gsm8k(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_tools_outputs_errors_and_answers():
    env = StepMathEnv(split="test", render_mode="ansi")
    obs, info = env.reset(seed=0)
    assert "Problem:" in obs and info["tools"] == ["python", "answer"] and info["valid_actions"] == []
    obs, reward, term, trunc, info = env.step("python[```python\nprint(6 * 7)\n```]")
    assert obs == "Output:\n42" and reward == 0.0 and not term and info["tool_calls"] == 1
    assert info["tool_exit_code"] == 0
    obs, *_ = env.step("PYTHON[x = [1, 2]\nprint(x[5])]")
    assert "IndexError: list index out of range" in obs and "line 2" in obs
    obs, *_ = env.step("python[print('a' * 5000)]")
    assert obs.endswith("[4001 more characters]")
    obs, *_ = env.step("python[open('/etc/passwd').read()]")
    assert "sandbox: reading '/etc/passwd' is not allowed" in obs
    obs, reward, term, trunc, info = env.step(f"answer[{format_number(env.problem.answer)}]")
    assert reward == 1.0 and term and info["won"] and info["value"] == float(env.problem.answer)
    assert env.render() == obs


def test_wrong_answer_ends_with_zero():
    env = StepMathEnv(split="test")
    env.reset(seed=1)
    obs, reward, term, _, info = env.step(f"answer[{format_number(env.problem.answer + 1)}]")
    assert (reward, term, info["won"], info["score"]) == (0.0, True, False, 0.0) and "not correct" in obs


@pytest.mark.parametrize("action, why", [
    ("print(3)", "is not a tool call"), ("python[]", "python[] is empty"), ("python[ ```\n```]", "python[] is empty"),
    ("answer[forty two]", "is not one number"), ("answer[]", "is not one number"), (b"python[1]", "actions are strings"),
    ("search[x]", "is not a tool call"),
])
def test_invalid_actions_leave_the_state(action, why):
    env = StepMathEnv(split="test")
    env.reset(seed=2)
    env.step("python[print(1)]")
    before = env.state
    obs, reward, term, trunc, info = env.step(action)
    assert why in obs and info["invalid"] and reward == 0.0 and not term and env.state == before


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown split 'tets'; expected one of train, dev, test"):
        StepMathEnv(split="tets")
    with pytest.raises(ValueError, match="output_chars must be an int >= 20"):
        StepMathEnv(output_chars=5)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        StepMathEnv(tool_timeout=0)
    env = StepMathEnv(split="dev")
    with pytest.raises(ValueError, match="task_id 'test-0' is not in the dev split"):
        env.reset(options={"task_id": "test-0"})


def test_timeout_is_reported_and_bounded():
    env = StepMathEnv(split="test", tool_timeout=0.5)
    env.reset(seed=0)
    start = time.monotonic()
    obs, _, _, _, info = env.step("python[while True: pass]")
    assert "[killed: ran past the 0.5 s time limit]" in obs and info["tool_exit_code"] is None
    assert time.monotonic() - start < 3
