"""Stages a trainer may run before its own: expert demonstrations collected, and SFT on them.

StepAgent (and any algorithm that starts from an SFT policy) calls these when
no demonstrations file or starting model is given, so one command runs the
whole pipeline; both are idempotent, so a resumed run reuses what exists.
"""

from __future__ import annotations

import os

from wrappers import read_trajectories

__all__ = ["collect_demos", "demo_records", "draw_sites", "sft_stage"]


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


def demo_records(config, show_progress: bool = True) -> tuple[str, list[dict]]:
    """``(train_file, records with steps)`` of a run learning from the expert: ``config.train_file``, or
    ``config.demo_episodes`` oracle episodes collected into ``<output_dir>/demos.jsonl``."""
    train_file = config.train_file or collect_demos(config.env, config.env_kwargs_dict(), config.demo_episodes, config.seed,
                                                    os.path.join(config.output_dir, "demos.jsonl"), show_progress)
    records = [r for r in read_trajectories(train_file) if r.get("steps")]
    if not records:
        raise ValueError(f"train_file {train_file!r} holds no trajectory with steps")
    return train_file, records


def draw_sites(records: list[dict], trajectories: int | None, steps_per_trajectory: int | None, rng) -> list[tuple[int, int]]:
    """Inspection's states: ``(record, step)`` for ``trajectories`` records (all when None) and
    ``steps_per_trajectory`` steps of each (all when None), drawn without replacement from ``rng``, in order."""
    chosen = range(len(records))
    if trajectories is not None and trajectories < len(records):
        chosen = sorted(rng.choice(len(records), trajectories, replace=False).tolist())
    sites = []
    for r in chosen:
        steps = len(records[r]["steps"])
        picked = range(steps)
        if steps_per_trajectory is not None and steps_per_trajectory < steps:
            picked = sorted(rng.choice(steps, steps_per_trajectory, replace=False).tolist())
        sites += [(r, t) for t in picked]
    return sites


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
