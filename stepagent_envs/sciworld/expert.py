"""The StepSciWorld oracle: the engine's gold path, exact on it, best effort off it.

**On the gold path** (every command the engine ran this episode equals the
gold path's prefix) the expert's action is the gold path's next action, and
the env's ``expert_exact()`` and its steps' ``info["expert_exact"]`` are True.

**Off the path** they are False and the action is a best effort. Gold
actions count as done greedily: each command run is matched to the first gold
action not yet done with the same text. With ``g`` the first gold action not
done:

1. while the engine waits for an ambiguity to be resolved: ``g`` when it is an
   answer (an option number or the blank cancel: the gold path resolves its
   own ambiguity), else ``"0"`` (the engine's first reading);
2. once every gold action is done: ``"wait1"`` (the remaining goals may only
   need time, e.g. water still heating);
3. ``g`` when the engine's parser reads it as exactly one action here;
4. else, when the agent is not where the gold run was before ``g`` and the
   engine parses ``teleport to <that place>`` (the teleport simplification,
   on in ``"easy"``), that teleport;
5. else the first of the next :data:`LOOKAHEAD` gold actions not done that
   parses (skipping ahead);
6. else no plan: :class:`~stepagent_envs.ExpertUnavailable` is raised rather
   than a guess.

Parsing asks the engine's own parser and runs nothing. Measured with
``benchmarks/bench_sciworld.py --expert 60`` (two train variations of each
task: a random prefix of the gold path, 3 random valid actions other than
``focus on``, then the expert): 78% won, 20% ExpertUnavailable (the detour
moved or used up what the gold path needs, or renamed it), 2% step limit,
none lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..contract import ExpertUnavailable

if TYPE_CHECKING:
    from .env import StepSciWorldEnv

#: How many gold actions past the first one not done the off-path expert tries (each parse costs ms).
LOOKAHEAD = 10


def gold_done(gold: tuple[str, ...], history: list[str]) -> list[bool]:
    """Which gold actions count as done after ``history``: each command is matched to the
    first gold action not yet done with the same text."""
    done = [False] * len(gold)
    for command in history:
        for index, action in enumerate(gold):
            if not done[index] and action == command:
                done[index] = True
                break
    return done


def next_action(env: StepSciWorldEnv) -> str:
    """The expert's next action from ``env``'s current state.

    Raises:
        ExpertUnavailable: off the path, no gold action (nor a teleport toward one) is possible here.
    """
    gold = env.gold_path().actions
    history = env._history
    if env.expert_exact():
        return gold[len(history)]
    pending = [index for index, done in enumerate(gold_done(gold, history)) if not done]
    if env._choices:
        answer = gold[pending[0]] if pending else None
        if answer == "" or (answer and answer.isdigit() and int(answer) < env._choices):
            return answer
        return "0"
    if not pending:
        return "wait1"
    engine = env._live_engine()
    first = gold[pending[0]]
    if engine.parses(first):
        return first
    room = env.gold_path().rooms[pending[0]]
    teleport = f"teleport to {room}"
    if room != engine.room() and engine.parses(teleport):
        return teleport
    for index in pending[1 : 1 + LOOKAHEAD]:
        if engine.parses(gold[index]):
            return gold[index]
    raise ExpertUnavailable(f"off the gold path of {env._task}/{env._variation}, none of the next "
                            f"{1 + LOOKAHEAD} gold actions not done ({first!r}, ...) is possible here, "
                            f"nor a teleport to {room!r}")
