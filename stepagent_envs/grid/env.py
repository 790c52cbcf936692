"""StepGrid-v0: MiniGrid and BabyAI levels in words, with an exact expert."""

from __future__ import annotations


from ..contract import ExpertUnavailable, TextEnv, text_space, to_charset
from .babyai_expert import BotAdvisor, vanished_targets
from .levels import (MINIGRID_LEVELS, SPLITS, check_level, make_engine, parse_task_id, reset_engine,
                     task_id)
from .planner import shortest_plan, state_key
from .text import ACTIONS, DONE, before, describe, outcome, parse_action

OBS_MAX_LENGTH = 4096
ACTION_MAX_LENGTH = 64
USAGE = f"use one of: {', '.join(ACTIONS)}"


class StepGridEnv(TextEnv):
    """MiniGrid and BabyAI (Chevalier-Boisvert et al., 2018, 2019) in words: the
    door-and-key, lava and instruction worlds of LLM4Teach (Zhou et al., 2023),
    over the real ``minigrid`` engine.

    ## Description
    Each episode is one layout of ``level``, a registered minigrid id without
    its ``-v0``: MiniGrid's DoorKey-5x5, -6x6, -8x8 (pick up the key, unlock
    the door, reach the goal), LavaGapS5, S6, S7 and LavaCrossingS9N1 (reach
    the goal without touching lava), and BabyAI's GoToObj, GoToLocal,
    PickupLoc, UnlockPickup and KeyCorridorS3R3 (follow the mission text).
    ``reset`` draws the layout's seed from the split's seed range with
    ``self.np_random``; ``options={"task_id": "MiniGrid-DoorKey-5x5/17"}``
    replays one. The agent sees MiniGrid's partial view (7 x 7 cells, itself
    at the middle of the near edge; walls and closed doors hide what lies
    behind them), in words.

    ## Action Space
    ``Text`` (printable ASCII, at most 64 characters), one of ``turn left``,
    ``turn right``, ``go forward``, ``pick up``, ``drop``, ``toggle`` (open,
    close or unlock the door in front, open the box in front) and ``done``
    (does nothing, as in MiniGrid), case and spacing ignored. Any other text
    is invalid: it is not passed to MiniGrid and takes no step.

    ## Observation Space
    ``Text`` (printable ASCII, at most 4,096 characters). After a step, a line
    saying what the action did ("You picked up the yellow key.", "You cannot
    go forward: a wall is in the way."), then the mission, the agent's heading
    (east, south, west or north), every object it sees with its colour, its
    state (open, closed or locked doors) and its position relative to the
    agent ("a yellow key 2 steps ahead and 1 to the left"), the nearest wall
    straight ahead, left and right, what is in front of it and what it
    carries. Reset also lists the actions. Invalid actions get
    ``"Invalid action: <why>; use one of: ..."`` and the unchanged view.

    ## Rewards
    MiniGrid's own: ``1 - 0.9 * step_count / max_steps`` on success, 0
    otherwise (stepping into lava, a failed BabyAI mission, running out of
    steps). It is in [0, 1].

    ## Episode End
    Terminates on success, in lava, or when a BabyAI mission fails.
    Truncates at the level's own step limit (MiniGrid's ``max_steps``: for
    instance 250 on DoorKey-5x5, 64 on GoToLocal), or ``max_steps`` when given.

    ## Information
    ``task`` (the mission), ``task_id`` (``"<level>/<seed>"``),
    ``valid_actions`` (the seven action words), ``won`` (the mission
    succeeded), ``lost`` (the episode terminated without success: lava, a
    failed mission), ``score`` (the episode's reward so far: the success
    reward once won, else 0), ``invalid``, ``level``.

    ## Arguments
    * ``level``: one of :data:`~.levels.LEVELS` (default
      ``"MiniGrid-DoorKey-5x5"``).
    * ``split``: ``"train"``, ``"dev"`` or ``"test"``: layout seeds
      2,000-101,999, 1,000-1,999 and 0-999 (disjoint, the same for every
      level; v0's task lists). Small levels have fewer distinct layouts than
      seeds (DoorKey-5x5 has 48, LavaGapS5 3, DoorKey-8x8 thousands), so a
      layout recurs across splits; its seed does not.
    * ``max_steps``: the episode's step limit, replacing the level's own
      (it also scales the success reward, as in MiniGrid); None keeps it.
    * ``render_mode``: ``None`` or ``"ansi"`` (the last observation).

    ``engine`` is the live minigrid env, for readers of MiniGrid's own
    observations (a symbolic student beside a text teacher, as in LLM4Teach).

    The oracle ``expert_action()`` is exact on MiniGrid levels: a shortest
    plan over the full grid from the current state (see :mod:`.planner`). On
    BabyAI levels it is minigrid's BabyAIBot, which explores what it has not
    seen, kept in step with every action the agent took (see
    :mod:`.babyai_expert`). It raises :class:`ExpertUnavailable` where no plan
    exists: a BabyAI mission whose target box the agent opened (destroying
    it), or a state the bot cannot plan from.
    """


    def __init__(self, level: str = "MiniGrid-DoorKey-5x5", split: str = "train", max_steps: int | None = None,
                 render_mode: str | None = None):
        level = check_level(level)
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int)
                                      or max_steps < 1):
            raise ValueError(f"max_steps must be a positive int or None (the level's own limit), got {max_steps!r}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"unknown render_mode {render_mode!r}; expected None or 'ansi'")
        self.level, self.split, self.max_steps, self.render_mode = level, split, max_steps, render_mode
        self.observation_space = text_space(OBS_MAX_LENGTH)
        self.action_space = text_space(ACTION_MAX_LENGTH)
        self._engine = make_engine(level, max_steps)
        self._seed: int | None = None  # the layout's seed; None before the first reset
        self._actions: list[int] = []  # MiniGrid's numbers of the actions taken, for the bot's replays
        self._policy: dict = {}  # planner state -> action, along the shortest plans found so far
        self._advisor: BotAdvisor | None = None
        self._view = self._obs = ""
        self._ended = self._won = self._lost = False
        self._score = 0.0

    # -- gymnasium API -------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        task = (options or {}).get("task_id")
        seeds = SPLITS[self.split]
        if task is None:
            self._seed = seeds[int(self.np_random.integers(len(seeds)))]
        else:
            level, layout_seed = parse_task_id(task)
            if level != self.level:
                raise ValueError(f"task_id {task!r} is a {level} task; make the env with level={level!r}")
            if layout_seed not in seeds:
                raise ValueError(f"task_id {task!r} is not in split {self.split!r} (seeds {seeds.start}-"
                                 f"{seeds.stop - 1}); make the env with the split that holds it")
            self._seed = layout_seed
        image = reset_engine(self._engine, self._seed)["image"]
        self._actions, self._policy, self._advisor = [], {}, None
        self._ended = self._won = self._lost = False
        self._score = 0.0
        self._view = self._describe(image)
        self._obs = to_charset(f"Actions: {', '.join(ACTIONS)}.\n{self._view}", OBS_MAX_LENGTH)
        return self._obs, self._info()

    def step(self, action: str):
        if self._seed is None:
            raise RuntimeError("call reset() before step()")
        if self._ended:
            raise RuntimeError("the episode has ended; call reset()")
        if not isinstance(action, str):
            return self._invalid(f"actions are strings, got {type(action).__name__} {action!r}")
        index = parse_action(action)
        if index is None:
            return self._invalid(f"{to_charset(action)[:40]!r} is not an action")
        engine = self._engine
        was = before(engine)
        obs, reward, terminated, truncated, _ = engine.step(index)
        self._actions.append(index)
        reward = float(reward)
        self._won = bool(terminated and reward > 0)
        self._lost = bool(terminated and not self._won)
        self._score = reward if self._won else 0.0
        self._ended = bool(terminated or truncated)
        lines = [outcome(index, was, engine)]
        if self._won:
            lines.append("You completed the mission.")
        elif self._lost:
            lines.append("The episode is lost.")
        elif truncated:
            lines.append(f"You ran out of steps ({engine.max_steps}).")
        self._view = self._describe(obs["image"])
        self._obs = to_charset(" ".join(lines) + "\n" + self._view, OBS_MAX_LENGTH)
        return self._obs, reward, bool(terminated), bool(truncated), self._info()

    def task_ids(self) -> list[str]:
        """The ids of every task of the split, in seed order (for ``reset(options={"task_id": ...})``)."""
        return [task_id(self.level, seed) for seed in SPLITS[self.split]]

    @property
    def engine(self):
        """The live minigrid env (read it, for instance its ``gen_obs()`` for a symbolic
        student; step only through this env, which may swap it for an identical copy)."""
        return self._engine

    # -- expert --------------------------------------------------------
    def expert_action(self) -> str:
        """The expert's next action from the current state; the env does not move.

        Raises:
            ExpertUnavailable: No plan exists from this state (see the class docstring).
            RuntimeError: No episode is running (before reset or after its end).
        """
        if self._seed is None or self._ended:
            raise RuntimeError("no expert action: call reset() first (the episode has not started or has ended)")
        if self.level in MINIGRID_LEVELS:
            return ACTIONS[self._planned_action()]
        return ACTIONS[self._advised_action()]

    def _planned_action(self) -> int:
        key = state_key(self._engine)
        if key not in self._policy:
            plan = shortest_plan(self._engine)
            if plan is None:
                raise ExpertUnavailable(f"{self.level}: no goal is reachable from this state without lava")
            self._policy.update(plan)
        return self._policy[key]

    def _advised_action(self) -> int:
        missing = vanished_targets(self._engine)
        if missing:
            raise ExpertUnavailable(f"the mission {self._engine.mission!r} cannot be completed any more: no "
                                    f"{' or '.join(missing)} is left (a box toggled open is gone for good)")
        advisor, taken = self._advisor, self._actions
        try:
            if advisor is None and not taken:
                advisor = BotAdvisor(self._engine)
            elif advisor is None or advisor.seen < len(taken) - 1:
                # The bot missed some states: replay the episode with it watching, on a fresh
                # engine that ends in the very same state, and carry on with that engine.
                engine = make_engine(self.level, self.max_steps)
                reset_engine(engine, self._seed)
                advisor = BotAdvisor.replay(engine, taken)
                self._engine = engine
            elif advisor.seen < len(taken):
                advisor.observe(taken[-1])
        except Exception as error:
            # The bot signals states it cannot plan from with assertions and its own errors.
            self._advisor = None
            why = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            raise ExpertUnavailable(f"minigrid's BabyAIBot cannot plan from this state of {self.level} ({why})"
                                    ) from error
        self._advisor = advisor
        if advisor.advice == DONE:
            raise ExpertUnavailable(f"minigrid's BabyAIBot believes the mission {self._engine.mission!r} is "
                                    "complete, but the episode goes on: it has no plan from here")
        return advisor.advice

    # -- helpers -------------------------------------------------------
    def _describe(self, image) -> str:
        engine = self._engine
        return describe(engine.mission, int(engine.agent_dir), image, engine.carrying)

    def _invalid(self, why: str):
        obs = to_charset(f"Invalid action: {why}; {USAGE}.\n{self._view}", OBS_MAX_LENGTH)
        return obs, 0.0, False, False, self._info(invalid=True)

    def _info(self, invalid: bool = False) -> dict:
        return {
            "task": to_charset(self._engine.mission),
            "task_id": task_id(self.level, self._seed),
            "valid_actions": list(ACTIONS),
            "won": self._won,
            "lost": self._lost,
            "score": self._score,
            "invalid": invalid,
            "level": self.level,
        }
