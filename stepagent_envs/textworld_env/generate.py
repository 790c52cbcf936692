"""Generate TextWorld games with the ``textworld`` package's own generator and Inform 7 compiler.

A game is written as ``game.z8`` (the compiled story the Z-machine plays) and
``game.json`` (TextWorld's game: logic, quests, objective), as ``tw-make``
writes them. ``custom`` games are ``tw-make custom`` games (rooms, objects,
quest length); the others are TextWorld's packaged challenges
(``tw-cooking``, ``tw-coin_collector``, ``tw-treasure_hunter``).

Generated games can name one object with words that all name another too:
a ``chest`` and a ``fresh laundry scented chest``. TextWorld's Inform 7
source lets every word of a name refer to its object, so the parser answers
``take key from chest`` with "Which do you mean, the chest or the fresh
laundry scented chest?", and no command reaches the first chest (2 of 50
``custom`` medium games became unwinnable so). The source is therefore
compiled without the single-word names that such a longer name lends to its
object (:func:`without_clashing_words`): ``chest`` then means the chest, and
the other is still ``fresh laundry scented chest`` (or ``fresh``, ...).
The game itself (``game.json``) is TextWorld's, unchanged.

TextWorld's generators iterate over sets of strings in places, so a game's
content depends on Python's hash seed. :func:`.store.ensure_games` therefore
runs this module in a subprocess with ``PYTHONHASHSEED=0``, which makes one
seed give the same game on every machine. Each game is generated in a
temporary folder beside its target and renamed into place, so a finished
folder is complete, and two processes generating the same game at once
leave one copy (the first rename wins; the other is discarded).

Command line, to generate the games of a split ahead of time::

    python -m stepagent_envs.textworld_env.generate --game cooking --difficulty medium --split test [--num-games 50]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .presets import COOKING_SPLIT, DEFAULT_NUM_GAMES, DIFFICULTIES, GAMES, SPLITS, game_spec, split_seeds
from .store import DATA_FILE, GAME_FILE, ensure_games

#: Entity types never named in commands: rooms, the player, the inventory.
_UNNAMED_TYPES = {"r", "P", "I"}
#: Words TextWorld does not make refer to an object on their own.
_UNREFERRED_WORDS = {"the", "of"}
#: The challenge each packaged game kind is generated with (``tw-make <challenge>``).
CHALLENGES = {"cooking": "tw-cooking", "coin_collector": "tw-coin_collector", "treasure_hunter": "tw-treasure_hunter"}


def make_game_files(game: str, settings: dict, split: str, seed: int, folder: Path) -> None:
    """Generate and compile one game into ``folder`` (``game.z8`` and ``game.json``).

    Args:
        game: the game kind (one of :data:`.presets.GAMES`).
        settings: its generation settings (a preset's, see :data:`.presets.PRESETS`).
        split: the env split (picks TextWorld's food split for cooking games).
        seed: the game seed; it drives every random choice of the generator.
        folder: an existing, empty folder; ``game.z8`` and ``game.json`` are written there.
    """
    # Imported here: the command line's own process only starts the worker, which needs them.
    import textworld
    import textworld.challenges
    from textworld.generator.inform7 import compile_inform7_game, generate_inform7_source

    options = textworld.GameOptions()
    options.seeds = seed
    if game == "custom":
        options.nb_rooms = settings["world_size"]
        options.nb_objects = settings["nb_objects"]
        options.quest_length = settings["quest_length"]
        made = textworld.generator.make_game(options)
    else:
        challenge_settings = dict(settings, split=COOKING_SPLIT[split]) if game == "cooking" else dict(settings)
        _, make, _ = textworld.challenges.CHALLENGES[CHALLENGES[game]]
        made = make(settings=challenge_settings, options=options)
    # As textworld.generator.compile_game, with the clashing words left out of the source.
    source = without_clashing_words(generate_inform7_source(made), made.infos.values())
    made.save(str(folder / DATA_FILE))
    compile_inform7_game(source, str(folder / GAME_FILE))
    (folder / GAME_FILE).with_suffix(".ni").unlink()  # the Inform 7 source: not needed to play


def without_clashing_words(source: str, entities) -> str:
    """The Inform 7 ``source`` without the lines ``Understand "<word>" as <id>.`` that let a
    word of another entity's whole name also refer to entity ``<id>``.

    Args:
        source: Inform 7 source from ``textworld.generator.inform7.generate_inform7_source``.
        entities: the game's ``EntityInfo`` objects (``game.infos.values()``).
    """
    words = {info.id: set(info.name.lower().split()) - _UNREFERRED_WORDS
             for info in entities if info.name and info.type not in _UNNAMED_TYPES}
    for id_a, words_a in words.items():
        for id_b, words_b in words.items():
            if id_a != id_b and words_a < words_b:  # every word of a's name also names b
                for word in sorted(words_a):
                    source = re.sub(rf'^Understand "{re.escape(word)}" as {re.escape(id_b)}\.\n', "", source,
                                    flags=re.MULTILINE | re.IGNORECASE)
    return source


def generate_jobs(jobs: list[dict]) -> None:
    """Generate each job's game into its folder, atomically; skip folders already there.

    Args:
        jobs: dicts with ``game``, ``settings``, ``split``, ``seed`` and ``folder`` (the target path).
    """
    for job in jobs:
        target = Path(job["folder"])
        if target.is_dir():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
        try:
            make_game_files(job["game"], job["settings"], job["split"], job["seed"], scratch)
            try:
                os.rename(scratch, target)
            except OSError:
                if not target.is_dir():
                    raise  # not a lost race: a real failure
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """The command line: generate a split's games (or, with ``--jobs``, run as the worker)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", default="custom", choices=GAMES, help="game kind (default: custom)")
    parser.add_argument("--difficulty", default="medium", choices=DIFFICULTIES, help="difficulty preset (default: medium)")
    parser.add_argument("--settings", default=None, help="JSON object of settings replacing the preset's")
    parser.add_argument("--split", default="test", choices=SPLITS, help="split (default: test)")
    parser.add_argument("--num-games", type=int, default=None, help="games of the split (default: the split's default)")
    parser.add_argument("--jobs", action="store_true", help=argparse.SUPPRESS)  # worker: JSON jobs on stdin
    args = parser.parse_args(argv)
    if args.jobs:
        if os.environ.get("PYTHONHASHSEED") != "0":
            parser.error("the worker needs PYTHONHASHSEED=0 (games would differ between runs); "
                         "generate through stepagent_envs.textworld_env.store.ensure_games or this command line")
        generate_jobs(json.load(sys.stdin))
        return 0

    spec = game_spec(args.game, args.difficulty, json.loads(args.settings) if args.settings else None)
    seeds = split_seeds(args.split, args.num_games or DEFAULT_NUM_GAMES[args.split])
    start = time.perf_counter()
    generated = ensure_games(spec, args.split, seeds)
    elapsed = time.perf_counter() - start
    per_game = f" ({elapsed / generated:.1f} s a game)" if generated else ""
    print(f"{spec.name} {args.split}: {len(seeds)} games, {generated} generated in {elapsed:.1f} s{per_game}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
