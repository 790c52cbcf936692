"""StepHotpot: multi-hop question answering (HotpotQA) with search, lookup and finish tools, with an expert oracle."""

from .env import StepHotpotEnv

__all__ = ["StepHotpotEnv"]
