"""MiniGrid in words: the action words, the agent's view and what an action did.

Positions are relative to the agent: "2 steps ahead and 1 to the left" is two
cells forward and one cell left of the agent, as it faces now.
"""

from __future__ import annotations

from typing import NamedTuple

from minigrid.core.actions import Actions
from minigrid.core.constants import IDX_TO_COLOR, IDX_TO_OBJECT, OBJECT_TO_IDX, STATE_TO_IDX

#: The action words, indexed by MiniGrid's action numbers.
ACTIONS = ("turn left", "turn right", "go forward", "pick up", "drop", "toggle", "done")
# Plain ints, in Actions' order: IntEnum comparisons would dominate the planner's search.
LEFT, RIGHT, FORWARD, PICKUP, DROP, TOGGLE, DONE = (int(action) for action in Actions)
_ACTION_INDEX = {action: index for index, action in enumerate(ACTIONS)}

#: Compass names of MiniGrid's directions 0..3.
COMPASS = ("east", "south", "west", "north")
_UNSEEN, _EMPTY, _WALL = OBJECT_TO_IDX["unseen"], OBJECT_TO_IDX["empty"], OBJECT_TO_IDX["wall"]
_DOOR_STATES = {index: name for name, index in STATE_TO_IDX.items()}


def parse_action(text: str) -> int | None:
    """MiniGrid's number of the action ``text`` names (case and spacing ignored), or None."""
    return _ACTION_INDEX.get(" ".join(text.lower().split()))


def phrase(kind: str, colour: str, door_state: str = "", article: str = "a") -> str:
    """An object in words: "a yellow key", "the locked yellow door", "lava"."""
    if kind == "lava":
        return "lava"
    if kind == "goal":
        return f"the {colour} goal square"
    words = {"wall": "wall", "floor": f"{colour} floor tile", "door": f"{door_state} {colour} door"}.get(
        kind, f"{colour} {kind}")
    if article == "a" and words[0] in "aeiou":
        article = "an"
    return f"{article} {words}"


def object_phrase(obj, article: str = "a") -> str:
    """``phrase`` of a minigrid WorldObj."""
    state = ""
    if obj.type == "door":
        state = "open" if obj.is_open else "locked" if obj.is_locked else "closed"
    return phrase(obj.type, obj.color, state, article)


def _steps(count: int) -> str:
    return f"{count} step" if count == 1 else f"{count} steps"


def where(ahead: int, right: int) -> str:
    """A cell's position relative to the agent: "2 steps ahead and 1 to the left"."""
    side = "right" if right > 0 else "left"
    if not right:
        return f"{_steps(ahead)} ahead"
    if not ahead:
        return f"{_steps(abs(right))} to the {side}"
    return f"{_steps(ahead)} ahead and {abs(right)} to the {side}"


def view_lines(image) -> tuple[list[str], str]:
    """What the agent sees in MiniGrid's encoded view ``image`` (the observation's
    ``"image"``: occluded cells unseen, the agent at the bottom middle facing up).

    Returns the visible objects, nearest first, and the cell in front of the
    agent in words. Walls are listed only where they are nearest straight
    ahead, to the left and to the right, so a room's outline does not drown
    the objects.
    """
    cells = image.tolist()  # cells[x][y]: plain ints are far faster to read than numpy scalars
    size = len(cells)
    mid, back = size // 2, size - 1
    walls = set()
    for line in ([(mid, y) for y in range(back - 1, -1, -1)], [(x, back) for x in range(mid - 1, -1, -1)],
                 [(x, back) for x in range(mid + 1, size)]):
        for x, y in line:
            kind = cells[x][y][0]
            if kind == _WALL:
                walls.add((x, y))
            if kind in (_WALL, _UNSEEN):
                break
    seen = []
    for x in range(size):
        for y in range(size):
            kind, colour, state = cells[x][y]
            if kind in (_UNSEEN, _EMPTY) or (x == mid and y == back) or (kind == _WALL and (x, y) not in walls):
                continue
            ahead, right = back - y, x - mid
            words = phrase(IDX_TO_OBJECT[kind], IDX_TO_COLOR[colour], _DOOR_STATES.get(state, ""))
            seen.append((ahead + abs(right), ahead, right, f"{words} {where(ahead, right)}"))
    kind, colour, state = cells[mid][back - 1]
    front = "nothing" if kind == _EMPTY else phrase(IDX_TO_OBJECT[kind], IDX_TO_COLOR[colour],
                                                     _DOOR_STATES.get(state, ""))
    return [line for *_, line in sorted(seen)], front


def describe(mission: str, direction: int, image, carrying) -> str:
    """The observation text: the mission, the agent's heading, its view and what it carries."""
    seen, front = view_lines(image)
    lines = [f"Mission: {mission}", f"You face {COMPASS[direction]}."]
    lines += ["You see:", *(f"- {line}" for line in seen)] if seen else ["You see only empty floor."]
    lines.append(f"In front of you: {front}.")
    lines.append("You carry nothing." if carrying is None else f"You carry {object_phrase(carrying)}.")
    return "\n".join(lines)


class Before(NamedTuple):
    """What an action may change, taken just before it (see :func:`outcome`)."""

    front: object  #: the minigrid object in front of the agent, or None
    front_words: str  #: it in words ("a locked yellow door"), as a door's state may change
    front_locked: bool  #: whether it was a locked door
    carrying: object  #: what the agent carried, or None


def before(engine) -> Before:
    """``engine``'s :class:`Before` now."""
    front = engine.grid.get(*engine.front_pos)
    if front is None:
        return Before(None, "nothing", False, engine.carrying)
    return Before(front, object_phrase(front), front.type == "door" and front.is_locked, engine.carrying)


def outcome(action: int, was: Before, engine) -> str:
    """What ``action`` did, in words, given :func:`before` it (``was``) and ``engine`` after it."""
    front, carrying = was.front, engine.carrying
    if action == LEFT:
        return "You turned left."
    if action == RIGHT:
        return "You turned right."
    if action == FORWARD:
        if front is None or front.can_overlap():
            return "You stepped into lava." if front is not None and front.type == "lava" else "You moved forward."
        return f"You cannot go forward: {was.front_words} is in the way."
    if action == PICKUP:
        if was.carrying is None and carrying is not None:
            return f"You picked up {object_phrase(carrying, 'the')}."
        if front is None:
            return "There is nothing to pick up in front of you."
        if front.can_pickup():
            return f"You cannot pick up {was.front_words}: you already carry {object_phrase(was.carrying)}."
        return f"You cannot pick up {was.front_words}."
    if action == DROP:
        if was.carrying is None:
            return "You carry nothing to drop."
        if carrying is None:
            return f"You dropped {object_phrase(was.carrying, 'the')}."
        return f"You cannot drop {object_phrase(was.carrying, 'the')} here: {was.front_words} is in front of you."
    if action == TOGGLE:
        if front is None:
            return "There is nothing to toggle in front of you."
        if front.type == "door":
            if was.front_locked:
                if front.is_open:
                    return f"You unlocked the {front.color} door with your key and opened it."
                return f"The {front.color} door is locked: you need to carry a {front.color} key to open it."
            return f"You {'opened' if front.is_open else 'closed'} the {front.color} door."
        if front.type == "box":
            inside = "it was empty" if front.contains is None else f"it held {object_phrase(front.contains)}"
            return f"You opened the {front.color} box: {inside}."
        return f"Toggling {was.front_words} does nothing."
    return "Nothing happens."
