"""The ``stepagent`` command line runs end to end."""

import json
import subprocess
import sys

import pytest

from stepagent_train.stepagent_command import main


def test_baselines_prints_the_random_and_expert_table(tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["baselines", "--episodes", "5", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "random" in table and "expert" in table and "step agree" in table
    results = {r["agent"]: r for r in json.loads(out.read_text())}
    # Under upstream WebShop's reward some goals cannot score 1.0 (21 of the 500 embedded), one of these five.
    assert results["expert"]["success_rate"] >= 0.8 and results["expert"]["step_agreement"] == 1.0
    assert results["expert"]["mean_score"] > results["random"]["mean_score"]
    assert results["random"]["episodes"] == 5 and results["random"]["success_rate"] < 1.0


def test_baselines_rejects_bad_arguments():
    with pytest.raises(SystemExit):
        main(["baselines", "--split", "tets"])
    with pytest.raises(ValueError, match="episodes must be >= 1, got 0"):
        main(["baselines", "--episodes", "0"])


def test_console_script_is_installed():
    for command, flag in (("baselines", "--episodes"), ("demo", "--train-episodes")):
        done = subprocess.run([sys.executable, "-m", "stepagent_train.stepagent_command", command, "--help"], capture_output=True, text=True)
        assert done.returncode == 0 and flag in done.stdout, done.stderr
