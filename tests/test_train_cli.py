"""The trainer's command lines and the demo run end to end (tiny budgets, tiny models, no hub)."""

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from stepagent_train.cli import _COMMANDS, collect_main, eval_main, main, sft_main  # noqa: E402
from stepagent_train.demo import DemoConfig, run_demo  # noqa: E402
from stepagent_train.evaluate import PolicySpec, load_policy  # noqa: E402
from stepagent_train.offline_model import OfflineModelConfig, build_offline_model, record_texts  # noqa: E402
from wrappers import read_trajectories  # noqa: E402

from conftest import TINY_MODEL  # noqa: E402

torch.set_num_threads(1)
TINY = OfflineModelConfig(**TINY_MODEL)


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    out = tmp_path_factory.mktemp("collect") / "demos.jsonl"
    assert collect_main(["--env", "StepShop-v0", "--split", "train", "--episodes", "3", "--out", str(out), "--seed", "5"]) == 0
    return str(out)


def test_collect_cli(demos, capsys, tmp_path):
    records = read_trajectories(demos)
    assert len(records) == 3 and all(r["won"] and r["env_id"] == "StepShop-v0" for r in records)
    assert all(s["expert_action"] == s["action"] for r in records for s in r["steps"])
    again = tmp_path / "again.jsonl"
    main(["collect", "--episodes", "3", "--out", str(again), "--seed", "5"])
    assert again.read_bytes() == open(demos, "rb").read()
    assert "recorded 3 expert episodes" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        collect_main(["--episodes", "3"])  # --out is required


def test_collect_refuses_to_add_to_a_file_silently(demos, tmp_path):
    out = tmp_path / "demos.jsonl"
    out.write_bytes(open(demos, "rb").read())
    with pytest.raises(SystemExit, match="already holds records; pass --append .* or --overwrite"):
        collect_main(["--episodes", "2", "--out", str(out), "--seed", "5"])
    assert len(read_trajectories(str(out))) == 3  # untouched
    collect_main(["--episodes", "2", "--out", str(out), "--seed", "5", "--append"])
    assert len(read_trajectories(str(out))) == 5
    collect_main(["--episodes", "2", "--out", str(out), "--seed", "5", "--overwrite"])
    assert len(read_trajectories(str(out))) == 2 and not (tmp_path / "demos.jsonl.partial").exists()
    with pytest.raises(SystemExit):
        collect_main(["--episodes", "2", "--out", str(out), "--append", "--overwrite"])


def test_sft_then_eval_cli(demos, tmp_path, capsys):
    model = build_offline_model(record_texts(read_trajectories(demos)), tmp_path / "model", TINY)
    run = tmp_path / "run"
    assert sft_main(["--train-file", demos, "--output-dir", str(run), "--model", model, "--max-steps", "2",
                     "--batch-size", "4", "--max-prompt-tokens", "256", "--save-every", "1", "--learning-rate", "1e-3",
                     "--max-turns", "none"]) == 0
    assert "checkpoint:" in capsys.readouterr().out
    rows = [json.loads(line) for line in open(run / "metrics.jsonl")]
    assert [r["step"] for r in rows] == [1, 2]
    out = tmp_path / "results.json"
    assert eval_main(["--env", "StepShop-v0", "--split", "test", "--episodes", "2", "--num-envs", "2",
                      "--max-new-tokens", "4", "--policy", "expert", "--policy", "random",
                      "--policy", f"mine={run}", "--json", str(out), "--records", str(tmp_path / "rec.jsonl")]) == 0
    table = capsys.readouterr().out
    assert "expert" in table and "random" in table and "mine" in table and "step agree" in table
    results = {r["agent"]: r for r in json.loads(out.read_text())}
    assert results["expert"]["success_rate"] == 1.0 and results["expert"]["step_agreement"] == 1.0
    assert results["mine"]["episodes"] == 2 and 0.0 <= results["mine"]["mean_score"] <= 1.0
    assert len(read_trajectories(tmp_path / "rec.jsonl")) == 2
    # Sampled evaluation: the same --seed replays the same draws.
    sampled = []
    for i in range(2):
        records = tmp_path / f"sampled{i}.jsonl"
        assert eval_main(["--env", "StepShop-v0", "--split", "test", "--episodes", "2", "--num-envs", "2",
                          "--max-new-tokens", "4", "--policy", f"mine={run}", "--temperature", "1.5", "--seed", "3",
                          "--records", str(records)]) == 0
        sampled.append([[s["action"] for s in r["steps"]] for r in read_trajectories(records)])
    assert sampled[0] == sampled[1] and len(sampled[0]) == 2
    # The spec's sampling settings reach the loaded policies (a dropped seed would still replay seed 0's draws).
    local = load_policy(PolicySpec(str(run), temperature=1.5, seed=3))
    assert (local.temperature, local.seed) == (1.5, 3)
    assert load_policy(PolicySpec("http://127.0.0.1:9/v1", http_model="m", temperature=0.7)).temperature == 0.7
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        eval_main(["--policy", f"mine={run}", "--temperature", "-1", "--episodes", "1"])


def test_sft_cli_rejects_bad_values(demos, tmp_path):
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        sft_main(["--train-file", demos, "--output-dir", str(tmp_path), "--batch-size", "0"])
    with pytest.raises(SystemExit):
        sft_main(["--output-dir", str(tmp_path)])  # --train-file is required


def test_eval_cli_http_needs_a_model_name():
    with pytest.raises(ValueError, match="--http-model"):
        eval_main(["--policy", "http://127.0.0.1:9/v1", "--episodes", "1"])


def test_demo_runs_end_to_end(tmp_path):
    summary = run_demo(DemoConfig(out_dir=str(tmp_path / "demo"), model="tiny", eval_last_cycle=True, train_episodes=3,
                                  test_episodes=2, inspect_episodes=2, max_steps=2,
                                  batch_size=4, max_prompt_tokens=256, num_envs=2, stepagent_cycles=1,
                                  stepagent_trajectories=2, stepagent_dev_episodes=1), offline_config=TINY, show_progress=False)
    names = [r["agent"] for r in summary["results"]]
    best, last = summary["stepagent"]["best_cycle"], summary["stepagent"]["cycles"][-1]["cycle"]
    trained = ["sft", "stepagent", *([f"sa-cycle{last}"] if best != last else [])]  # the last cycle too when not picked
    assert names == [*trained, "random", "expert"]
    assert summary["results"][-1]["success_rate"] == 1.0
    if best == 0:  # the dev pick is the SFT start: the same weights, the same figures
        assert {**summary["results"][1], "agent": "sft"} == summary["results"][0]
    for name in ("sft", "stepagent"):
        assert summary["inspection"][name]["steps"] > 0 and 0.0 <= summary["inspection"][name]["step_agreement"] <= 1.0
    assert len(summary["stepagent"]["cycles"]) == 1
    assert os.path.getsize(summary["plot"]) > 1000 and open(summary["plot"], "rb").read(4) == b"\x89PNG"
    saved = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert saved["results"] == summary["results"] and set(saved["seconds"]) >= {"collect", "sft", "total"}
    for r in saved["results"]:  # every result has its 95% intervals, around its mean
        assert r["score_ci95"][0] <= r["mean_score"] <= r["score_ci95"][1]
        assert r["success_ci95"][0] <= r["success_rate"] <= r["success_ci95"][1]
    assert set(saved["beats_random"]) == set(trained) and saved["guards_fired"] == []
    assert set(saved["inspection"]) == {*trained, "random"}
    assert sum(v["steps"] for v in saved["inspection"]["sft"]["by_kind"].values()) == saved["inspection"]["sft"]["steps"]
    # Step counts decide the run: the same seed gives the same table.
    again = run_demo(DemoConfig(out_dir=str(tmp_path / "again"), model="tiny", eval_last_cycle=True, train_episodes=3, test_episodes=2,
                                inspect_episodes=2, max_steps=2, batch_size=4, max_prompt_tokens=256, num_envs=2,
                                stepagent_cycles=1, stepagent_trajectories=2, stepagent_dev_episodes=1),
                     offline_config=TINY, show_progress=False)
    assert again["table"] == summary["table"] and again["kinds_table"] == summary["kinds_table"]


@pytest.mark.parametrize("command", sorted(_COMMANDS))
def test_every_subcommand_prints_its_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0 and "--" in capsys.readouterr().out


def test_module_entry_point_help():
    done = subprocess.run([sys.executable, "-m", "stepagent_train.cli", "demo", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--train-episodes" in done.stdout and "--max-steps" in done.stdout


def test_stepagent_demo_command_runs_the_trainer_demo(tmp_path, capsys):
    from stepagent_train.stepagent_command import main as stepagent_main

    out = tmp_path / "demo"
    assert stepagent_main(["demo", "--out-dir", str(out), "--train-episodes", "3", "--test-episodes", "2", "--inspect-episodes", "2",
                           "--max-steps", "2", "--num-envs", "2", "--max-prompt-tokens", "256",
                           "--stepagent-cycles", "0", "--model", "tiny"]) == 0
    assert "sft" in capsys.readouterr().out
    saved = json.loads((out / "results.json").read_text())
    assert [r["agent"] for r in saved["results"]] == ["sft", "random", "expert"]
    assert (out / "learning_curve.png").exists()


def test_stepagent_cli_runs_cycles_and_prints_dev(demos, tmp_path, capsys):
    model = build_offline_model(record_texts(read_trajectories(demos)), tmp_path / "model", TINY)
    out = tmp_path / "stepagent"
    assert main(["stepagent", "--train-file", demos, "--output-dir", str(out), "--model", model, "--cycles", "1",
                 "--trajectories", "2", "--max-new-tokens", "4", "--dev-episodes", "1", "--num-envs", "1",
                 "--max-prompt-tokens", "256"]) == 0
    printed = capsys.readouterr().out
    assert "dev split" in printed and "best:" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["cycles"]) == 1 and (out / "cycle-1" / "inspection.json").exists()
    with pytest.raises(SystemExit):
        main(["stepagent", "--cycles", "1"])  # --output-dir is required
