"""StepTextWorld's games: presets, split seeds, generation, the on-disk cache and its concurrency."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("textworld", reason="StepTextWorld-v0 needs the textworld package: pip install 'textworld>=1.7'")

from stepagent_envs.textworld_env.generate import without_clashing_words  # noqa: E402
from stepagent_envs.textworld_env.presets import (  # noqa: E402
    DEFAULT_NUM_GAMES, PRESETS, SPLIT_SEED_BASE, SPLIT_SIZE_LIMIT, game_spec, split_seeds)
from stepagent_envs.textworld_env.store import DATA_FILE, GAME_FILE, game_folder  # noqa: E402

# The smallest game kind, in a split no other test uses.
SMALL = ("--game", "coin_collector", "--difficulty", "easy", "--split", "dev", "--num-games", "1")


def test_split_seeds_are_disjoint_ranges():
    ranges = {split: set(split_seeds(split, SPLIT_SIZE_LIMIT)) for split in SPLIT_SEED_BASE}
    assert not ranges["train"] & ranges["dev"] and not ranges["dev"] & ranges["test"]
    assert not ranges["train"] & ranges["test"]
    assert split_seeds("test", 3) == [2_000_000, 2_000_001, 2_000_002]
    assert DEFAULT_NUM_GAMES == {"train": 100, "dev": 50, "test": 50}


def test_every_preset_names_the_same_settings_at_each_difficulty():
    for game, presets in PRESETS.items():
        assert list(presets) == ["easy", "medium", "hard"]
        assert len({tuple(p) for p in presets.values()}) == 1, game


def test_settings_override_the_preset_and_rename_the_games():
    assert game_spec("custom", "easy").name == "custom-easy"
    same = game_spec("custom", "easy", {"world_size": 3})  # the preset's own value: no override
    assert same == game_spec("custom", "easy") and same.name == "custom-easy"
    spec = game_spec("custom", "easy", {"quest_length": 4})
    assert spec.settings == {"world_size": 3, "nb_objects": 6, "quest_length": 4}
    assert spec.name.startswith("custom-easy+") and len(spec.name) == len("custom-easy+") + 8


def test_inform7_source_keeps_no_word_that_names_two_objects():
    def entity(id_, name, type_="c"):
        return SimpleNamespace(id=id_, name=name, type=type_)

    source = "".join(f'Understand "{w}" as {id_}.\n' for id_, name in
                     [("c_1", "fresh laundry scented chest"), ("c_0", "chest"), ("k_0", "type Q key"),
                      ("c_2", "type Q chest")] for w in [name, *name.split()])
    entities = [entity("c_0", "chest"), entity("c_1", "fresh laundry scented chest"), entity("k_0", "type Q key", "k"),
                entity("c_2", "type Q chest"), entity("r_0", "chest", "r")]
    kept = without_clashing_words(source, entities)
    assert 'Understand "chest" as c_1.' not in kept and 'Understand "chest" as c_2.' not in kept
    assert kept == source.replace('Understand "chest" as c_1.\n', "").replace('Understand "chest" as c_2.\n', "")


def _generate(cache: Path) -> subprocess.Popen:
    env = {**os.environ, "STEPAGENT_CACHE": str(cache)}
    return subprocess.Popen([sys.executable, "-m", "stepagent_envs.textworld_env.generate", *SMALL], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_generating_one_game_leave_one_complete_copy_and_machines_agree(tmp_path, monkeypatch):
    shared, other = tmp_path / "shared", tmp_path / "other"
    racers = [_generate(shared), _generate(shared)]
    for racer in racers:
        out, err = racer.communicate(timeout=300)
        assert racer.returncode == 0, err
        assert "coin_collector-easy dev: 1 games" in out
    monkeypatch.setenv("STEPAGENT_CACHE", str(shared))
    folder = game_folder(game_spec("coin_collector", "easy"), "dev", 1_000_000)
    assert sorted(p.name for p in folder.parent.iterdir()) == ["1000000"]  # no scratch folder left
    assert sorted(p.name for p in folder.iterdir()) == [DATA_FILE, GAME_FILE]

    # Another cache (another machine): the same seed gives the same game.
    third = _generate(other)
    assert third.wait(timeout=300) == 0
    twin = Path(str(folder).replace(str(shared), str(other)))
    assert json.loads((folder / DATA_FILE).read_text()) == json.loads((twin / DATA_FILE).read_text())
    # The story file also carries the compile date (its serial number), so only its size is compared.
    assert (folder / GAME_FILE).stat().st_size == (twin / GAME_FILE).stat().st_size


def test_the_worker_refuses_to_run_with_a_random_hash_seed(tmp_path):
    env = {**os.environ, "STEPAGENT_CACHE": str(tmp_path), "PYTHONHASHSEED": "random"}
    done = subprocess.run([sys.executable, "-m", "stepagent_envs.textworld_env.generate", "--jobs"], input="[]",
                          env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "PYTHONHASHSEED=0" in done.stderr
