"""StepSciWorld: the real ScienceWorld engine (``scienceworld``, Java) as a fast text env with an expert oracle."""

from .engine import EngineDiedError, EngineError, EngineUnavailableError
from .env import StepSciWorldEnv

__all__ = ["EngineDiedError", "EngineError", "EngineUnavailableError", "StepSciWorldEnv"]
