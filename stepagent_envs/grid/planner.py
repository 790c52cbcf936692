"""Shortest plans for MiniGrid's goal levels (DoorKey, LavaGap, LavaCrossing) and for
LLM4Teach's door levels, whose goal is a door opened (``engine.goal_is_open_door``).

The planner searches the full grid, not the agent's view: breadth-first over
exact MiniGrid states (agent cell and direction, what it carries, where every
key, ball and box lies, every door's state), with MiniGrid's own rules for the
six actions that change anything (turn left, turn right, go forward, pick up,
drop, toggle). Every action costs one step, turns included, and a step into
lava is never taken. The search therefore finds a shortest plan from *any*
state the agent has reached: a dropped key, a door closed again, or a key
left in the only corridor are all planned around exactly.

Ties between shortest plans are broken by action order (MiniGrid's numbering),
so the plan is the lexicographically first shortest one. Its suffix from any
state on it is then the plan a fresh search from that state would return,
which is why :func:`shortest_plan`'s states can be cached as a policy: the
next action is a pure function of the state, whoever asked before.

Not modelled: toggling a box (it opens into its contents); no goal level needs it.
"""

from __future__ import annotations

from collections import deque

from .text import DROP, FORWARD, LEFT, PICKUP, RIGHT, TOGGLE

#: The actions searched, in tie-break order; ``done`` never changes a MiniGrid state.
_SEARCHED = (LEFT, RIGHT, FORWARD, PICKUP, DROP, TOGGLE)
_FREE, _WALL, _LAVA, _GOAL = range(4)
_STATIC = {"wall": _WALL, "lava": _LAVA, "goal": _GOAL, "floor": _FREE}
_ITEMS = frozenset({"key", "ball", "box"})
_OPEN, _CLOSED, _LOCKED = range(3)

#: (agent cell, direction, carried (type, colour) or None, ((cell, (type, colour)), ...) sorted, door states)
State = tuple


class Layout:
    """What never moves in an episode: walls, lava, goals, and where the doors are."""

    def __init__(self, width: int, kinds: list[int], doors: dict[int, tuple[int, str]], open_door_wins: bool = False):
        self.kinds = kinds  #: static kind of every cell, row-major
        self.doors = doors  #: cell -> (index into the state's door states, colour)
        self.open_door_wins = open_door_wins  #: the mission is to open a door (LLM4Teach's levels)
        # Cell offsets of MiniGrid's directions 0..3: east, south, west, north.
        self.step = (1, width, -1, -width)


def scan(engine) -> tuple[Layout, State]:
    """The static layout of ``engine``'s grid and its current state."""
    grid, width = engine.grid, engine.grid.width
    kinds, doors, door_states, items = [], {}, [], []
    for cell, obj in enumerate(grid.grid):
        kind = _FREE
        if obj is not None:
            if obj.type == "door":
                doors[cell] = (len(door_states), obj.color)
                door_states.append(_OPEN if obj.is_open else _LOCKED if obj.is_locked else _CLOSED)
            elif obj.type in _ITEMS:
                items.append((cell, (obj.type, obj.color)))
            else:
                kind = _STATIC.get(obj.type, _WALL)
        kinds.append(kind)
    # Items come in cell order, as the planner keeps them: one situation, one state.
    carried = engine.carrying
    x, y = engine.agent_pos
    state = (int(y) * width + int(x), int(engine.agent_dir),
             None if carried is None else (carried.type, carried.color), tuple(items), tuple(door_states))
    return Layout(width, kinds, doors, getattr(engine, "goal_is_open_door", False)), state


def _item_at(items: tuple, cell: int):
    for index, (where, label) in enumerate(items):
        if where == cell:
            return index, label
    return None


def _next(layout: Layout, state: State, action: int) -> State | bool | None:
    """The state after ``action``; True when it reaches a goal (or, where opening a
    door wins, opens one), None when it changes nothing or steps into lava."""
    cell, direction, carried, items, doors = state
    if action == LEFT:
        return cell, (direction - 1) % 4, carried, items, doors
    if action == RIGHT:
        return cell, (direction + 1) % 4, carried, items, doors
    front = cell + layout.step[direction]
    kind, door = layout.kinds[front], layout.doors.get(front)
    if action == FORWARD:
        if kind == _WALL or kind == _LAVA or (door is not None and doors[door[0]] != _OPEN):
            return None
        if kind == _GOAL:
            return True
        if _item_at(items, front) is not None:
            return None
        return front, direction, carried, items, doors
    if action == PICKUP:
        found = _item_at(items, front) if carried is None else None
        if found is None:
            return None
        return cell, direction, found[1], items[: found[0]] + items[found[0] + 1:], doors
    if action == DROP:
        # MiniGrid drops only into an empty cell: no goal, lava, door or item.
        if carried is None or kind != _FREE or door is not None or _item_at(items, front) is not None:
            return None
        return cell, direction, None, tuple(sorted(items + ((front, carried),))), doors
    if action == TOGGLE and door is not None:
        index, colour = door
        now = doors[index]
        if now == _LOCKED:
            if carried != ("key", colour):
                return None
            now = _OPEN
        else:
            now = _CLOSED if now == _OPEN else _OPEN
        if now == _OPEN and layout.open_door_wins:
            return True
        return cell, direction, carried, items, doors[:index] + (now,) + doors[index + 1:]
    return None


def shortest_plan(engine) -> list[tuple[State, int]] | None:
    """The lexicographically first shortest plan to a goal from ``engine``'s
    current state, as (state, action) pairs; None when no goal is reachable."""
    layout, start = scan(engine)
    parents: dict[State, tuple[State, int] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for action in _SEARCHED:
            after = _next(layout, state, action)
            if after is True:
                plan = [(state, action)]
                while parents[state] is not None:
                    state, action = parents[state]
                    plan.append((state, action))
                return plan[::-1]
            if after is not None and after not in parents:
                parents[after] = (state, action)
                queue.append(after)
    return None


def state_key(engine) -> State:
    """``engine``'s current state as the planner's states spell it."""
    return scan(engine)[1]
