"""StepTextWorld-v0's expert wins the test games from reset and after 10 random actions.

Slow (``--run-slow``): it generates NUM_GAMES test games of each kind (medium
difficulty), about 2 s each, then plays each twice. ``-s`` prints the figures.
"""

import random
from collections import Counter

import gymnasium as gym
import pytest

pytest.importorskip("textworld", reason="StepTextWorld-v0 needs the textworld package: pip install 'textworld>=1.7'")

import stepagent_envs  # noqa: E402,F401
from stepagent_envs import ExpertUnavailable  # noqa: E402
from stepagent_envs.textworld_env.presets import GAMES  # noqa: E402

NUM_GAMES = 25
RANDOM_ACTIONS = 10

# Episodes the expert is known not to win, by (task_id, random actions first), with why.
# None are known. The one kind of miss seen (2 of 50 custom-medium games: the parser answered
# "take key from chest" with "Which do you mean, the chest or the fresh laundry scented chest?",
# so no command reached the chest) is fixed at compilation (generate.without_clashing_words).
# Episodes the random actions end (a cooking ingredient eaten or burned, the wrong treasure taken:
# lost; the treasure found: won) are not the expert's and are left out of the rate.
KNOWN_FAILURES: dict[tuple[str, int], str] = {}


def play(env, task_id: str, random_actions: int, rng: random.Random) -> str:
    """Reset to ``task_id``, take ``random_actions`` random admissible commands, then follow the
    expert; returns ``"won"``, why the expert did not win, or how the random actions ended the game."""
    _, info = env.reset(options={"task_id": task_id})
    for _ in range(random_actions):
        _, _, terminated, _, info = env.step(rng.choice(info["valid_actions"]))
        if terminated:
            return "won by the random actions" if info["won"] else "lost by the random actions"
    while True:
        try:
            action = env.unwrapped.expert_action()
        except ExpertUnavailable:
            return "no winning plan"
        obs, _, terminated, truncated, info = env.step(action)
        if info["invalid"]:
            return f"invalid expert action {action!r}: {obs[:200]}"
        if terminated or truncated:
            return "won" if info["won"] else ("lost" if info["lost"] else "truncated")


@pytest.mark.slow
@pytest.mark.parametrize("random_actions, target", [(0, 0.99), (RANDOM_ACTIONS, 0.95)])
def test_the_expert_wins_the_test_games(random_actions, target):
    outcomes, misses = Counter(), {}
    for game in GAMES:
        env = gym.make("StepTextWorld-v0", split="test", game=game, difficulty="medium", num_games=NUM_GAMES)
        env.unwrapped.prepare()
        for index, task_id in enumerate(env.unwrapped.task_ids()):
            outcome = play(env, task_id, random_actions, random.Random(index))
            outcomes[outcome.split(":")[0]] += 1
            if outcome != "won" and "random actions" not in outcome:
                misses[(task_id, random_actions)] = outcome
        env.close()
    played = sum(n for outcome, n in outcomes.items() if "random actions" not in outcome)
    rate = outcomes["won"] / played
    print(f"\nexpert after {random_actions} random actions: won {outcomes['won']} of {played} "
          f"({rate:.1%}); all outcomes {dict(outcomes)}")
    unexplained = {key: why for key, why in misses.items() if key not in KNOWN_FAILURES}
    assert not unexplained, f"misses not in KNOWN_FAILURES: {unexplained}"
    assert rate >= target
