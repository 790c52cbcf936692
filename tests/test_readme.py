"""What the README tells a new user holds: the CPU wheel index, level and game names that the envs accept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _row(env_id: str) -> str:
    return next(line for line in README.splitlines() if line.startswith(f"| `{env_id}`"))


def test_the_cpu_wheel_index_is_named_beside_the_pinned_install():
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in README
    assert "pip install torch==2.13.0" in README


def test_every_level_the_readme_names_is_accepted():
    pytest.importorskip("minigrid", reason="StepGrid-v0 needs the grid extra: pip install -e '.[grid]'")
    from stepagent_envs.grid.levels import LEVELS, check_level

    names = re.findall(r'`"?((?:MiniGrid|BabyAI|LLM4Teach)-[\w-]+|DoorKey-5x5)"?`', _row("StepGrid-v0"))
    assert len(names) >= 6
    assert all(check_level(name) in LEVELS for name in names)


def test_the_textworld_games_the_readme_names_are_the_envs():
    from stepagent_envs.textworld_env.presets import DIFFICULTIES, GAMES

    row = _row("StepTextWorld-v0")
    assert set(re.findall(r'`"(\w+)"`', row.split("| ")[2])) == set(GAMES) | set(DIFFICULTIES)
