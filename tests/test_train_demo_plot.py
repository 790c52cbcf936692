"""The demo's plot: a StepAgent panel only where reflection ran, a labelled bar panel
whose zero bars still show their value."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("matplotlib", reason="the plot needs matplotlib: pip install -e '.[train]'")

from matplotlib import image  # noqa: E402

from stepagent_envs.evaluate import EvalResult  # noqa: E402
from stepagent_train.demo import plot_learning_curve  # noqa: E402


def _rows(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


@pytest.mark.parametrize("reflection_ran, panels", [(False, 2), (True, 3)])
def test_panels_follow_what_ran(tmp_path, reflection_ran, panels):
    sft = _rows(tmp_path / "sft.jsonl", [{"step": i, "loss": 2.0 / i} for i in range(1, 30)])
    stepagent = _rows(tmp_path / "stepagent.jsonl", [{"event": "cycle", "cycle": 0}]
                      + ([{"step": i, "loss": 0.7} for i in range(1, 5)] if reflection_ran else []))
    results = [EvalResult.from_episodes("random", [False] * 4, [0.0] * 4, 0, 20),
               EvalResult.from_episodes("sft", [True, False, True, True], [1.0, 0.2, 1.0, 0.9], 15, 20)]
    out = plot_learning_curve(sft, str(tmp_path / "curve.png"), results, stepagent)
    height, width = image.imread(out).shape[:2]
    assert (width, height) == (550 * panels, 400)  # 5.5 x 4 inches a panel at 100 dpi
