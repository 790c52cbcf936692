"""The settings every trainer shares, validated once, under one set of names.

:class:`TrainConfig` holds what any training run needs (model and LoRA,
optimiser, batches, prompts, seed, checkpoints, precision, resume);
:class:`EnvTrainConfig` adds the env a run acts in and its dev evaluation;
:class:`ExpertDemosConfig` the expert's demonstrations a run learns from (ETO,
StepAgent) and :class:`InspectionConfig` StepAgent's inspection of them (both
reflections).
An algorithm's config subclasses one of them and adds only its own fields,
each with help; it may redefine a shared field to change its default (and
says why in the help). Every field becomes a command-line flag
(``stepagent_train.cli``), so help text is required.

Configs are keyword-only: ``SFTConfig(train_file=..., output_dir=...)``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace

from .models import DEFAULT_MODEL, check_model_name, is_tiny
from .prompts import PromptConfig

__all__ = ["EnvTrainConfig", "ExpertDemosConfig", "InspectionConfig", "TrainConfig", "parse_env_kwargs", "resolve_run_model"]

SELECT_BY = ("success_rate", "mean_score", "step_agreement")
_PRECISIONS = ("no", "bf16", "fp16")


@dataclass(kw_only=True)
class TrainConfig:
    """Settings shared by every trainer."""

    output_dir: str = field(metadata={"help": "run folder: checkpoints/, metrics.jsonl and the algorithm's own outputs"})
    model: str | None = field(default=DEFAULT_MODEL, metadata={"help": "model to train: smollm2-135m (pretrained, the default), tiny (built from demos, for tests), an SFT checkpoint or run folder, a hub id org/name or a folder"})
    lora: bool | None = field(default=None, metadata={"help": "train a LoRA adapter instead of all weights (None: LoRA for a pretrained model, all weights for tiny; an adapter checkpoint always keeps training its adapter)"})
    lora_target_modules: str = field(default="all-linear", metadata={"help": "modules a new LoRA adapter wraps: all-linear or a comma list such as q_proj,k_proj,v_proj,o_proj"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank of a new adapter"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator of a new adapter (scale = alpha / r)"})
    lora_dropout: float = field(default=0.0, metadata={"help": "dropout on the LoRA branch"})
    learning_rate: float = field(default=2e-4, metadata={"help": "peak learning rate (AdamW); ~1e-3 from scratch, ~2e-4 LoRA, ~1e-5 full fine-tuning of a pretrained LLM"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping norm (0: none)"})
    batch_size: int = field(default=8, metadata={"help": "examples per micro-batch and process"})
    grad_accum_steps: int = field(default=1, metadata={"help": "micro-batches per optimizer step and process"})
    max_prompt_tokens: int | None = field(default=512, metadata={"help": "prompt token budget, older turns dropped first (None: the one saved with the model, else 512)"})
    max_turns: int | None = field(default=None, metadata={"help": "past turns kept in prompts at most (None: as many as fit, or as saved with the model)"})
    max_answer_tokens: int = field(default=64, metadata={"help": "answer tokens trained at most (longer answers are cut)"})
    seed: int = field(default=0, metadata={"help": "seed of the data order, sampling, the offline model, LoRA init and dropout"})
    save_total_limit: int = field(default=2, metadata={"help": "checkpoints kept (oldest deleted first)"})
    max_seconds: float | None = field(default=None, metadata={"help": "stop early, with a checkpoint, once this process has trained this many seconds (None: no limit); --resume continues"})
    mixed_precision: str = field(default="no", metadata={"help": "accelerate mixed precision: no, bf16 or fp16 (GPU)"})
    resume: bool = field(default=False, metadata={"help": "continue from the latest checkpoint in output_dir"})

    def __post_init__(self):
        for name in ("lora_r", "lora_alpha", "batch_size", "grad_accum_steps", "max_answer_tokens", "save_total_limit"):
            _positive_int(self, name)
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}; try 2e-4 for LoRA")
        if self.weight_decay < 0 or self.max_grad_norm < 0 or not 0 <= self.lora_dropout < 1:
            raise ValueError(
                f"need weight_decay >= 0, max_grad_norm >= 0 and 0 <= lora_dropout < 1; got "
                f"{self.weight_decay}, {self.max_grad_norm}, {self.lora_dropout}"
            )
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"max_seconds must be None or > 0, got {self.max_seconds!r}")
        if self.mixed_precision not in _PRECISIONS:
            raise ValueError(f"mixed_precision must be 'no', 'bf16' or 'fp16', got {self.mixed_precision!r}")
        PromptConfig(max_prompt_tokens=self.max_prompt_tokens or 512, max_turns=self.max_turns)  # validates both
        if self.model is not None:
            check_model_name(self.model)

    def use_lora(self) -> bool:
        """Whether a new LoRA adapter is put on the model (``lora``, or by default: on every model but ``tiny``)."""
        return not is_tiny(self.model) if self.lora is None else self.lora

    def prompt_config(self, saved: PromptConfig | None = None) -> PromptConfig:
        """How prompts are written: ``saved`` (the model's, what it was trained on) with this run's
        ``max_prompt_tokens`` / ``max_turns`` where set; only the budget changes, the saved turns,
        system text and template stay."""
        config = saved or PromptConfig()
        if self.max_prompt_tokens is not None:
            config = replace(config, max_prompt_tokens=self.max_prompt_tokens)
        if self.max_turns is not None:
            config = replace(config, max_turns=self.max_turns)
        return config


@dataclass(kw_only=True)
class EnvTrainConfig(TrainConfig):
    """Settings of a trainer that acts in an env (inspection, rollouts) and evaluates on its dev split."""

    env: str = field(default="StepShop-v0", metadata={"help": "env id (rollouts or demo collection on train, evaluation on dev)"})
    env_kwargs: str | None = field(default=None, metadata={"help": "further gym.make arguments as a JSON object, e.g. '{\"num_products\": 1000}'"})
    max_new_tokens: int = field(default=48, metadata={"help": "longest generated answer in tokens (open action spaces)"})
    dev_episodes: int | None = field(default=50, metadata={"help": "first N dev tasks evaluated (None: the whole split; 0: no evaluation, the last policy is kept)"})
    select_by: str = field(default="success_rate", metadata={"help": "dev figure picking the best policy: success_rate, mean_score or step_agreement (ties: the others, then the earlier)"})
    num_envs: int = field(default=16, metadata={"help": "envs stepped in parallel (one batched policy call per step)"})
    generation_batch_size: int = field(default=64, metadata={"help": "prompts per generate / ranking call"})

    def __post_init__(self):
        super().__post_init__()
        for name in ("max_new_tokens", "num_envs", "generation_batch_size"):
            _positive_int(self, name)
        if self.dev_episodes is not None and (not isinstance(self.dev_episodes, int) or self.dev_episodes < 0):
            raise ValueError(f"dev_episodes must be None (whole split), 0 (no evaluation) or an int >= 1, got {self.dev_episodes!r}")
        if self.select_by not in SELECT_BY:
            raise ValueError(f"select_by must be one of {', '.join(SELECT_BY)}, got {self.select_by!r}")
        self.env_kwargs_dict()  # validates the JSON

    def env_kwargs_dict(self) -> dict:
        """``env_kwargs`` parsed (``{}`` when None)."""
        return parse_env_kwargs(self.env_kwargs)


@dataclass(kw_only=True)
class ExpertDemosConfig(EnvTrainConfig):
    """Settings of a run that learns from the expert's trajectories (read, or collected first)."""

    train_file: str | None = field(default=None, metadata={"help": "expert trajectory records (JSON Lines); None collects demo_episodes oracle episodes into output_dir/demos.jsonl"})
    demo_episodes: int = field(default=200, metadata={"help": "oracle episodes collected on the train split when train_file is None"})

    def __post_init__(self):
        super().__post_init__()
        _positive_int(self, "demo_episodes")
        if self.train_file is not None and not os.path.isfile(self.train_file):
            raise ValueError(f"train_file {self.train_file!r} does not exist; record demos with stepagent-collect, "
                             "or pass no train_file to collect demo_episodes oracle episodes")


@dataclass(kw_only=True)
class InspectionConfig(ExpertDemosConfig):
    """StepAgent's inspection: states drawn from the expert's trajectories, ``k`` policy samples at each."""

    trajectories: int | None = field(default=64, metadata={"help": "expert trajectories inspected per cycle, drawn without replacement (None: all)"})
    steps_per_trajectory: int | None = field(default=None, metadata={"help": "steps inspected per trajectory, drawn without replacement (None: all)"})
    k: int = field(default=2, metadata={"help": "actions sampled from the policy per inspected state"})

    def __post_init__(self):
        super().__post_init__()
        _positive_int(self, "k")
        for name in ("trajectories", "steps_per_trajectory"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"{name} must be None (all) or an int >= 1, got {value!r}")


def parse_env_kwargs(text: str | None) -> dict:
    """A JSON object of ``gym.make`` arguments (``{}`` for None or empty).

    Raises:
        ValueError: Not JSON, or not an object; the message gives the value and an example.
    """
    if not text:
        return {}
    try:
        kwargs = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"env_kwargs must be a JSON object such as '{{\"num_products\": 1000}}', got {text!r} ({error})") from None
    if not isinstance(kwargs, dict):
        raise ValueError(f"env_kwargs must be a JSON object such as '{{\"num_products\": 1000}}', got {text!r}")
    return kwargs


def resolve_run_model(path: str) -> str:
    """A run folder (SFT, StepAgent, RL) means its latest checkpoint; anything else is used as given
    (a local folder made absolute)."""
    from .checkpoint import latest_checkpoint

    if os.path.isdir(path) and not os.path.isfile(os.path.join(path, "config.json")) \
            and not os.path.isfile(os.path.join(path, "adapter_config.json")):
        found = latest_checkpoint(path)
        if found is None:
            raise ValueError(f"model {path!r} is a folder with no model, adapter or checkpoints/ in it; "
                             "pass an SFT checkpoint, run folder or model folder")
        return os.path.abspath(found)
    return os.path.abspath(path) if os.path.isdir(path) else path


def _positive_int(config, name: str) -> None:
    value = getattr(config, name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
