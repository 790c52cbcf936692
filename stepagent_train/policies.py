"""Policies: ``act(prompts) -> actions``, for a batch of prompts at once.

* :class:`HFPolicy`: a local Hugging Face causal LM (hub id or path), optionally
  with a LoRA adapter; batched generation with left padding, greedy or
  sampled; :meth:`HFPolicy.action_logprobs` scores given actions.
* :class:`CallablePolicy`: any Python callable.
* :class:`~stepagent_train.http_policy.HTTPPolicy`: an OpenAI-compatible
  chat-completions endpoint (a vLLM server, for example).

Every policy carries the :class:`PromptBuilder` its prompts are built with
(``policy.builder``), so rollouts give each policy the prompts it expects.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .prompts import Prompt, PromptBuilder, PromptConfig

if TYPE_CHECKING:
    import torch

# torch is imported where a local model needs it: callable and HTTP policies run without it.

__all__ = ["CallablePolicy", "HFPolicy", "Policy", "load_model"]


@runtime_checkable
class Policy(Protocol):
    """What rollouts and evaluation need from a policy."""

    builder: PromptBuilder

    def act(self, prompts: Sequence[Prompt]) -> list[str]:
        """One action per prompt, in order."""
        ...


class CallablePolicy:
    """A policy around any Python callable.

    Args:
        fn: ``fn(prompt) -> str`` (a :class:`Prompt`: ``prompt.observation``,
            ``prompt.task``, ``prompt.history``, ``prompt.text`` ...), or with
            ``batched=True`` ``fn(prompts) -> list[str]``.
        builder: The prompt builder; by default one without a tokenizer.
        batched: Whether ``fn`` takes the whole batch.
        parse: Read the action from ``fn``'s text with ``builder.parse`` (for a
            callable that answers like a model); else its text is the action.
    """

    def __init__(self, fn: Callable, builder: PromptBuilder | None = None, batched: bool = False, parse: bool = False):
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.builder = builder or PromptBuilder()
        self.batched = batched
        self.parse = parse

    def act(self, prompts: Sequence[Prompt]) -> list[str]:
        """One action per prompt."""
        texts = list(self.fn(list(prompts))) if self.batched else [self.fn(p) for p in prompts]
        if len(texts) != len(prompts):
            raise ValueError(f"the callable returned {len(texts)} answers for {len(prompts)} prompts")
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"the callable returned {type(text).__name__} {text!r:.80}; it must return str")
        return [self.builder.parse(t) for t in texts] if self.parse else texts


def load_model(name_or_path: str, adapter: str | None = None, dtype: torch.dtype | None = None, trainable: bool = False):
    """A causal LM and its tokenizer from a hub id or a local folder.

    A folder holding a LoRA adapter (``adapter_config.json``, as the SFT
    trainer saves) loads its base model, then the adapter.

    Args:
        name_or_path: A hub id, a model folder, or an adapter folder.
        adapter: A LoRA adapter folder to put on the model (None: none, unless
            ``name_or_path`` is one).
        dtype: Weight dtype (None: the checkpoint's, float32 on CPU).
        trainable: Leave the adapter's weights trainable.

    Returns:
        ``(model, tokenizer, folder)``, the folder being where the tokenizer and
        prompt config were looked for (the adapter's when there is one).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if adapter is None and os.path.isfile(os.path.join(name_or_path, "adapter_config.json")):
        adapter = name_or_path
        with open(os.path.join(adapter, "adapter_config.json"), encoding="utf-8") as f:
            name_or_path = json.load(f)["base_model_name_or_path"]
    tokenizer_source = adapter if adapter and os.path.isfile(os.path.join(adapter, "tokenizer_config.json")) else name_or_path
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    kwargs = {} if dtype is None else {"dtype": dtype}
    model = AutoModelForCausalLM.from_pretrained(name_or_path, **kwargs)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter, is_trainable=trainable)
    return model, tokenizer, adapter or name_or_path


class HFPolicy:
    """A local Hugging Face causal LM as a policy.

    Args:
        model: The causal LM (a ``PeftModel`` for a LoRA adapter).
        tokenizer: Its tokenizer (needs a pad token).
        builder: The prompt builder; by default one over ``tokenizer`` with the default config.
        max_new_tokens: Longest answer generated.
        temperature: 0 for greedy decoding; > 0 samples at that temperature.
        top_p: Nucleus sampling mass when sampling.
        batch_size: Prompts per ``generate`` call; a larger batch is split.
        seed: Seed of sampling; the ``k``-th call to :meth:`act` samples with
            ``seed + k``, so a run is reproducible and the global RNG is untouched.
    """

    def __init__(self, model, tokenizer, builder: PromptBuilder | None = None, max_new_tokens: int = 48,
                 temperature: float = 0.0, top_p: float = 1.0, batch_size: int = 64, seed: int = 0):
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0 (0 is greedy), got {temperature}")
        if max_new_tokens < 1 or batch_size < 1:
            raise ValueError(f"max_new_tokens and batch_size must be >= 1, got {max_new_tokens} and {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.builder = builder or PromptBuilder(tokenizer)
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.batch_size = batch_size
        self.seed = seed
        self._calls = 0

    @classmethod
    def from_pretrained(cls, name_or_path: str, adapter: str | None = None, prompt_config: PromptConfig | None = None,
                        device: str | None = None, dtype: torch.dtype | None = None, **kwargs) -> HFPolicy:
        """Load a policy from a hub id, a model folder or an SFT checkpoint.

        Args:
            name_or_path: Hub id or folder (an adapter folder loads its base model too).
            adapter: A LoRA adapter folder to add.
            prompt_config: How prompts are written; by default the one saved with the
                checkpoint (``prompt_config.json``), else the defaults.
            device: ``"cpu"``, ``"cuda"``, ...; by default CUDA when available.
            dtype: Weight dtype (None: the checkpoint's).
            kwargs: The other arguments of :class:`HFPolicy`.
        """
        import torch

        model, tokenizer, folder = load_model(name_or_path, adapter, dtype)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model.to(device).eval()
        config = prompt_config or (PromptConfig.load(folder) if os.path.isdir(folder) else None) or PromptConfig()
        return cls(model, tokenizer, PromptBuilder(tokenizer, config), **kwargs)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def act(self, prompts: Sequence[Prompt]) -> list[str]:
        """The action of each prompt, read from the generated answer with ``builder.parse``."""
        return [self.builder.parse(text) for text in self.generate(prompts)]

    def generate(self, prompts: Sequence[Prompt]) -> list[str]:
        """The model's answer text to each prompt (special tokens removed).

        Prompts are generated in batches of ``batch_size``, sorted by length so
        that a batch holds prompts of similar length (little left padding).
        """
        import torch

        seed = self.seed + self._calls
        self._calls += 1
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i].input_ids))
        answers: list[str] = [""] * len(prompts)
        pad = self.tokenizer.pad_token_id
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            torch.manual_seed(seed)
            for start in range(0, len(order), self.batch_size):
                chunk = order[start : start + self.batch_size]
                width = max(len(prompts[i].input_ids) for i in chunk)
                ids = torch.full((len(chunk), width), pad, dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)
                for row, i in enumerate(chunk):
                    p = prompts[i].input_ids
                    ids[row, width - len(p) :] = torch.tensor(p)
                    mask[row, width - len(p) :] = 1
                sampling = self.temperature > 0
                extra = {"temperature": self.temperature, "top_p": self.top_p} if sampling else {}
                if not self.builder.chat:  # the plain format reads one line: stop at its end
                    extra.update(stop_strings=["\n"], tokenizer=self.tokenizer)
                out = self.model.generate(
                    input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                    max_new_tokens=self.max_new_tokens, do_sample=sampling, pad_token_id=pad, **extra,
                )
                texts = self.tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
                for i, text in zip(chunk, texts):
                    answers[i] = text
        return answers

    def action_logprobs(self, prompts: Sequence[Prompt], actions: Sequence[str], grad: bool = False) -> torch.Tensor:
        """log p(action | prompt): the summed log-probabilities of each action's answer tokens.

        Args:
            prompts: Prompts built by ``self.builder``.
            actions: One action per prompt.
            grad: Keep the autograd graph (for a loss); else computed under ``no_grad``.

        Returns:
            A float tensor ``[len(prompts)]`` on the model's device.
        """
        import torch

        from .batching import answer_token_logprobs, collate, encode_example

        if len(prompts) != len(actions):
            raise ValueError(f"got {len(prompts)} prompts and {len(actions)} actions; pass one action per prompt")
        batch = collate([encode_example(self.builder, p, a) for p, a in zip(prompts, actions)], self.tokenizer.pad_token_id)
        batch = {k: v.to(self.device) for k, v in batch.items()}
        with torch.set_grad_enabled(grad):
            logprobs, mask = answer_token_logprobs(self.model, batch)
        return (logprobs * mask).sum(-1)
