"""Gymnasium text environments for LLM agents, each with an expert oracle.

Importing the package registers every env id (Gymnasium 1.x loads no plugin
entry points)::

    import gymnasium as gym
    import stepagent_envs  # noqa: F401

    env = gym.make("StepShop-v0", split="test")
"""

from gymnasium.envs.registration import register

from .contract import CHARSET, INFO_KEYS, ExpertUnavailable, text_space, to_charset

__all__ = ["CHARSET", "INFO_KEYS", "ExpertUnavailable", "text_space", "to_charset", "ENV_IDS"]

# Every id is registered here, in one place.
register(id="StepShop-v0", entry_point="stepagent_envs.shop.env:StepShopEnv", max_episode_steps=15)
register(id="StepHotpot-v0", entry_point="stepagent_envs.hotpot.env:StepHotpotEnv", max_episode_steps=10)
# No TimeLimit: each MiniGrid level truncates at its own max_steps, which also scales its reward.
register(id="StepGrid-v0", entry_point="stepagent_envs.grid.env:StepGridEnv")
register(id="StepTextWorld-v0", entry_point="stepagent_envs.textworld_env.env:StepTextWorldEnv", max_episode_steps=100)
register(id="StepSciWorld-v0", entry_point="stepagent_envs.sciworld.env:StepSciWorldEnv", max_episode_steps=200)
register(id="StepMath-v0", entry_point="stepagent_envs.math.env:StepMathEnv", max_episode_steps=8)

#: The ids this package registers.
ENV_IDS = ("StepShop-v0", "StepHotpot-v0", "StepGrid-v0", "StepTextWorld-v0", "StepSciWorld-v0", "StepMath-v0")
