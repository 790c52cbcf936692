"""Where generated TextWorld games live: one folder per game under the project cache.

``cache_root()/textworld/tw<textworld version>-v<VERSION>/<spec name>/<split>/<seed>/``
holds ``game.z8`` and ``game.json``. Games are generated on first use, by
:mod:`.generate` in a subprocess (see there for why, and for the atomic
writes), and kept: generation costs seconds a game, playing one costs
milliseconds a step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from ..cache import cache_root
from .presets import GameSpec

GAME_FILE = "game.z8"  #: the compiled story the Z-machine plays
DATA_FILE = "game.json"  #: TextWorld's game: logic, quests, objective (written beside the story)
#: Bump when a change here or in :mod:`.generate` alters the games generated for a seed.
VERSION = 1
_WORKER = "stepagent_envs.textworld_env.generate"


def games_dir(spec: GameSpec, split: str) -> Path:
    """The folder holding one folder per generated game of ``spec`` and ``split``."""
    return cache_root() / "textworld" / f"tw{version('textworld')}-v{VERSION}" / spec.name / split


def game_folder(spec: GameSpec, split: str, seed: int) -> Path:
    """The folder of the game with ``seed`` (it may not be generated yet)."""
    return games_dir(spec, split) / str(seed)


def ensure_games(spec: GameSpec, split: str, seeds: list[int]) -> int:
    """Generate the games of ``seeds`` that are not in the cache yet, in one subprocess.

    Args:
        spec: the game kind, difficulty and settings.
        split: the split the seeds belong to.
        seeds: game seeds (see :func:`.presets.split_seeds`).

    Returns:
        How many games were missing (and are now generated).

    Raises:
        RuntimeError: the generator failed; the message ends with its error output.
    """
    jobs = [
        {"game": spec.game, "settings": spec.settings, "split": split, "seed": seed,
         "folder": str(game_folder(spec, split, seed))}
        for seed in seeds
        if not (game_folder(spec, split, seed) / GAME_FILE).exists()
    ]
    if not jobs:
        return 0
    # The worker runs with a fixed hash seed: TextWorld's generators iterate over sets of strings.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run([sys.executable, "-m", _WORKER, "--jobs"], input=json.dumps(jobs), env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"generating {len(jobs)} {spec.name} game(s) of split {split!r} (settings {spec.settings}) failed "
            f"with exit code {done.returncode}; the settings may be impossible for TextWorld's generator "
            f"(relax them, e.g. a shorter quest_length). Generator output:\n{done.stderr[-3000:]}"
        )
    return len(jobs)


def game_files(spec: GameSpec, split: str, seed: int) -> tuple[Path, Path]:
    """The ``(game.z8, game.json)`` paths of one game, generating it first if needed."""
    folder = game_folder(spec, split, seed)
    ensure_games(spec, split, [seed])
    return folder / GAME_FILE, folder / DATA_FILE
