"""StepGrid: MiniGrid and BabyAI levels in words (the ``minigrid`` package), with an exact expert."""

try:
    import minigrid  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the installation
    raise ImportError("StepGrid-v0 needs the minigrid package (MiniGrid and BabyAI levels); install it with "
                      "`pip install minigrid`") from error

from .env import ExpertUnavailable, StepGridEnv  # noqa: E402

__all__ = ["ExpertUnavailable", "StepGridEnv"]
