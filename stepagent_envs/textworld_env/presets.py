"""Which TextWorld games an env plays: game kinds, difficulty presets and split seeds.

A game is fixed by its kind, its generation settings and one integer seed.
The seeds of the three splits are disjoint ranges, so no game is in two
splits; game ``i`` of a split has seed ``SPLIT_SEED_BASE[split] + i``:

* ``train``: seeds 0, 1, 2, ... (100 games by default);
* ``dev``: seeds 1,000,000, 1,000,001, ... (50 games by default);
* ``test``: seeds 2,000,000, 2,000,001, ... (50 games by default).

``cooking`` games also take TextWorld's own food split from the env's split
(``train`` / ``valid`` / ``test``: disjoint foods and preparations). Tiny
presets (coin collector ``easy``) can give two seeds alike layouts; the
seeds, not the layouts, are what the splits keep apart.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

SPLITS = ("train", "dev", "test")
#: The first game seed of each split; a split holds at most SPLIT_SIZE_LIMIT games.
SPLIT_SEED_BASE = {"train": 0, "dev": 1_000_000, "test": 2_000_000}
SPLIT_SIZE_LIMIT = 1_000_000
DEFAULT_NUM_GAMES = {"train": 100, "dev": 50, "test": 50}
#: TextWorld's cooking food split used for each env split.
COOKING_SPLIT = {"train": "train", "dev": "valid", "test": "test"}

GAMES = ("custom", "cooking", "coin_collector", "treasure_hunter")
DIFFICULTIES = ("easy", "medium", "hard")

#: Generation settings per game kind and difficulty. ``custom`` is ``tw-make custom``
#: (rooms, objects, quest length); the others are TextWorld's packaged challenges
#: with their own settings (``tw-make tw-cooking --recipe ...``, ``--level``).
PRESETS: dict[str, dict[str, dict]] = {
    "custom": {
        "easy": {"world_size": 3, "nb_objects": 6, "quest_length": 3},
        "medium": {"world_size": 6, "nb_objects": 12, "quest_length": 6},
        "hard": {"world_size": 10, "nb_objects": 20, "quest_length": 10},
    },
    "cooking": {
        "easy": {"recipe": 1, "take": 1, "go": 1, "open": False, "cook": False, "cut": False, "drop": False, "recipe_seed": 0},
        "medium": {"recipe": 2, "take": 2, "go": 6, "open": True, "cook": True, "cut": False, "drop": False, "recipe_seed": 0},
        "hard": {"recipe": 3, "take": 3, "go": 9, "open": True, "cook": True, "cut": True, "drop": False, "recipe_seed": 0},
    },
    # Coin collector levels: 1-100 a chain of `level` rooms; 101-200 with dead-end rooms beside it;
    # 201-300 with distractor rooms anywhere (quest length (level - 1) % 100 + 1).
    "coin_collector": {"easy": {"level": 5}, "medium": {"level": 110}, "hard": {"level": 215}},
    # Treasure hunter levels: 1-10 five open rooms; 11-20 ten rooms with closed doors and
    # containers; 21-30 twenty rooms with locked ones (quest length grows with the level).
    "treasure_hunter": {"easy": {"level": 5}, "medium": {"level": 15}, "hard": {"level": 25}},
}


@dataclass(frozen=True)
class GameSpec:
    """How the games of one env are generated: kind, difficulty and resolved settings.

    Attributes:
        game: one of :data:`GAMES`.
        difficulty: one of :data:`DIFFICULTIES`.
        overrides: settings given on top of the preset, as sorted ``(name, value)`` pairs.
    """

    game: str
    difficulty: str
    overrides: tuple[tuple[str, object], ...] = ()

    @property
    def settings(self) -> dict:
        """The preset's settings with the overrides applied."""
        return {**PRESETS[self.game][self.difficulty], **dict(self.overrides)}

    @property
    def name(self) -> str:
        """``<game>-<difficulty>``, plus a short hash of the overrides when there are any."""
        name = f"{self.game}-{self.difficulty}"
        if self.overrides:
            digest = hashlib.sha1(json.dumps(self.overrides).encode()).hexdigest()[:8]
            name += f"+{digest}"
        return name


def game_spec(game: str, difficulty: str, settings: dict | None = None) -> GameSpec:
    """Check ``game``, ``difficulty`` and ``settings`` and return their :class:`GameSpec`.

    Args:
        game: one of :data:`GAMES`.
        difficulty: one of :data:`DIFFICULTIES`.
        settings: values replacing some of the preset's settings (same names and types).

    Raises:
        ValueError: an unknown game, difficulty or setting name, or a value of the wrong type.
    """
    if game not in PRESETS:
        raise ValueError(f"unknown game {game!r}; expected one of {', '.join(GAMES)}")
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"unknown difficulty {difficulty!r}; expected one of {', '.join(DIFFICULTIES)}")
    preset = PRESETS[game][difficulty]
    overrides = []
    for key, value in sorted((settings or {}).items()):
        if key not in preset:
            raise ValueError(f"unknown setting {key!r} for game {game!r}; expected some of {', '.join(preset)}")
        if type(value) is not type(preset[key]):
            raise ValueError(f"setting {key!r} must be of type {type(preset[key]).__name__}, like the preset's "
                             f"{preset[key]!r}; got {value!r}")
        if value != preset[key]:
            overrides.append((key, value))
    return GameSpec(game, difficulty, tuple(overrides))


def split_seeds(split: str, num_games: int) -> list[int]:
    """The game seeds of the first ``num_games`` games of ``split``.

    Raises:
        ValueError: an unknown split, or ``num_games`` outside 1..SPLIT_SIZE_LIMIT.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    if isinstance(num_games, bool) or not isinstance(num_games, int) or not 1 <= num_games <= SPLIT_SIZE_LIMIT:
        raise ValueError(f"num_games must be an int in 1..{SPLIT_SIZE_LIMIT:,}, got {num_games!r}")
    base = SPLIT_SEED_BASE[split]
    return list(range(base, base + num_games))
