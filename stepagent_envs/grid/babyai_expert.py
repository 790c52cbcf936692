"""minigrid's BabyAIBot as StepGrid's expert on BabyAI levels, kept in step with the agent.

The bot is a planner over a stack of subgoals that maps the level as it sees
it, so it must watch every state of the episode. Its advising mode (for "a
suboptimal agent, e.g. ... an oracle in algorithms like DAGGER", in its
docstring; minigrid's own bot test drives it the same way) is: call
``bot.replan()`` once at the start, then after every env step
``bot.replan(action_taken)`` with the action the agent really took. The bot
then marks what it sees from the new state, and the subgoal on top of its
stack reacts to the action: a forward, turn, pick up, drop or toggle that
differs from its advice makes it plan to undo or route around it (drop what
was picked up, close a door that was opened, ...). ``replan`` must be called
exactly once per step: a second call at the same state reads as "the advice
was taken".

Rebuilding a bot from the current state instead loses what it has seen and
what it has planned, and it breaks on states it did not cause: a fresh bot
asserts it carries nothing before it picks up its target, so an agent
holding anything defeats it. Measured on the first 1,000 test tasks after 10
random actions, a fresh bot fails 110 of 972 PickupLoc, 26 of 1,000
UnlockPickup and 4 of 1,000 KeyCorridorS3R3 episodes that way; the
synchronised bot's only misses there are the boxes opened by the agent
listed in tests/test_grid_expert.py's KNOWN_FAILURES.

:class:`BotAdvisor` therefore feeds the bot every action, once. The env asks
it lazily: when the bot has seen every action but the last, it observes that
one on the live engine; when it has missed more (or was never asked), the
episode is replayed from its seed on a fresh engine with the bot watching,
which by MiniGrid's determinism reaches the very same state.
"""

from __future__ import annotations

from minigrid.envs.babyai.core.verifier import AfterInstr, AndInstr, BeforeInstr, PickupInstr, PutNextInstr
from minigrid.utils.baby_ai_bot import BabyAIBot

from .text import TOGGLE


class BotAdvisor:
    """A BabyAIBot on ``engine`` (a BabyAI level just reset), its latest advice and how many actions it has seen."""

    def __init__(self, engine):
        self.engine = engine
        self.bot = BabyAIBot(engine)
        self.seen = 0  #: actions of the episode the bot has observed
        self.advice = int(self.bot.replan())  #: MiniGrid's number of the advised action

    @classmethod
    def replay(cls, engine, actions: list[int]) -> "BotAdvisor":
        """An advisor that watched ``actions`` taken on ``engine``, a BabyAI level just reset."""
        advisor = cls(engine)
        for action in actions:
            engine.step(action)
            advisor.observe(action)
        return advisor

    def observe(self, action: int) -> None:
        """Tell the bot the agent took ``action`` (already applied to the engine) and replan."""
        bot = self.bot
        if action == TOGGLE and bot.prev_fwd_cell is not None and bot.prev_fwd_cell.type == "box":
            # The bot gives up as soon as any box is toggled open (DisappearedBoxError, "a tad
            # conservative" in its own words): it reads the box from prev_fwd_cell and nothing
            # else does, so clearing it lets the bot plan on. Missions whose every target box is
            # gone are caught beforehand by vanished_targets().
            bot.prev_fwd_cell = None
        self.advice = int(bot.replan(action))
        self.seen += 1


def vanished_targets(engine) -> list[str]:
    """The objects the mission must pick up of which none is left anywhere: a
    box the agent toggled open is replaced by its contents for good."""
    missing, pending = [], [engine.instrs]
    while pending:
        instr = pending.pop()
        if isinstance(instr, (BeforeInstr, AfterInstr, AndInstr)):
            pending += [instr.instr_a, instr.instr_b]
            continue
        desc = instr.desc if isinstance(instr, PickupInstr) else instr.desc_move if isinstance(
            instr, PutNextInstr) else None
        if desc is not None and not any(_present(engine, obj) for obj in desc.obj_set):
            missing.append(" ".join(word for word in (desc.color, desc.type or "object") if word))
    return missing


def _present(engine, obj) -> bool:
    # A carried object's cur_pos is (-1, -1), so carrying is checked first.
    return obj is engine.carrying or (obj.cur_pos is not None and engine.grid.get(*obj.cur_pos) is obj)
