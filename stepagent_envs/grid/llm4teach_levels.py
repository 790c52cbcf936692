"""LLM4Teach's four MiniGrid tasks, written on minigrid's API: SimpleDoorKey, LavaDoorKey,
ColoredDoorKey and TwoDoor.

The rules are those of the LLM4Teach authors' environments (Zhou et al., arXiv
2311.13373; their code's ``env/`` folder), re-implemented here:

* one walled room whose width and height are drawn from 5..10 (TwoDoor: 20x20)
  in the top-left corner of a 10x10 grid (TwoDoor: 20x20); the agent starts on
  a random free cell facing a random direction;
* a locked exit door on a random wall of the room (TwoDoor: two doors of one
  colour, on the left and right walls or on the top and bottom ones);
* the mission is "open the door": the episode is won, with minigrid's
  step-discounted reward, when a toggle opens a door (the key must match its
  colour), so the goal is the door, not a goal square;
* SimpleDoorKey: one key of the door's (random) colour anywhere in the room;
  LavaDoorKey: the same plus one lava cell, never the cell inside the door;
  ColoredDoorKey: a blue door, its blue key and 1-2 red keys that open nothing,
  no key inside the door; TwoDoor: the key in the 2x2 cells around the centre;
* the step limit is the grid's area (100; TwoDoor 400).

Not carried over: the authors' agents also see a memory of past views
(``HistoricalObsEnv``); StepGrid-v0 shows the current view, as on every level.
"""

from __future__ import annotations

import gymnasium as gym
from minigrid.core.constants import COLOR_NAMES
from minigrid.core.grid import Grid
from minigrid.core.mission import MissionSpace
from minigrid.core.world_object import Door, Key, Lava
from minigrid.minigrid_env import MiniGridEnv

#: The level names (registered as ``<name>-v0``), in the authors' order.
LLM4TEACH_LEVELS = ("LLM4Teach-SimpleDoorKey", "LLM4Teach-LavaDoorKey", "LLM4Teach-ColoredDoorKey",
                    "LLM4Teach-TwoDoor")
MISSION = "open the door"


class _DoorRoom(MiniGridEnv):
    """A walled room with locked exit doors; won when a toggle opens one."""

    #: Read by the planner: the goal is an opened door, not a goal square.
    goal_is_open_door = True

    def __init__(self, min_size: int = 5, max_size: int = 10, max_steps: int | None = None, **kwargs):
        self.min_size, self.max_size = min_size, max_size
        super().__init__(mission_space=MissionSpace(mission_func=lambda: MISSION), width=max_size, height=max_size,
                         agent_view_size=7, max_steps=max_size**2 if max_steps is None else max_steps, **kwargs)

    def _room(self) -> tuple[int, int]:
        width = self._rand_int(self.min_size, self.max_size + 1)
        height = self._rand_int(self.min_size, self.max_size + 1)
        self.grid = Grid(self.max_size, self.max_size)
        self.grid.wall_rect(0, 0, width, height)
        self.mission = MISSION
        return width, height

    def _door_on_a_wall(self, width: int, height: int, color: str) -> tuple[int, int]:
        """A locked door of ``color`` on a random wall; returns the cell just inside it."""
        wall = self._rand_int(0, 4)  # right, bottom, left, top
        along = self._rand_int(1, (height if wall in (0, 2) else width) - 1)
        door, inside = {0: ((width - 1, along), (width - 2, along)), 1: ((along, height - 1), (along, height - 2)),
                        2: ((0, along), (1, along)), 3: ((along, 0), (along, 1))}[wall]
        self.doors = [Door(color, is_locked=True)]
        self.grid.set(*door, self.doors[0])
        return inside

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        if action == self.actions.toggle and any(door.is_open for door in self.doors):
            reward, terminated = self._reward(), True
        return obs, reward, terminated, truncated, info


class SimpleDoorKeyEnv(_DoorRoom):
    """Find the key, open the locked door."""

    def _gen_grid(self, width, height):
        width, height = self._room()
        color = self._rand_elem(COLOR_NAMES)
        self._door_on_a_wall(width, height, color)
        self.place_agent((0, 0), (width, height))
        self.place_obj(Key(color), (0, 0), (width, height))


class LavaDoorKeyEnv(_DoorRoom):
    """SimpleDoorKey with one lava cell (never inside the door)."""

    def _gen_grid(self, width, height):
        width, height = self._room()
        color = self._rand_elem(COLOR_NAMES)
        inside = self._door_on_a_wall(width, height, color)
        self.place_agent((0, 0), (width, height))
        self.place_obj(Key(color), (0, 0), (width, height))
        self.place_obj(Lava(), (0, 0), (width, height), reject_fn=lambda env, pos: tuple(pos) == inside)


class ColoredDoorKeyEnv(_DoorRoom):
    """A blue door, its blue key and 1-2 red keys that do not open it."""

    def __init__(self, min_keys: int = 2, max_keys: int = 3, **kwargs):
        self.min_keys, self.max_keys = min_keys, max_keys
        super().__init__(**kwargs)

    def _gen_grid(self, width, height):
        width, height = self._room()
        inside = self._door_on_a_wall(width, height, "blue")
        self.place_agent((0, 0), (width, height))
        keys = self._rand_int(self.min_keys, self.max_keys + 1)
        for color in ["blue"] + ["red"] * (keys - 1):
            self.place_obj(Key(color), (0, 0), (width, height), reject_fn=lambda env, pos: tuple(pos) == inside)


class TwoDoorEnv(_DoorRoom):
    """A 20x20 room with two locked doors on opposite walls and the key near the centre."""

    def __init__(self, **kwargs):
        super().__init__(min_size=20, max_size=20, **kwargs)

    def _gen_grid(self, width, height):
        width, height = self._room()
        color = self._rand_elem(COLOR_NAMES)
        if self._rand_int(0, 2) == 0:  # left and right walls
            cells = [(width - 1, self._rand_int(1, height - 1)), (0, self._rand_int(1, height - 1))]
        else:  # top and bottom walls
            cells = [(self._rand_int(1, width - 1), height - 1), (self._rand_int(1, width - 1), 0)]
        self.doors = [Door(color, is_locked=True), Door(color, is_locked=True)]
        for door, cell in zip(self.doors, cells):
            self.grid.set(*cell, door)
        self.place_obj(Key(color), (width // 2 - 1, height // 2 - 1), (2, 2))
        self.place_agent((0, 0), (width, height))


for _name, _cls in zip(LLM4TEACH_LEVELS, (SimpleDoorKeyEnv, LavaDoorKeyEnv, ColoredDoorKeyEnv, TwoDoorEnv)):
    if f"{_name}-v0" not in gym.registry:
        gym.register(f"{_name}-v0", entry_point=_cls)
