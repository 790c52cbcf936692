"""StepTextWorld: generated TextWorld text games (``textworld`` package) with textworld's exact expert.

The subpackage is not named ``textworld``, so that it never stands in for the real package.
"""

from .env import ExpertUnavailable, StepTextWorldEnv

__all__ = ["ExpertUnavailable", "StepTextWorldEnv"]
