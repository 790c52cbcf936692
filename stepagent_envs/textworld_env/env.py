"""StepTextWorld-v0: generated TextWorld text games with textworld's exact expert."""

from __future__ import annotations


from ..contract import ExpertUnavailable, TextEnv, text_space, to_charset
from .engine import MAX_COMMAND_BYTES, TextWorldGame, interpreter_problem
from .presets import DEFAULT_NUM_GAMES, SPLITS, game_spec, split_seeds
from .store import ensure_games, game_files

OBS_MAX_LENGTH = 8192
ACTION_MAX_LENGTH = MAX_COMMAND_BYTES
# Interpreter commands that act on the session, not the world (files, restarts, transcripts), the
# parser's commands over the command history (again/g repeats the last line read, a setup command
# right after reset; oops/o edits it), and the words that chain several commands in one line:
# refused when valid_actions=False. Backslashes are refused in engine.py (Frotz escapes).
_SESSION_VERBS = frozenset({"save", "restore", "restart", "quit", "q", "script", "unscript", "transcript",
                            "noscript", "verify", "undo", "again", "g", "oops", "o"})
_CHAINING = (".", ",", ";", " then ")


class StepTextWorldEnv(TextEnv):
    """TextWorld (Cote et al., 2018) text games generated with the ``textworld`` package,
    played on its Z-machine, with textworld's winning policy as the expert.

    ## Description
    Each episode draws one game of the split with ``self.np_random`` (or takes
    ``options["task_id"]``) and starts it. Games are generated with TextWorld's
    own generator and Inform 7 compiler on first use (seconds a game) and
    cached under ``$STEPAGENT_CACHE/textworld`` (see :mod:`.store`); the
    kind, difficulty and split seeds are in :mod:`.presets`.

    ## Action Space
    ``Text`` (printable ASCII, at most 198 characters): one command, such as
    ``go north``, ``open chest``, ``take key from table``. With
    ``valid_actions=True`` (default) a command must be one of the game's
    admissible commands (``info["valid_actions"]``; case and spacing are
    ignored). With ``valid_actions=False`` any single command the game's
    parser accepts can be played (``n``, ``get key``), except session
    commands (save, restore, restart, quit, undo, again, oops, script,
    verify, ``tw-*``), the interpreter's escapes (any backslash: Frotz reads
    ``\\help``, ``\\N`` as its own commands and hotkeys) and several
    commands chained in one line.

    ## Observation Space
    ``Text`` (printable ASCII, at most 8,192 characters): the game's feedback
    to the command; on reset, its intro (the objective, then the first room's
    description). Trace tags, the prompt, the status line and the banner are
    cut. Invalid actions get ``"Invalid action: <why>"``, with the admissible
    commands or the game's own answer (``That's not a verb I recognise.``).

    ## Rewards
    The change of the game's score divided by its maximum score, so the
    rewards of an episode sum to at most 1 (cooking games score each recipe
    step; the other kinds score 1 point when the quest is done).

    ## Episode End
    Terminates when the game is won (``*** The End ***``) or lost
    (``*** You lost! ***``: a needed ingredient eaten or burned in a cooking
    game, a wrong object taken in treasure hunter). Registered with ``max_episode_steps=100`` (truncation).

    ## Information
    ``task`` (the game's objective), ``task_id`` (``"<game>-<difficulty>/<seed>"``),
    ``valid_actions`` (the admissible commands with ``valid_actions=True``,
    else ``[]``; ``[]`` once the episode ends), ``won``, ``lost``, ``score``
    (points / max points), ``points``, ``max_points``, ``moves`` (the game's
    move count) and ``invalid``.

    An action is invalid, and changes nothing, when it is not an admissible
    command (``valid_actions=True``), is not a single world command
    (``valid_actions=False``), or when the game carries out no action for it
    (a parser error, "You can't see any such thing."): the Z-machine state is
    then restored, so not even the move count advances.

    ## Arguments
    * ``split``: ``"train"``, ``"dev"`` or ``"test"`` (disjoint game seeds:
      0..., 1,000,000..., 2,000,000...).
    * ``game``: ``"custom"`` (``tw-make custom``), ``"cooking"``,
      ``"coin_collector"`` or ``"treasure_hunter"`` (TextWorld's challenges).
    * ``difficulty``: ``"easy"``, ``"medium"`` or ``"hard"``: a preset of the
      game's settings (rooms, objects, quest length; recipe and skills for
      cooking; the level for coin collector and treasure hunter).
    * ``settings``: a dict replacing some of the preset's settings.
    * ``num_games``: games in the split (default 100 train, 50 dev, 50 test).
    * ``valid_actions``: compute the admissible commands every step (``True``,
      default) or not (``False``: only the Z-machine runs, about 1.5x the
      steps/s; see ``benchmarks/bench_textworld.py``).
    * ``render_mode``: ``None`` or ``"ansi"`` (the last observation).

    The oracle ``expert_action()`` is the first of textworld's
    ``policy_commands`` for the live state (it re-plans after any detour); it
    raises :class:`~stepagent_envs.ExpertUnavailable` when the game can no
    longer be won. It is computed only when asked (see :mod:`.engine`).

    Copies (pickle, deepcopy) keep the arguments, the random generator, the
    game and the commands played, and replay them on a fresh Z-machine.
    """


    def __init__(self, split: str = "train", game: str = "custom", difficulty: str = "medium",
                 settings: dict | None = None, num_games: int | None = None, valid_actions: bool = True,
                 render_mode: str | None = None):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        if not isinstance(valid_actions, bool):
            raise ValueError(f"valid_actions must be True or False, got {valid_actions!r}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"unknown render_mode {render_mode!r}; expected None or 'ansi'")
        self.game_spec = game_spec(game, difficulty, settings)
        self.split = split
        self.seeds = split_seeds(split, DEFAULT_NUM_GAMES[split] if num_games is None else num_games)
        self.valid_actions = valid_actions
        self.render_mode = render_mode
        self.observation_space = text_space(OBS_MAX_LENGTH)
        self.action_space = text_space(ACTION_MAX_LENGTH)
        self._engine: TextWorldGame | None = None
        self._engine_seed: int | None = None  # the game loaded in the engine
        self._seed: int | None = None  # the game of the episode
        self._commands: list[str] = []  # commands the game carried out this episode (replayed by copies)
        self._admissible: dict[str, str] = {}  # matching key -> admissible command, when valid_actions
        self._done = False
        self._obs = ""

    # -- gymnasium API -------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        task_id = (options or {}).get("task_id")
        if task_id is None:
            game_seed = self.seeds[int(self.np_random.integers(len(self.seeds)))]
        else:
            game_seed = self._seed_of(task_id)
        self._start(game_seed)
        self._obs = to_charset(self._engine.intro, OBS_MAX_LENGTH)
        return self._obs, self._info()

    def step(self, action: str):
        if self._seed is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode has ended (the game was won or lost); call reset()")
        if not isinstance(action, str):
            return self._invalid(f"actions are text commands, got {type(action).__name__}")
        command = " ".join(action.split())
        if self.valid_actions:
            if command.lower() not in self._admissible:
                return self._invalid(f"{to_charset(command)[:80]!r} is not an admissible command here; "
                                     f"admissible: {', '.join(self._admissible.values())}")
            command = self._admissible[command.lower()]
        else:
            problem = _command_problem(command)
            if problem is not None:
                return self._invalid(problem)
        points = self._engine.points
        text, accepted = self._engine.step(command)
        if not accepted:
            return self._invalid(f"the game carried out no action for {command!r}: {text}")
        self._commands.append(command)
        self._done = self._engine.won or self._engine.lost
        self._obs = to_charset(text, OBS_MAX_LENGTH)
        reward = (self._engine.points - points) / self._engine.max_points
        return self._obs, float(reward), self._done, False, self._info()

    def close(self):
        if self._engine is not None:
            self._engine.close()
        self._engine = self._engine_seed = self._seed = None

    def task_ids(self) -> list[str]:
        """The ids of every game of the split, in seed order (for ``reset(options={"task_id": ...})``)."""
        return [self._task_id(seed) for seed in self.seeds]

    def prepare(self) -> int:
        """Generate every game of the split not cached yet, in one subprocess, and return how
        many were missing; e.g. before vector envs, whose workers would each generate them."""
        return ensure_games(self.game_spec, self.split, self.seeds)

    # -- expert --------------------------------------------------------
    def expert_action(self) -> str:
        """The first command of textworld's winning policy from the current state.

        Raises:
            ExpertUnavailable: the game can no longer be won from here (a quest failed or
                became unfinishable, e.g. a needed item was eaten).
            RuntimeError: no episode is running.
        """
        if self._seed is None or self._done:
            raise RuntimeError("no expert action: call reset() first (the episode has not started or has ended)")
        policy = self._engine.policy_commands()
        if not policy:
            raise ExpertUnavailable(f"game {self._task_id(self._seed)} can no longer be won after "
                                f"{self._commands}: textworld has no winning policy from this state")
        return policy[0]

    # -- copies --------------------------------------------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        state.update(_engine=None, _engine_seed=None)  # the Z-machine does not pickle: replayed
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self._seed is not None:
            self._load(self._seed)
            self._engine.reset()
            for command in self._commands:
                if not self._engine.step(command)[1]:
                    raise RuntimeError(f"replaying {self._task_id(self._seed)} diverged at {command!r}; "
                                       "the cached game file changed since the copy was made")

    # -- internals -----------------------------------------------------
    def _task_id(self, seed: int) -> str:
        return f"{self.game_spec.name}/{seed}"

    def _seed_of(self, task_id: str) -> int:
        name, _, seed = str(task_id).rpartition("/")
        if name != self.game_spec.name or not seed.isdigit() or int(seed) not in self.seeds:
            raise ValueError(f"task_id {task_id!r} is not in split {self.split!r} of this env (ids "
                             f"{self._task_id(self.seeds[0])} .. {self._task_id(self.seeds[-1])}); make the env "
                             "with the game, difficulty, settings, split and num_games that hold it")
        return int(seed)

    def _load(self, seed: int) -> None:
        if self._engine_seed != seed:
            if self._engine is not None:
                self._engine.close()
            self._engine = TextWorldGame(*game_files(self.game_spec, self.split, seed))
            self._engine_seed = seed

    def _start(self, seed: int) -> None:
        self._load(seed)
        self._engine.reset()
        self._seed = seed
        self._commands = []
        self._done = False

    def _invalid(self, why: str):
        obs = to_charset(f"Invalid action: {why}", OBS_MAX_LENGTH)
        return obs, 0.0, False, False, self._info(invalid=True)

    def _info(self, invalid: bool = False) -> dict:
        engine = self._engine
        if not invalid:  # an invalid action leaves the state, hence the admissible commands, as they were
            commands = engine.admissible_commands() if self.valid_actions and not self._done else []
            self._admissible = {to_charset(c).lower(): c for c in commands}
        return {
            "task": to_charset(engine.objective),
            "task_id": self._task_id(self._seed),
            "valid_actions": [to_charset(c) for c in self._admissible.values()],
            "won": bool(engine.won),
            "lost": bool(engine.lost),
            "score": min(1.0, engine.points / engine.max_points),
            "points": int(engine.points),
            "max_points": int(engine.max_points),
            "moves": int(engine.moves),
            "invalid": invalid,
        }


def _command_problem(command: str) -> str | None:
    """Why ``command`` cannot be sent to the game as one world command, or None."""
    if not command:
        return "the command is empty"
    problem = interpreter_problem(command)
    if problem is not None:
        return problem
    lowered = f" {command.lower()} "
    if any(mark in lowered for mark in _CHAINING):
        return f"{command[:80]!r} chains several commands; send one command per step"
    verb = lowered.split()[0]
    if verb in _SESSION_VERBS or verb.startswith("tw-"):
        return f"{verb!r} is a session command (the interpreter's or the command history's), not a game action"
    return None
