"""Token batches of (prompt, action) pairs and the log-probabilities of their action tokens.

Training (SFT now, step-level DPO next) and :meth:`HFPolicy.action_logprobs`
share these, so "the log-probability of an action" means one thing everywhere:
the sum over the answer tokens of :meth:`PromptBuilder.answer_ids` (the action
and its end marker), given the prompt's ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .prompts import Prompt, PromptBuilder

__all__ = ["IGNORE_INDEX", "Example", "answer_token_logprobs", "batch_schedule", "collate", "encode_example"]

#: Label of the tokens that carry no loss (the prompt's and the padding).
IGNORE_INDEX = -100


@dataclass
class Example:
    """One tokenised (prompt, action) pair.

    Attributes:
        input_ids: Prompt ids followed by answer ids.
        labels: ``IGNORE_INDEX`` on the prompt, the ids themselves on the answer.
    """

    input_ids: list[int]
    labels: list[int]

    @classmethod
    def of(cls, prompt_ids: list[int], answer_ids: list[int]) -> Example:
        """The example of ``prompt_ids`` followed by ``answer_ids``, only the answer labelled."""
        return cls(list(prompt_ids) + list(answer_ids), [IGNORE_INDEX] * len(prompt_ids) + list(answer_ids))

    @property
    def num_answer_tokens(self) -> int:
        return sum(label != IGNORE_INDEX for label in self.labels)


def encode_example(builder: PromptBuilder, prompt: Prompt, action: str, max_answer_tokens: int | None = None) -> Example:
    """The ids and labels of ``prompt`` followed by the answer that takes ``action``.

    Args:
        builder: The prompt builder that built ``prompt``.
        prompt: A prompt with ids.
        action: The action.
        max_answer_tokens: Cut longer answers to this many tokens (None: keep whole).
    """
    answer = builder.answer_ids(prompt, action)
    if max_answer_tokens is not None:
        answer = answer[:max_answer_tokens]
    return Example.of(prompt.input_ids, answer)


def collate(examples: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ``input_ids``, ``attention_mask`` and ``labels`` tensors.

    Right padding keeps every real token at the position it had when the
    policy acted (positions count from the first real token in both cases).

    Args:
        examples: The examples of one batch.
        pad_id: The padding token id.
    """
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        labels[row, :n] = torch.tensor(e.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def batch_schedule(lengths: list[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The micro-batches (lists of example indices) of one epoch; a function of its arguments only.

    Examples are shuffled, cut into pools of 50 batches, sorted by length
    within a pool (so a batch holds similar lengths: little padding), batched,
    and the batches shuffled.

    Args:
        lengths: Token length of each example.
        batch_size: Examples per micro-batch.
        seed: The run's seed.
        epoch: The epoch number (from 0).
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool].tolist(), key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def answer_token_logprobs(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probabilities of the labelled tokens of a batch under ``model``.

    Only the labelled positions are projected through the softmax, so a large
    vocabulary costs memory for the answer tokens only.

    Args:
        model: A causal LM.
        batch: From :func:`collate`, on the model's device.

    Returns:
        ``(logprobs, mask)``, both ``[batch, length - 1]``: the log-probability of
        token ``t + 1`` given tokens ``0..t``, and 1.0 where token ``t + 1`` is an
        answer token (0.0 elsewhere, where ``logprobs`` is 0).
    """
    targets = batch["labels"][:, 1:]
    mask = targets != IGNORE_INDEX
    # Project only the positions some row has an answer token at: the vocabulary
    # projection of a long prompt is a large share of a small model's compute.
    keep = mask.any(0).nonzero().squeeze(-1)
    logits = _logits(model, batch, keep)
    kept_targets, kept_mask = targets[:, keep], mask[:, keep]
    picked = logits[kept_mask].float()
    token_logprobs = picked.gather(-1, kept_targets[kept_mask].unsqueeze(-1)).squeeze(-1) - picked.logsumexp(-1)
    kept = torch.zeros(kept_mask.shape, dtype=token_logprobs.dtype, device=logits.device)
    kept[kept_mask] = token_logprobs
    logprobs = torch.zeros(targets.shape, dtype=token_logprobs.dtype, device=logits.device)
    logprobs[:, keep] = kept
    return logprobs, mask.to(logprobs.dtype)


def _logits(model: torch.nn.Module, batch: dict[str, torch.Tensor], keep: torch.Tensor) -> torch.Tensor:
    """The logits at positions ``keep`` (``[batch, len(keep), vocab]``)."""
    try:
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], logits_to_keep=keep).logits
    except TypeError:  # a model without ``logits_to_keep`` (custom code): project every position
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, keep]
