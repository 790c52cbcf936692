"""Policies: ``act(prompts) -> actions``, for a batch of prompts at once.

* :class:`HFPolicy`: a local Hugging Face causal LM (a known name such as the
  default ``smollm2-135m``, a hub id or a path), optionally with a LoRA
  adapter. Where a prompt carries candidates (``info["valid_actions"]``) it
  ranks them by their log-probability as answers (:meth:`HFPolicy.action_distribution`,
  the prompt run once for all of them); where the action space is open it
  generates (batched, left padding, greedy or sampled).
  :meth:`HFPolicy.action_logprobs` scores given actions.
* :class:`CallablePolicy`: any Python callable.
* :class:`~stepagent_train.http_policy.HTTPPolicy`: an OpenAI-compatible
  chat-completions endpoint (a vLLM server, for example).

Every policy carries the :class:`PromptBuilder` its prompts are built with
(``policy.builder``), so rollouts give each policy the prompts it expects.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .models import DEFAULT_MODEL, resolve_model
from .prompts import Prompt, PromptBuilder, PromptConfig

if TYPE_CHECKING:
    import torch

# torch is imported where a local model needs it: callable and HTTP policies run without it.
log = logging.getLogger(__name__)

__all__ = ["CallablePolicy", "HFPolicy", "Policy", "Sample", "load_model"]


@dataclass
class Sample:
    """One sampled action with what on-policy losses need (:meth:`HFPolicy.sample`).

    A step is one or more *units* whose log-probabilities the losses use: the
    generated tokens where the model wrote its answer, or one unit, the chosen
    candidate, where it ranked ``valid_actions``.

    Attributes:
        action: The action sent to the env (the parsed answer, or the candidate).
        token_ids: The answer's token ids: as generated (never re-tokenised), or the
            chosen candidate's answer ids.
        logprobs: Per unit, its log-probability under the sampling policy: per generated
            token ``log softmax(logits / T)``, or for a candidate ``log softmax(log p(c) / T)``
            over the candidates.
        entropies: Per unit, the entropy of the distribution it was drawn from.
        candidates: Ranking: every candidate's answer ids (the loss re-scores them all).
        candidate: Ranking: the index of the chosen candidate in ``valid_actions``.
        distribution: Ranking: the probability of every candidate.
    """

    action: str
    token_ids: list[int]
    logprobs: list[float]
    entropies: list[float]
    candidates: list[list[int]] | None = None
    candidate: int | None = None
    distribution: list[float] | None = None

    @property
    def logprob(self) -> float:
        """log pi(action | prompt) under the sampling policy."""
        return float(sum(self.logprobs))


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
    """A causal LM and its tokenizer from a known name, a hub id or a local folder.

    A folder holding a LoRA adapter (``adapter_config.json``, as the SFT
    trainer saves) loads its base model, then the adapter.

    Args:
        name_or_path: ``smollm2-135m`` (the default model, see :mod:`.models`), a hub id
            ``org/name``, a model folder, or an adapter folder.
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
    name = name_or_path
    name_or_path = resolve_model(name)
    tokenizer_source = adapter if adapter and os.path.isfile(os.path.join(adapter, "tokenizer_config.json")) else name_or_path
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    kwargs = {} if dtype is None else {"dtype": dtype}
    model = AutoModelForCausalLM.from_pretrained(name_or_path, **kwargs)
    if name == DEFAULT_MODEL:
        # Adapters trained on it record the name, not this machine's cache path, as their base.
        model.name_or_path = DEFAULT_MODEL
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter, is_trainable=trainable)
    return model, tokenizer, adapter or name_or_path


class HFPolicy:
    """A local Hugging Face causal LM as a policy.

    Acting (:meth:`act`): a prompt with candidates (``prompt.valid_actions``)
    gets one of them, by their log-probabilities as answers
    (:meth:`candidate_logprobs`): the best at ``temperature`` 0, else a draw
    from ``softmax(logp / temperature)``. A prompt without candidates (an open
    action space, such as a search box) gets a generated answer, parsed by
    ``builder.parse``. ``stats`` counts how many actions came each way.

    An action's log-probability is the sum over its answer tokens, with no
    length normalisation: the softmax over candidates is then the model's own
    sequence distribution restricted to the candidates, the distribution the
    training losses (SFT, DPO, policy gradients) act on. Candidates of one
    state share their answer's frame (``Action: click[...]``), so their
    lengths differ only by their names.

    Args:
        model: The causal LM (a ``PeftModel`` for a LoRA adapter).
        tokenizer: Its tokenizer (needs a pad token).
        builder: The prompt builder; by default one over ``tokenizer`` with the default config.
        max_new_tokens: Longest answer generated.
        temperature: 0 for greedy decoding and the best candidate; > 0 samples
            (generation, and candidates from their softmax) at that temperature.
        top_p: Nucleus sampling mass when generating with sampling.
        batch_size: Prompts per ``generate`` call; a larger batch is split.
        seed: Seed of sampling; the ``k``-th call to :meth:`act` samples with
            ``seed + k``, so a run is reproducible and the global RNG is untouched.
        rank: Rank the candidates where a prompt has them (False: always generate).
        rank_batch_size: Prompts (with all their candidates) per ranking forward.
    """

    def __init__(self, model, tokenizer, builder: PromptBuilder | None = None, max_new_tokens: int = 48,
                 temperature: float = 0.0, top_p: float = 1.0, batch_size: int = 64, seed: int = 0,
                 rank: bool = True, rank_batch_size: int = 8):
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0 (0 is greedy), got {temperature}")
        if max_new_tokens < 1 or batch_size < 1 or rank_batch_size < 1:
            raise ValueError(f"max_new_tokens, batch_size and rank_batch_size must be >= 1, got "
                             f"{max_new_tokens}, {batch_size} and {rank_batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.builder = builder or PromptBuilder(tokenizer)
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.rank_batch_size = rank_batch_size
        self.stats = {"ranked": 0, "generated": 0}
        self._calls = 0

    @classmethod
    def from_pretrained(cls, name_or_path: str, adapter: str | None = None, prompt_config: PromptConfig | None = None,
                        device: str | None = None, dtype: torch.dtype | None = None, merge_adapter: bool = False,
                        **kwargs) -> HFPolicy:
        """Load a policy from a known name, a hub id, a model folder or an SFT checkpoint.

        Args:
            name_or_path: ``smollm2-135m``, a hub id or a folder (an adapter folder loads its base model too).
            adapter: A LoRA adapter folder to add.
            prompt_config: How prompts are written; by default the one saved with the
                checkpoint (``prompt_config.json``), else the defaults.
            device: ``"cpu"``, ``"cuda"``, ...; by default CUDA when available.
            dtype: Weight dtype (None: the checkpoint's); ``torch.bfloat16`` acts ~4x faster
                than float32 on a CPU with native bf16 (AMX, AVX512-BF16).
            merge_adapter: Merge a LoRA adapter into the weights (faster acting; the
                policy can then no longer be trained as an adapter).
            kwargs: The other arguments of :class:`HFPolicy`.
        """
        import torch

        model, tokenizer, folder = load_model(name_or_path, adapter, dtype)
        if merge_adapter and hasattr(model, "merge_and_unload"):
            model = model.merge_and_unload()
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model.to(device).eval()
        config = prompt_config or (PromptConfig.load(folder) if os.path.isdir(folder) else None) or PromptConfig()
        return cls(model, tokenizer, PromptBuilder(tokenizer, config), **kwargs)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def act(self, prompts: Sequence[Prompt]) -> list[str]:
        """One action per prompt: the ranked candidate where it has candidates, else the parsed answer."""
        import numpy as np

        seed = self.seed + self._calls
        self._calls += 1
        by_rank = [self.rank and bool(p.valid_actions) for p in prompts]
        ranked = [i for i, r in enumerate(by_rank) if r]
        opened = [i for i, r in enumerate(by_rank) if not r]
        actions: list[str] = [""] * len(prompts)
        if ranked:
            rng = np.random.default_rng(seed)
            for i, logps in zip(ranked, self.candidate_logprobs([prompts[i] for i in ranked])):
                actions[i] = prompts[i].valid_actions[_choose(logps.float().cpu().numpy(), self.temperature, rng)]
        if opened:
            for i, text in zip(opened, self.generate([prompts[i] for i in opened], seed)):
                actions[i] = self.builder.parse(text)
        self.stats["ranked"] += len(ranked)
        self.stats["generated"] += len(opened)
        return actions

    def sample(self, prompts: Sequence[Prompt]) -> list[Sample]:
        """One sampled action per prompt at ``temperature`` (> 0), with its token ids, log-probabilities
        and entropies under the sampling policy (:class:`Sample`).

        A prompt with candidates gets one drawn from ``softmax(log p(c) / temperature)``;
        one without gets a generated answer drawn token by token from
        ``softmax(logits / temperature)`` (no top-k or top-p, so the recorded
        log-probabilities are the sampling distribution's). Seeded as :meth:`act`.
        """
        import numpy as np
        import torch

        if not self.temperature > 0:
            raise ValueError(f"sample needs temperature > 0 (the policy samples), got {self.temperature}")
        seed = self.seed + self._calls
        self._calls += 1
        out: list[Sample | None] = [None] * len(prompts)
        ranked = [i for i, p in enumerate(prompts) if self.rank and p.valid_actions]
        if ranked:
            rng = np.random.default_rng(seed)
            for i, logps in zip(ranked, self.candidate_logprobs([prompts[i] for i in ranked])):
                logp = torch.log_softmax(logps.double() / self.temperature, -1)
                probs = logp.exp()
                j = int(rng.choice(len(probs), p=(probs / probs.sum()).numpy()))
                answers = [self.builder.answer_ids(prompts[i], a) for a in prompts[i].valid_actions]
                out[i] = Sample(prompts[i].valid_actions[j], answers[j], [float(logp[j])], [float(-(probs * logp).sum())],
                                answers, j, probs.tolist())
        opened = [i for i in range(len(prompts)) if out[i] is None]
        if opened:
            for i, sample in zip(opened, self._sample_generate([prompts[i] for i in opened], seed)):
                out[i] = sample
        self.stats["ranked"] += len(ranked)
        self.stats["generated"] += len(opened)
        return out

    def _sample_generate(self, prompts: Sequence[Prompt], seed: int) -> list[Sample]:
        """Generated answers with their per-token log-probabilities and entropies."""
        import torch
        from transformers import GenerationConfig

        pad = self.tokenizer.pad_token_id
        # Only the temperature shapes the draw, so the recorded log-probabilities are the sampling distribution's.
        settings = GenerationConfig(do_sample=True, temperature=self.temperature, top_k=0, top_p=1.0,
                                    max_new_tokens=self.max_new_tokens, pad_token_id=pad, eos_token_id=sorted(self._end_ids()))
        extra = {} if self.builder.chat else {"stop_strings": ["\n"], "tokenizer": self.tokenizer}
        samples: list[Sample] = []
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            torch.manual_seed(seed)
            for start in range(0, len(prompts), self.batch_size):
                chunk = prompts[start : start + self.batch_size]
                width = max(len(p.input_ids) for p in chunk)
                ids = torch.full((len(chunk), width), pad, dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)
                for row, p in enumerate(chunk):
                    ids[row, width - len(p.input_ids) :] = torch.tensor(p.input_ids)
                    mask[row, width - len(p.input_ids) :] = 1
                out = self.model.generate(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                                          generation_config=settings, output_logits=True, return_dict_in_generate=True, **extra)
                logits = torch.stack(out.logits, 1).float() / self.temperature  # [batch, new tokens, vocab]
                logz = logits.logsumexp(-1)
                entropy = logz - (logits.softmax(-1) * logits).sum(-1)
                for row in range(len(chunk)):
                    tokens = out.sequences[row, width:].tolist()
                    n = self._answer_length(tokens)
                    lp = logits[row, torch.arange(n), out.sequences[row, width : width + n]] - logz[row, :n]
                    text = self.tokenizer.decode(tokens[:n], skip_special_tokens=True)
                    samples.append(Sample(self.builder.parse(text), tokens[:n], lp.tolist(), entropy[row, :n].tolist()))
        return samples

    def _end_ids(self) -> set[int]:
        """Token ids that end an answer: the tokenizer's EOS and the model's own (a chat model's end of turn)."""
        ends = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        ends = set(ends if isinstance(ends, list) else [] if ends is None else [ends])
        return ends | {self.tokenizer.eos_token_id}

    def _answer_length(self, tokens: list[int]) -> int:
        """How many of the generated ``tokens`` the model wrote: through the first end token
        (or, in the plain format, the first token holding a line break, where generation stops)."""
        ends = self._end_ids()
        for k, token in enumerate(tokens):
            if token in ends or (not self.builder.chat and "\n" in self.tokenizer.decode([token])):
                return k + 1
        return len(tokens)

    def candidate_logprobs(self, prompts: Sequence[Prompt], candidates: Sequence[Sequence[str]] | None = None,
                           grad: bool = False) -> list[torch.Tensor]:
        """log p(candidate | prompt) of every candidate of every prompt (answer tokens summed).

        Each prompt runs once for all its candidates (:mod:`~stepagent_train.packing`);
        prompts are batched ``rank_batch_size`` at a time, similar lengths together.

        Args:
            prompts: Prompts built by ``self.builder``.
            candidates: Per prompt, the actions to score (None: each prompt's ``valid_actions``).
            grad: Keep the autograd graph (for a loss); else computed under ``no_grad``.

        Returns:
            Per prompt, a float tensor ``[len(candidates)]`` on the model's device (empty
            for a prompt without candidates).
        """
        import torch

        from .packing import AnswerGroup, group_logprobs

        candidates = [p.valid_actions for p in prompts] if candidates is None else candidates
        if len(candidates) != len(prompts):
            raise ValueError(f"got {len(prompts)} prompts and {len(candidates)} candidate lists; pass one list per prompt")
        out: list[torch.Tensor] = [torch.zeros(0, device=self.device) for _ in prompts]
        todo = sorted((i for i in range(len(prompts)) if candidates[i]), key=lambda i: len(prompts[i].input_ids))
        with torch.set_grad_enabled(grad):
            for start in range(0, len(todo), self.rank_batch_size):
                chunk = todo[start : start + self.rank_batch_size]
                groups = [AnswerGroup(list(prompts[i].input_ids), [self.builder.answer_ids(prompts[i], a) for a in candidates[i]])
                          for i in chunk]
                for i, logps in zip(chunk, group_logprobs(self.model, groups, self.tokenizer.pad_token_id)):
                    out[i] = logps
        return out

    def action_distribution(self, prompts: Sequence[Prompt], candidates: Sequence[Sequence[str]] | None = None,
                            temperature: float = 1.0) -> list[list[float]]:
        """The policy's probability of each candidate: ``softmax(log p(candidate | prompt) / temperature)``.

        Args:
            prompts: Prompts built by ``self.builder``.
            candidates: Per prompt, the actions (None: each prompt's ``valid_actions``).
            temperature: > 0; 1 is the model's own distribution restricted to the candidates.

        Returns:
            Per prompt, probabilities in candidate order summing to 1; an empty list
            (and a warning in the log) for a prompt without candidates.
        """
        import torch

        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        logps = self.candidate_logprobs(prompts, candidates)
        empty = sum(len(x) == 0 for x in logps)
        if empty:
            log.warning("action_distribution: %d of %d prompts have no candidates; their distribution is empty "
                        "(generate an action for them instead)", empty, len(prompts))
        return [torch.softmax(x.float() / temperature, -1).tolist() if len(x) else [] for x in logps]

    def generate(self, prompts: Sequence[Prompt], seed: int | None = None) -> list[str]:
        """The model's answer text to each prompt (special tokens removed).

        Prompts are generated in batches of ``batch_size``, sorted by length so
        that a batch holds prompts of similar length (little left padding).

        Args:
            prompts: Prompts built by ``self.builder``.
            seed: Seed of sampling (None: the next of :meth:`act`'s seeds).
        """
        import torch

        if seed is None:
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


def _choose(logps, temperature: float, rng) -> int:
    """The index of the best candidate (``temperature`` 0), else one drawn from ``softmax(logps / temperature)``."""
    import numpy as np

    if temperature == 0:
        return int(np.argmax(logps))
    z = (logps - logps.max()) / temperature
    p = np.exp(z)
    return int(rng.choice(len(p), p=p / p.sum()))
