"""The offline default model: a tokenizer trained on the env's own text and a
small Llama-style model built from a config, so training runs with no hub access.

The tokenizer is a byte-level BPE (any text encodes, nothing is unknown) trained
with ``tokenizers`` on the observations, actions and tasks of trajectory
records, labelled as the prompt builder writes them; words are never merged
with the spaces around them (see :func:`build_offline_model`). The model is a
randomly initialised ``LlamaForCausalLM`` of a few million parameters. Both are
saved with ``save_pretrained`` and load back by path like any hub model.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .checkpoint import atomic_dir

__all__ = ["OfflineModelConfig", "build_offline_model", "record_texts"]

_PIECES = r"[A-Za-z0-9]+|\s+|[^\sA-Za-z0-9]+"
_SPECIAL = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"}


@dataclass
class OfflineModelConfig:
    """Size of the offline default model and its tokenizer."""

    vocab_size: int = field(default=4096, metadata={"help": "BPE vocabulary size, special tokens included"})
    hidden_size: int = field(default=192, metadata={"help": "model width"})
    num_layers: int = field(default=4, metadata={"help": "transformer blocks"})
    num_heads: int = field(default=4, metadata={"help": "attention heads (hidden_size must divide by it)"})
    intermediate_size: int = field(default=512, metadata={"help": "MLP width"})
    max_positions: int = field(default=1024, metadata={"help": "longest sequence (prompt plus answer) in tokens"})
    seed: int = field(default=0, metadata={"help": "seed of the weight initialisation"})

    def __post_init__(self):
        for name in ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size", "max_positions"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.vocab_size < 300:
            raise ValueError(f"vocab_size must be >= 300 (256 bytes, special tokens and merges), got {self.vocab_size}")
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} must divide by num_heads {self.num_heads}; "
                f"pick e.g. num_heads={next(h for h in (4, 2, 1) if self.hidden_size % h == 0)}"
            )


def record_texts(records: Iterable[dict], system: str = "") -> Iterator[str]:
    """Tokenizer training text from trajectory records, labelled as the prompt builder writes
    them (``Task: ...``, ``Observation: ...``, ``Action: ...``), so that labels and the
    ``system`` text, repeated once per record, become few tokens.

    Args:
        records: Trajectory records (docs/design.md format).
        system: The prompt builder's system text (:attr:`PromptConfig.system`).
    """
    for record in records:
        yield f"{system}\nTask: {record.get('task') or ''}"
        for step in record["steps"]:
            yield f"Observation: {step['observation']}\nAction: {step['action']}"


def build_offline_model(texts: Iterable[str], out_dir: str | os.PathLike, config: OfflineModelConfig | None = None) -> str:
    """Train a tokenizer on ``texts``, build the model, and save both in ``out_dir``.

    The folder is written in a temporary sibling and renamed into place, so an
    interrupted build never leaves a half-saved model.

    Args:
        texts: Training text for the tokenizer (see :func:`record_texts`).
        out_dir: Where to save; must not exist yet.
        config: Sizes; defaults when None.

    Returns:
        ``out_dir``, loadable with ``AutoModelForCausalLM.from_pretrained`` and
        ``AutoTokenizer.from_pretrained``.

    Raises:
        FileExistsError: ``out_dir`` exists.
    """
    import torch
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    config = config or OfflineModelConfig()
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir):
        raise FileExistsError(f"{out_dir} exists; pass a new folder or load the model saved there")

    bpe = Tokenizer(models.BPE())
    # Runs of letters and digits, runs of other symbols and runs of spaces are
    # split apart before BPE, and spaces never join a word: a name (an item id,
    # an option) is then the same tokens inside an observation and inside an
    # action such as click[name], so a small model learns to copy it by attention.
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(_PIECES), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size,
        special_tokens=list(_SPECIAL.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    bos = bpe.token_to_id(_SPECIAL["bos_token"])
    bpe.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", bos)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, **_SPECIAL)

    model_config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads,
        max_position_embeddings=config.max_positions,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(config.seed)
    model = LlamaForCausalLM(model_config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id

    def write(folder: str) -> None:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    atomic_dir(out_dir, write)
    return out_dir
