"""Stages a trainer may run before its own: expert demonstrations collected, and SFT on them.

StepAgent (and any algorithm that starts from an SFT policy) calls these when
no demonstrations file or starting model is given, so one command runs the
whole pipeline; both are idempotent, so a resumed run reuses what exists.
"""

from __future__ import annotations

import os

from wrappers import read_trajectories

__all__ = ["collect_demos", "sft_stage"]


def collect_demos(env_id: str, env_kwargs: dict, episodes: int, seed: int, path: str, show_progress: bool = True) -> str:
    """``episodes`` oracle episodes of the env's train split in ``path`` (JSON Lines); kept when
    ``path`` already holds that many (the same seed made the same demos)."""
    import gymnasium as gym

    import stepagent_envs  # noqa: F401  (registers the env ids)

    from .collect import collect_expert

    if os.path.exists(path) and len(read_trajectories(path)) >= episodes:
        return path
    if os.path.exists(path):
        os.remove(path)
    env = gym.make(env_id, split="train", **env_kwargs)
    collect_expert(env, path, episodes, seed=seed, show_progress=show_progress)
    env.close()
    return path


def sft_stage(train_file: str, output_dir: str, settings: dict, offline_config=None, show_progress: bool = True) -> str:
    """SFT on ``train_file`` into ``output_dir`` (resumed when the folder exists); returns the last checkpoint.

    Args:
        train_file: The demonstrations.
        output_dir: The SFT run folder.
        settings: :class:`~stepagent_train.sft.SFTConfig` fields (``max_steps`` is also the save interval).
        offline_config: Sizes of the offline model, built when ``settings["model"]`` is ``tiny``.
        show_progress: Show progress bars.
    """
    from .sft import SFTConfig, train_sft

    config = SFTConfig(train_file=train_file, output_dir=output_dir, save_every=settings["max_steps"],
                       resume=os.path.isdir(output_dir), **settings)
    return train_sft(config, offline_config, show_progress=show_progress)
