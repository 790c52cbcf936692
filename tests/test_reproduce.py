"""The reproduction benchmark (benchmarks/reproduce.py): verdicts, intervals, presets, and the pipeline at toy size."""

import importlib.util
import json
import math
import os
import sys
from pathlib import Path

import gymnasium as gym
import pytest

import stepagent_envs  # noqa: F401
from stepagent_train.config import parse_env_kwargs
from stepagent_train.experiments import Budget, paired_interval, t_interval, t_quantile95

pytest.importorskip("transformers", reason="the reproduction benchmark needs the trainer extra (.[train])")

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "reproduce.py"


@pytest.fixture(scope="module")
def reproduce():
    spec = importlib.util.spec_from_file_location("reproduce", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["reproduce"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("reproduce", None)


def test_t_interval_by_hand():
    low, high = t_interval([1.0, 2.0, 3.0])  # mean 2, sd 1, t(2) = 4.303
    assert low == pytest.approx(2 - 4.303 / math.sqrt(3)) and high == pytest.approx(2 + 4.303 / math.sqrt(3))
    assert all(math.isnan(v) for v in t_interval([0.5]))
    assert t_interval([0.2, float("nan"), 0.2]) == [pytest.approx(0.2), pytest.approx(0.2)]


@pytest.mark.parametrize("df, expected", [(1, 12.706), (4, 2.776), (5, 2.571), (10, 2.228), (20, 2.086), (120, 1.980)])
def test_t_quantile_matches_tables(df, expected):
    assert t_quantile95(df) == pytest.approx(expected, abs=0.004)


def test_t_quantile_rejects_no_degrees_of_freedom():
    with pytest.raises(ValueError, match="at least 1, got 0"):
        t_quantile95(0)


def test_paired_interval_pairs_seeds_and_broadcasts_one_value():
    diff, low, high = paired_interval([0.5, 0.7, 0.6], [0.4, 0.5, 0.6])  # differences 0.1, 0.2, 0.0
    assert diff == pytest.approx(0.1)
    assert (low, high) == pytest.approx((0.1 - 4.303 * 0.1 / math.sqrt(3), 0.1 + 4.303 * 0.1 / math.sqrt(3)))
    assert paired_interval([0.5, 0.7], [0.5])[0] == pytest.approx(0.1)  # a teacher or the SFT start: one value
    with pytest.raises(ValueError, match="same count, got 3 and 2"):
        paired_interval([1, 2, 3], [1, 2])


def test_verdict_words(reproduce):
    assert reproduce.verdict([0.5, 0.6, 0.7], [0.4, 0.5, 0.6])["verdict"] == "holds"  # +0.1 on every seed
    assert reproduce.verdict([0.1, 0.2, 0.3], [0.4, 0.5, 0.6])["verdict"] == "does not hold"
    assert reproduce.verdict([0.5, 0.1, 0.6], [0.4, 0.5, 0.4])["verdict"] == "inconclusive"  # +0.1, -0.4, +0.2
    assert reproduce.verdict([0.9], [0.1])["verdict"] == "inconclusive"  # one seed: no interval, no verdict
    got = reproduce.verdict([0.5, 0.1, 0.6], [0.4, 0.5, 0.4])
    assert got["difference"] == pytest.approx(-0.1 / 3) and got["interval"][0] < 0 < got["interval"][1]


def test_claims_read_the_rows_they_name(reproduce):
    def row(score):
        return [{"score": s, "success": s, "agreement": s, "tool_calls": 1.0, "cost": {}, "curve": []} for s in score]

    rows = {name: row([0.2, 0.3, 0.25]) for name, _, _ in reproduce.ROWS_A}
    rows["stepagent-inverse"] = row([0.4, 0.5, 0.45])  # +0.2 over every other row on every seed
    found = {c["claim"]: c for c in reproduce.claims({"A": {"StepGrid-v0": rows}})}
    step = found["step reward beats the final reward alone (inverse reflection vs the same without step reward)"]
    assert step["verdict"] == "holds" and step["difference"] == pytest.approx(0.2)
    assert found["StepAgent (implicit) beats SFT"]["verdict"] == "inconclusive"  # identical rows: interval [0, 0]
    assert "HOLDS" in step["paragraph"] and "over 3 seeds" in step["paragraph"]


def test_a_claim_whose_row_was_not_run_is_not_measured(reproduce):
    rows = {"sft": [{"score": 0.5, "success": 0.5, "agreement": 0.9, "tool_calls": 1.0, "cost": {}, "curve": []}]}
    found = {c["claim"]: c for c in reproduce.claims({"A": {"StepGrid-v0": rows}})}
    got = found["GRPO on the outcome reward improves on its SFT start"]
    assert got["verdict"] == "not measured" and "row grpo-outcome not run" in got["paragraph"]
    assert math.isnan(got["difference"])


def test_report_keeps_rows_an_earlier_invocation_measured(reproduce, tmp_path):
    preset = reproduce._presets()["cpu-small"]
    row = [{"score": 0.5, "success": 0.5, "agreement": 0.9, "tool_calls": 1.0, "cost": {}, "curve": []}]
    earlier = {"A": {"StepGrid-v0": {"sft": row, "eto": row, "ppo-outcome": row}}}
    reproduce.write_report(str(tmp_path), "cpu-small", preset, earlier, 1.0, toy=False)
    new = [dict(row[0], score=0.7)]
    now = {"A": {"StepGrid-v0": {"gigpo": new, "ppo-outcome": new}}}
    merged, read_back = reproduce.with_earlier(str(tmp_path), "cpu-small", preset, False, now)
    assert list(merged["A"]["StepGrid-v0"]) == ["sft", "eto", "ppo-outcome", "gigpo"]  # the table's row order
    assert merged["A"]["StepGrid-v0"]["ppo-outcome"] == new  # this invocation's figures win
    assert read_back == {"A StepGrid-v0": ["sft", "eto"]}
    # Another size or model is another experiment: nothing is read back.
    assert reproduce.with_earlier(str(tmp_path), "cpu-small", preset, True, now) == (now, {})
    assert reproduce.with_earlier(str(tmp_path), "cpu-small", dict(preset, model="tiny"), False, now) == (now, {})


def test_rows_must_name_known_rows(reproduce, tmp_path):
    with pytest.raises(SystemExit, match="unknown rows \\['gpro'\\] in --rows; expected some of .*grpo-outcome"):
        reproduce.main(["--preset", "cpu-small", "--toy", "--only", "A", "--rows", "sft,gpro", "--out", str(tmp_path)])


@pytest.mark.parametrize("name", ["cpu-small", "gpu"])
def test_every_preset_and_its_toy_make_their_envs(reproduce, name):
    preset = reproduce._presets()[name]
    for setups in (preset, reproduce.toy(preset)):
        for table in "ABC":
            assert setups[table], f"preset {name} has no table {table}"
            for setup in setups[table]:
                assert isinstance(setup.budget, Budget)
                if setup.env == "StepSciWorld-v0":
                    pytest.importorskip("scienceworld", reason="StepSciWorld needs the sciworld extra")
                env = gym.make(setup.env, split="test", **parse_env_kwargs(setup.env_kwargs))
                env.reset(seed=0)
                env.close()


def test_only_matching_nothing_is_an_error(reproduce, tmp_path):
    with pytest.raises(SystemExit, match="matched no table or cell of preset cpu-small"):
        reproduce.main(["--preset", "cpu-small", "--toy", "--only", "A:StepTypo-v0", "--out", str(tmp_path)])


@pytest.mark.slow
def test_cpu_small_runs_end_to_end_at_toy_size_and_resumes(reproduce, tmp_path, monkeypatch, capsys):
    out = tmp_path / "reproduce"
    assert reproduce.main(["--preset", "cpu-small", "--toy", "--out", str(out)]) == 0
    for name in ("results.md", "results.json", "preset.json", "table_a.png", "table_b.png", "table_c.png"):
        assert (out / name).stat().st_size > 0, name
    results = json.loads((out / "results.json").read_text())
    assert set(results["tables"]) == {"A", "B", "C"}
    assert set(results["tables"]["A"]) == {"StepGrid-v0", "StepShop-v0"}
    assert set(results["tables"]["A"]["StepShop-v0"]) == {name for name, _, _ in reproduce.ROWS_A}
    assert all(len(figures) == 2 for name, figures in results["tables"]["A"]["StepShop-v0"].items() if name != "sft")
    assert {c["verdict"] for c in results["claims"]} <= {"holds", "does not hold", "inconclusive"}  # every row ran
    assert len(results["claims"]) == 10 * 2 + 2 * 2 + 2
    text = (out / "results.md").read_text()
    assert "## Claims (the interval decides)" in text and "## Table B: LLM4Teach" in text

    # A second invocation trains nothing and evaluates nothing: every cell and evaluation is read back.
    def refuse(*args, **kwargs):
        raise AssertionError("a finished cell was trained again")

    monkeypatch.setattr(reproduce, "train_cell", refuse)
    monkeypatch.setattr("stepagent_train.evaluate.evaluate_policy", refuse)
    capsys.readouterr()
    assert reproduce.main(["--preset", "cpu-small", "--toy", "--out", str(out), "--only", "A:StepGrid-v0"]) == 0
    again = json.loads((out / "results.json").read_text())
    same = [json.dumps(r["tables"]["A"]["StepGrid-v0"], sort_keys=True) for r in (again, results)]
    assert same[0] == same[1]  # compared as text: NaN (no interval) equals itself there
    assert "[A StepGrid-v0]" not in capsys.readouterr().out
    assert os.path.isdir(out / "A" / "StepGrid-v0" / "stepagent-inverse-seed1" / "checkpoints")

    # --rows runs a subset; the report keeps what earlier invocations into the folder measured, and names it.
    assert reproduce.main(["--preset", "cpu-small", "--toy", "--out", str(out), "--only", "A:StepGrid-v0",
                           "--rows", "sft,ppo-outcome"]) == 0
    subset = json.loads((out / "results.json").read_text())
    assert json.dumps(subset["tables"], sort_keys=True) == json.dumps(results["tables"], sort_keys=True)
    assert subset["read_back"]["A StepGrid-v0"] == [n for n, _, _ in reproduce.ROWS_A if n not in ("sft", "ppo-outcome")]
    assert "Rows reported by an earlier invocation" in (out / "results.md").read_text()

    # Into a fresh folder (trained for real), the rows never run leave their claims undecided.
    monkeypatch.undo()
    fresh = tmp_path / "fresh"
    assert reproduce.main(["--preset", "cpu-small", "--toy", "--out", str(fresh), "--only", "A:StepGrid-v0",
                           "--rows", "sft,ppo-outcome"]) == 0
    subset = json.loads((fresh / "results.json").read_text())
    assert set(subset["tables"]) == {"A"} and set(subset["tables"]["A"]["StepGrid-v0"]) == {"sft", "ppo-outcome"}
    verdicts = {c["claim"]: c["verdict"] for c in subset["claims"]}
    assert verdicts["PPO on the outcome reward improves on its SFT start"] in {"holds", "does not hold", "inconclusive"}
    assert verdicts["StepAgent (implicit) beats SFT"] == "not measured"
