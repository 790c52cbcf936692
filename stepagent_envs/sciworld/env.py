"""StepSciWorld-v0: the real ScienceWorld engine as a Gymnasium text env with an expert oracle."""

from __future__ import annotations


from ..contract import TextEnv, text_space, to_charset
from .engine import NO_MATCH, Engine, EngineError, option_count

#: What input the engine cannot parse gets: its own answer, then how to find a valid action.
NO_MATCH_HINT = (f"{NO_MATCH} Actions are commands such as 'look around', 'open door to kitchen', "
                 "'pick up thermometer', 'focus on <object>' or 'teleport to <room>' (with the teleport "
                 "simplification); info['valid_actions'] lists this state's actions when valid_actions=True.")
from .gold import GoldPath, cached_gold, generate_gold
from .tasks import SIMPLIFICATIONS, needs_electrical_actions, task_names

OBS_MAX_LENGTH = 8192
ACTION_MAX_LENGTH = 512
SPLITS = ("train", "dev", "test")


class StepSciWorldEnv(TextEnv):
    """ScienceWorld (Wang et al., 2022): 30 elementary-science tasks (boil water, grow a
    plant, build a circuit, ...) in a simulated house, played in text.

    ## Description
    The real ScienceWorld engine (the ``scienceworld`` package's Java simulator)
    runs in a JVM of its own per env (see :mod:`.engine`; Java 11 or newer is
    needed), started by the first ``reset()`` or ``task_ids()``. Each episode
    draws one task of ``task`` uniformly with ``self.np_random``, then one of
    that task's variations in ``split`` uniformly (ScienceWorld's own train /
    dev / test variations). ``reset(options={"task_id": "boil/3"})`` plays a
    given variation of the split. The same seed and actions give the same
    episode, in any env instance (see :mod:`.engine` for what that takes).

    ## Action Space
    ``Text`` (printable ASCII, at most 512 characters): one engine command,
    e.g. ``open door to kitchen``, ``pick up thermometer``, ``focus on
    substance in metal pot``, ``teleport to kitchen`` (with the teleport
    simplification), ``wait1``. When a command matches several objects the
    engine lists numbered options and waits for an answer: then only the
    option numbers ``"0"``, ``"1"``, ... and ``""`` (blank: cancel the
    command, as the engine's question offers; a time step passes) are valid.
    An action is first mapped into the space's charset as observations are
    (:func:`~stepagent_envs.to_charset`: accents stripped, typographic
    symbols transliterated, control characters and lone surrogates dropped),
    so nothing outside it reaches the engine; a longer action than 512
    characters, or one that is not a string, is invalid.

    ## Observation Space
    ``Text`` (printable ASCII, at most 8,192 characters): the engine's text.
    Reset shows the task description, then the room (the engine's free look:
    what ``look around`` shows, without the move the official reset spends on
    it). Input the engine cannot parse gets its answer ``"No known action
    matches that input."`` followed by a hint (:data:`NO_MATCH_HINT`; the
    engine runs nothing: no time passes, the score and valid actions stay); while an
    ambiguity is pending, anything but an option number or a blank gets
    ``"Invalid action: ..."`` and is not passed on (the engine would take it
    as a cancel). Both are ``info["invalid"]`` and leave the episode
    unchanged.

    ## Rewards
    The change of ``info["score"]``: the engine score (ScienceWorld's 0..100,
    rounded as the official API does) divided by 100. A failed task (negative
    engine score) sets the score to 0, so that step's reward takes back the
    progress made; an episode's rewards sum to its final score.

    ## Episode End
    Terminates when the task is completed (won) or failed (negative engine
    score, e.g. focusing on the wrong object). Registered with
    ``max_episode_steps=200`` (truncation): the gold paths of most
    variations are 4 to 180 actions, a few inclined-plane ones are longer
    (up to ~750); pass ``max_episode_steps`` to ``gym.make`` to change it.

    ## Information
    ``task`` (the task description), ``task_id`` (``"<task>/<variation>"``),
    ``valid_actions`` (the engine's valid action-object combinations, sorted,
    when ``valid_actions=True``; else ``[]``), ``won``, ``score`` (0..1),
    ``invalid``, ``engine_score`` (the engine's score, -100..100), ``moves``
    (engine time steps so far), ``task_name``, ``variation``, and
    ``expert_exact``: whether the state the step started from was on the gold
    path, i.e. whether ``expert_action()`` there was exact; None until the
    gold path is loaded (by the episode's first ``expert_action()``), so a
    bare env pays nothing for it.

    ## Arguments
    * ``task``: a task name (``"boil"``, ``"melt"``, ... see
      :func:`.tasks.task_names`), a list of them, or ``"all"`` (the 30 tasks).
    * ``split``: ``"train"``, ``"dev"`` or ``"test"``: ScienceWorld's
      variation split (per task, variations in order: the first half train,
      the next quarter dev, the rest test; the engine's rule, version 1.2).
    * ``simplifications``: ``"easy"`` (teleport, open doors, self-watering
      flower pots, and no electrical actions except in the electrical tasks),
      ``""`` for none, or a comma-separated list of the engine's names
      (``teleportAction``, ``openDoors``, ``openContainers``,
      ``selfWateringFlowerPots``, ``noElectricalAction``).
    * ``valid_actions``: list the valid actions in ``info`` (costs the engine
      tens of ms a step).
    * ``heap_mb``: the JVM heap cap in MiB (512).
    * ``call_timeout``: seconds one call into the engine may take (60; None:
      no deadline). A JVM that does not answer in time (hung, paused) is
      killed and the call raises :class:`.engine.EngineDiedError`.
    * ``java``: the java executable (None: ``$JAVA_HOME/bin/java`` or PATH).
    * ``render_mode``: ``None`` or ``"ansi"`` (the last observation).

    The oracle ``expert_action()`` follows the engine's gold path for the
    variation (generated once and cached on disk, see :mod:`.gold`): exact on
    the path, best effort off it, and :class:`~stepagent_envs.ExpertUnavailable`
    where no gold action is possible any more, see :mod:`.expert`.

    ``close()`` ends the JVM. If the JVM dies or misses ``call_timeout``,
    ``step`` raises :class:`.engine.EngineDiedError` and ``reset()`` starts a
    fresh engine.
    Copies (pickle, deepcopy) start their own engine and replay the episode's
    commands (docs/design.md, Branching).
    """


    def __init__(self, task: str | list[str] = "all", split: str = "train", simplifications: str = "easy",
                 valid_actions: bool = True, heap_mb: int = 512, java: str | None = None,
                 render_mode: str | None = None, call_timeout: float | None = 60.0):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"unknown render_mode {render_mode!r}; expected None or 'ansi'")
        if not isinstance(valid_actions, bool):
            raise ValueError(f"valid_actions must be True or False, got {valid_actions!r}")
        if not isinstance(simplifications, str):
            raise ValueError(f"simplifications must be a string such as 'easy' or '', got {simplifications!r}")
        Engine.check_heap(heap_mb)
        Engine.check_call_timeout(call_timeout)
        self.split = split
        self.simplifications = simplifications
        self.list_valid_actions = valid_actions
        self.heap_mb = heap_mb
        self.call_timeout = call_timeout
        self.java = java
        self.render_mode = render_mode
        self.observation_space = text_space(OBS_MAX_LENGTH)
        self.action_space = text_space(ACTION_MAX_LENGTH)
        self.tasks = self._resolve_tasks(task)  #: the tasks episodes are drawn from
        self._check_simplifications()
        self._engine: Engine | None = None  # started on first use
        self._pools: dict[str, list[int]] = {}  # task -> its variations in the split, read from the engine
        self._task: str | None = None  # the episode's task and variation
        self._variation = 0
        self._description = ""
        self._history: list[str] = []  # the commands the engine ran this episode (replayed by copies)
        self._choices = 0  # number of options while the engine waits for an ambiguity to be resolved
        self._score = 0.0
        self._percent = 0
        self._moves = 0
        self._done = False
        self._valid: list[str] = []
        self._obs = ""
        self._gold: GoldPath | None = None  # loaded by the episode's first expert_action()

    @staticmethod
    def _resolve_tasks(task) -> tuple[str, ...]:
        names = task_names()
        if task == "all":
            chosen = list(names)
        elif isinstance(task, str):
            chosen = [task]
        elif isinstance(task, (list, tuple)) and task and all(isinstance(t, str) for t in task):
            chosen = list(dict.fromkeys(task))
        else:
            raise ValueError(f"task must be a task name, a non-empty list of them or 'all', got {task!r}")
        unknown = [t for t in chosen if t not in names]
        if unknown:
            raise ValueError(f"unknown task {unknown[0]!r}; expected one of {', '.join(names)} or 'all'")
        return tuple(chosen)

    def _check_simplifications(self) -> None:
        parts = [part for part in self.simplifications.split(",") if part]
        bad = [part for part in parts if part not in SIMPLIFICATIONS and part != "easy"]
        if bad:
            raise ValueError(f"unknown simplification {bad[0]!r}; expected 'easy', '' or a comma-separated list of "
                             f"{', '.join(SIMPLIFICATIONS)}")
        electrical = [task for task in self.tasks if needs_electrical_actions(task)]
        if "noElectricalAction" in parts and electrical:
            raise ValueError(f"simplification 'noElectricalAction' removes the actions {electrical[0]!r} needs; "
                             "drop it (or use 'easy', which keeps them for the electrical tasks)")

    # -- gymnasium API -------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        task_id = (options or {}).get("task_id")
        if task_id is None:
            task = self.tasks[int(self.np_random.integers(len(self.tasks)))]
            pool = self._variation_pools()[task]
            variation = pool[int(self.np_random.integers(len(pool)))]
        else:
            task, variation = self._parse_task_id(task_id)
        self._task, self._variation, self._gold = task, variation, None
        self._history, self._choices, self._score, self._percent, self._moves = [], 0, 0.0, 0, 0
        self._done = False
        engine = self._live_engine()
        engine.load(task, variation, self.simplifications)
        self._description = engine.task_description()
        self._valid = engine.valid_actions() if self.list_valid_actions else []
        # The official reset shows the room (it plays "look around"); the free look shows it without a move.
        self._obs = to_charset(f"{self._description}\n\n{engine.look()}", OBS_MAX_LENGTH)
        return self._obs, self._info()

    def step(self, action: str):
        if self._task is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode has ended (the task was completed or failed); call reset()")
        if self._engine is None:
            raise EngineError("the env was closed; call reset() to start a fresh engine")
        exact = self.expert_exact()
        if not isinstance(action, str):
            return self._invalid(f"Invalid action: actions are strings, got {type(action).__name__}.")
        action = to_charset(action)  # nothing outside the action space's charset reaches the engine
        if len(action) > ACTION_MAX_LENGTH:
            return self._invalid(f"Invalid action: it has {len(action)} characters; actions have at most "
                                 f"{ACTION_MAX_LENGTH}.")
        if self._choices:
            choice = action.strip()
            if choice and not (choice.isascii() and choice.isdigit() and int(choice) < self._choices):
                return self._invalid(f"Invalid action: the engine is waiting for the number of one of the options "
                                     f"above; answer with one of 0 to {self._choices - 1}, or a blank action to "
                                     "cancel.")
            action = str(int(choice)) if choice else ""
        result = self._engine.step(action)
        if result.observation == NO_MATCH:  # parsed to nothing: the engine ran nothing
            return self._invalid(NO_MATCH_HINT)
        self._history.append(action)
        self._choices = option_count(result.observation)
        self._percent = round(100 * result.score)  # the official API's rounding
        failed = self._percent < 0
        score = max(self._percent, 0) / 100
        reward = score - self._score
        self._score, self._moves = score, result.moves
        self._done = terminated = bool(result.completed or failed)
        self._valid = self._engine.valid_actions() if self.list_valid_actions and not terminated else []
        self._obs = to_charset(result.observation, OBS_MAX_LENGTH)
        return self._obs, reward, terminated, False, self._info(won=bool(result.completed and not failed), exact=exact)

    def close(self):
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    @property
    def engine_pid(self) -> int | None:
        """The process id of the env's JVM (None before the first reset and after close)."""
        return None if self._engine is None else self._engine.pid

    def task_ids(self) -> list[str]:
        """Every ``"<task>/<variation>"`` of the split, task by task (for ``reset(options={"task_id": ...})``)."""
        return [f"{task}/{variation}" for task, pool in self._variation_pools().items() for variation in pool]

    # -- expert --------------------------------------------------------
    def expert_action(self) -> str:
        """The oracle's next action from the current state (see :mod:`.expert`): the gold
        path's next action on the path (:meth:`expert_exact` is then True), a best effort off it.

        Raises:
            ExpertUnavailable: off the gold path, no gold action is possible from here.
        """
        from .expert import next_action

        if self._task is None or self._done:
            raise RuntimeError("no expert action: call reset() first (the episode has not started or has ended)")
        return next_action(self)

    def expert_exact(self) -> bool | None:
        """Whether the episode is on the gold path, so that :meth:`expert_action` is exact;
        None until the episode's gold path is loaded (by :meth:`expert_action` or :meth:`gold_path`)."""
        if self._gold is None:
            return None
        gold, history = self._gold.actions, self._history
        return len(history) < len(gold) and list(gold[: len(history)]) == history

    def gold_path(self) -> GoldPath:
        """The engine's gold path of the episode's variation (generated on first use, then cached).
        Generating it reloads the engine, which then replays the episode's commands."""
        if self._task is None:
            raise RuntimeError("no gold path: call reset() first")
        if self._gold is None:
            gold = cached_gold(self._task, self._variation, self.simplifications)
            if gold is None:
                gold = generate_gold(self._live_engine(), self._task, self._variation, self.simplifications)
                self._replay()
            self._gold = gold
        return self._gold

    # -- internals -----------------------------------------------------
    def _variation_pools(self) -> dict[str, list[int]]:
        """Each task's variations in the split (ScienceWorld's rule, asked of the engine once)."""
        if not self._pools:
            pools = {task: self._live_engine().variations(task)[self.split] for task in self.tasks}
            empty = [task for task, pool in pools.items() if not pool]
            if empty:
                raise ValueError(f"split {self.split!r} has no variations of {empty}; pick another split or task")
            self._pools = pools
        return self._pools

    def _parse_task_id(self, task_id) -> tuple[str, int]:
        task, _, number = str(task_id).rpartition("/")
        if task not in self._variation_pools():
            raise ValueError(f"task_id {task_id!r} names no task of this env ({', '.join(self.tasks)}); "
                             "ids look like 'boil/3'")
        if not number.isdigit() or int(number) not in self._pools[task]:
            raise ValueError(f"task_id {task_id!r}: variation {number!r} is not in split {self.split!r} "
                             f"(its variations of {task!r}: {self._pools[task][0]}..{self._pools[task][-1]}); "
                             "make the env with the split that holds it")
        return task, int(number)

    def _live_engine(self) -> Engine:
        """The env's engine, started afresh when it was closed or its JVM died."""
        if self._engine is None or not self._engine.alive:
            if self._engine is not None:
                self._engine.close()
            self._engine = Engine(heap_mb=self.heap_mb, java=self.java, call_timeout=self.call_timeout)
        return self._engine

    def _replay(self) -> None:
        """Reload the episode's variation and run its commands again (the engine is deterministic)."""
        engine = self._live_engine()
        engine.load(self._task, self._variation, self.simplifications)
        result = None
        for action in self._history:
            result = engine.step(action)
        if result is not None and (result.moves, round(100 * result.score)) != (self._moves, self._percent):
            raise EngineError(f"replaying {self._task}/{self._variation} did not reach the recorded state "
                              f"(moves {result.moves} vs {self._moves}, score {round(100 * result.score)} vs "
                              f"{self._percent}); the engine is not deterministic here")

    def _invalid(self, text: str):
        return to_charset(text, OBS_MAX_LENGTH), 0.0, False, False, self._info(invalid=True, exact=self.expert_exact())

    def _info(self, invalid: bool = False, won: bool = False, exact: bool | None = None) -> dict:
        return {
            "task": to_charset(self._description),
            "task_id": f"{self._task}/{self._variation}",
            "valid_actions": list(self._valid),
            "won": won,
            "score": self._score,
            "invalid": invalid,
            "engine_score": self._percent,
            "moves": self._moves,
            "task_name": self._task,
            "variation": self._variation,
            "expert_exact": exact,
        }

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_engine"] = None  # a JVM does not pickle: copies start their own and replay
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self._task is not None:
            self._replay()
