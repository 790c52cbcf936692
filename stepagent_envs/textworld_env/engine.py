"""One TextWorld game on the Z-machine, with the game's logic followed lazily.

``textworld.start()`` plays a generated ``.z8`` game on Jericho's Z-machine and,
once admissible or policy commands are requested, wraps it in layers that
update the game's logic state, and the quests, on every step. This module
drives the same pieces of the ``textworld`` package itself and pays for each
only when it is used:

* The Z-machine (``jericho.FrotzEnv``, what ``textworld.start`` runs) plays
  every command. The game's own tracing (``tw-trace-actions``) tags each action
  it carries out, ``[opening the fridge - succeeded]``, and
  ``tw-extra-infos score`` / ``moves`` print the score and move count; the
  tags are cut from the feedback.
* Only a line the story itself reads reaches the Z-machine
  (:func:`interpreter_problem`): Jericho's Frotz takes a line starting with a
  backslash as its own command (``\\help``, ``\\s``: it then loops forever)
  and a backslash anywhere else as a key escape (``\\N`` restart, ``\\X``
  quit, ``\\_`` return: ``x \\N`` crashes the process).
* A command the game carries out no action for (a parser error, "You can't
  see any such thing.", an action a rule stops) is rejected: the Z-machine
  state saved before it is restored, so it changes nothing, not even the move
  count.
* The logic (textworld's ``GameProgression`` without quests: the world's facts
  and the applicable actions) follows the succeeded actions, matched with
  ``Inform7Game.detect_action`` as textworld's own state tracking does. It is
  brought up to date only when :meth:`TextWorldGame.admissible_commands` or
  :meth:`TextWorldGame.policy_commands` is called.
* The quests (a second ``GameProgression``, with quests) replay only the
  logic's actions since the last :meth:`TextWorldGame.policy_commands` call,
  which then returns textworld's ``policy_commands`` for the live state.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

try:
    import jericho
    import textworld
    from textworld.generator.game import GameProgression
    from textworld.generator.inform7 import Inform7Game
except ImportError as error:  # pragma: no cover - depends on the install
    raise ImportError(
        "StepTextWorld-v0 needs the textworld package (it brings the Jericho Z-machine and the "
        "Inform 7 compiler): pip install 'textworld>=1.7'"
    ) from error

#: Seed of the Z-machine's random numbers, fixed so that replays repeat (0 would mean "from the clock").
ZMACHINE_SEED = 1234
#: Longest command the Z-machine reads (Jericho cuts longer input).
MAX_COMMAND_BYTES = jericho.jericho.INPUT_BUFFER_SIZE
# Run once after the story starts: trace actions, print score and moves every turn.
_SETUP_COMMANDS = ("tw-trace-actions", "tw-extra-infos score", "tw-extra-infos moves")
_TAG = re.compile(r"\[[^]]+\]\n?")  # an action trace tag, as textworld matches it
_EXTRA = re.compile(r"<(score|moves)>\n(.*?)</\1>", re.DOTALL)
_PROMPT = re.compile(r"\n>[^\n]*\Z")  # the input prompt, followed by the status line
_END_QUESTION = "Would you like to RESTART, RESTORE a saved game, QUIT or UNDO the last command?"
_WON, _LOST = "*** The End ***", "*** You lost! ***"


def interpreter_problem(command: str) -> str | None:
    """Why Frotz would not hand ``command`` to the story as one line of input, or None.

    Jericho's Frotz reads a line starting with a backslash as an interpreter command
    (``\\help`` never returns) and translates a backslash elsewhere into a special key
    (``\\N`` restarts, ``\\X`` quits: the process can die); a newline ends a line and
    other control or non-ASCII characters are not the story's input.
    """
    if "\\" in command:
        return f"{command[:80]!r}: a backslash is an interpreter escape, not part of a game command"
    if not command.isascii() or not command.isprintable():
        return f"{command.encode('ascii', 'backslashreplace').decode()[:80]!r}: commands are printable ASCII"
    if len(command) > MAX_COMMAND_BYTES:
        return f"the command has {len(command)} characters; the game reads at most {MAX_COMMAND_BYTES}"
    return None


@dataclass(frozen=True)
class GameData:
    """What a game's ``game.json`` says, loaded once per process and shared (read-only)."""

    game: textworld.Game  #: TextWorld's game: world, quests, objective
    inform7: Inform7Game  #: maps logic actions to commands and trace tags to actions


@functools.lru_cache(maxsize=128)  # about 0.4 MB a cooking game, 50 ms to load
def load_game_data(json_path: str) -> GameData:
    """The game data of ``json_path``, loaded once per process."""
    game = textworld.Game.load(json_path)
    return GameData(game, Inform7Game(game))


def succeeded_actions(text: str) -> list[str]:
    """The actions the game's trace tags report as succeeded, in order (sub-actions,
    numbered ``(1) ...``, left out as textworld does)."""
    names = []
    for tag in _TAG.findall(text):
        name = tag.strip()[1:-1]
        if " - succeeded" in name:
            name = name[: name.index(" - succeeded")]
            if "(" not in name and ")" not in name:
                names.append(name)
    return names


def clean_feedback(text: str) -> str:
    """The game's text without trace tags, score/moves tags, prompt, status line and end question."""
    text = _EXTRA.sub("", text)
    text = _TAG.sub("", text)
    text = _PROMPT.sub("", text).replace(_END_QUESTION, "")
    text = "\n".join(line.strip() for line in text.split("\n"))  # the game centres some lines with spaces
    return re.sub(r"\n{3,}", "\n\n", text).strip()


class _QuestTracker(GameProgression):
    """textworld's ``GameProgression`` with quests, fed the actions the logic already matched,
    so the applicable actions, which only matching needs, are not computed twice."""

    def __init__(self, game: textworld.Game):
        super().__init__(game, track_quests=True)

    def update(self, action) -> None:
        """Apply ``action`` to the facts and update every quest (``GameProgression.update``
        without recomputing the applicable actions)."""
        self.state.apply(action)
        for quest in self.quest_progressions:
            quest.update(action, self.state)


class TextWorldGame:
    """One generated game: the Z-machine plays it; the logic and the quests follow on demand.

    Args:
        z8_path: the compiled game (``game.z8``).
        json_path: its TextWorld game data (``game.json``).

    Attributes:
        points: the game's score so far.
        moves: the game's move count.
        won: the game said ``*** The End ***``.
        lost: the game said ``*** You lost! ***``.
    """

    def __init__(self, z8_path: Path, json_path: Path):
        self.data = load_game_data(str(json_path))
        with warnings.catch_warnings():  # Jericho has no bindings for generated games: expected
            warnings.simplefilter("ignore", jericho.UnsupportedGameWarning)
            self._zmachine = jericho.FrotzEnv(str(z8_path), ZMACHINE_SEED)
        intro, _ = self._zmachine.reset()
        for command in _SETUP_COMMANDS:
            self._zmachine.step(command)
        self._start = self._zmachine.get_state()  # reset() restores it: cheaper than restarting the story
        self.intro = _without_banner(clean_feedback(intro))
        self.reset()

    @property
    def objective(self) -> str:
        """The game's objective text."""
        return self.data.game.objective

    @property
    def max_points(self) -> int:
        """The highest score the game can reach."""
        return self.data.game.max_score

    def reset(self) -> str:
        """Start the game over; returns the intro (objective and first room)."""
        self._zmachine.set_state(self._start)
        self.points = self.moves = 0
        self.won = self.lost = False
        self._pending: list[list[str]] = []  # succeeded actions of the steps the logic has not followed yet
        self._actions: list = []  # logic actions matched so far this episode
        self._logic: GameProgression | None = None
        self._quests: _QuestTracker | None = None
        self._quests_seen = 0  # how many of self._actions the quests have followed
        return self.intro

    def step(self, command: str) -> tuple[str, bool]:
        """Send one command to the Z-machine.

        Returns:
            ``(feedback, accepted)``: the game's cleaned text, and whether it carried
            out an action. When it did not, the state is restored as it was before.
            A command the interpreter would not pass to the story as it is
            (:func:`interpreter_problem`) never reaches the Z-machine: ``(why, False)``.
        """
        problem = interpreter_problem(command)
        if problem is not None:
            return problem, False
        saved = self._zmachine.get_state()
        raw, _, _, _ = self._zmachine.step(command)
        actions = succeeded_actions(raw)
        if not actions:
            self._zmachine.set_state(saved)
            return clean_feedback(raw), False
        extras = dict(_EXTRA.findall(raw))
        self.points = int(extras.get("score", self.points))
        self.moves = int(extras.get("moves", self.moves))
        self.won, self.lost = _WON in raw, _LOST in raw
        self._pending.append(actions)
        return clean_feedback(raw), True

    def admissible_commands(self) -> list[str]:
        """textworld's admissible commands for the current state (sorted, unique)."""
        logic = self._follow()
        return sorted(set(self.data.inform7.gen_commands_from_actions(logic.valid_actions)))

    def policy_commands(self) -> list[str] | None:
        """textworld's winning policy from the current state as commands; None when the
        game can no longer be won (a quest failed or became unfinishable) or is over."""
        self._follow()
        if self._quests is None:
            self._quests = _QuestTracker(self.data.game)
        for action in self._actions[self._quests_seen:]:
            self._quests.update(action)
        self._quests_seen = len(self._actions)
        policy = self._quests.winning_policy
        return None if policy is None else self.data.inform7.gen_commands_from_actions(policy)

    def close(self) -> None:
        """Shut the Z-machine down."""
        self._zmachine.close()

    def _follow(self) -> GameProgression:
        """Bring the logic up to date with the steps taken, matching their succeeded actions."""
        if self._logic is None:
            self._logic = GameProgression(self.data.game, track_quests=False)
        for names in self._pending:
            for name in names:
                action = self.data.inform7.detect_action(name, self._logic.valid_actions)
                if action is not None:  # None: an action with no effect on the logic (wait, look, ...)
                    self._logic.update(action)
                    self._actions.append(action)
        self._pending.clear()
        return self._logic


def _without_banner(text: str) -> str:
    """The intro without TextWorld's ASCII-art banner (its leading lines have no letters)."""
    lines = text.split("\n")
    while lines and not re.search(r"[A-Za-z]", lines[0]):
        lines.pop(0)
    return "\n".join(lines)
