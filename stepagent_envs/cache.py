"""Where generated data is cached: ``$STEPAGENT_CACHE``, default ``~/.cache/stepagent``.

One helper shared by every env family (and the trainer's default model), so no
family reaches into another's modules for it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root"]


def cache_root() -> Path:
    """The folder for generated catalogues, search indexes, games and converted models."""
    return Path(os.environ.get("STEPAGENT_CACHE") or Path.home() / ".cache" / "stepagent")
