"""Log-probabilities of several answers to one prompt, with the prompt run once.

A group is one prompt and the answers to score after it: the expert's and the
sampled action of a step-DPO pair, or every candidate in
``info["valid_actions"]`` when a policy ranks them. One row holds
``[prompt (left-padded) | answer 1 | answer 2 | ... (right-padded)]`` with a
4D attention mask under which each answer sees the prompt and its own earlier
tokens only, and position ids that restart after the prompt for every answer;
so each answer is scored exactly as in a sequence of its own while the prompt,
usually most of the tokens, goes through the model once. Left-padding the
prompts puts every answer region at the same columns, so only those columns
(and the prompt's last one) reach the LM head.

Attention kernels without custom masks (flash attention, flex) get one row per
(prompt, answer) instead; :func:`group_logprobs` picks the layout itself.
The log-probability of an answer is the sum over its tokens (no length
normalisation): the same quantity as
:meth:`~stepagent_train.policies.HFPolicy.action_logprobs` and the one the
losses train.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .batching import IGNORE_INDEX, Example, answer_token_logprobs, collate

__all__ = ["AnswerGroup", "PairTokens", "collate_groups", "group_logprobs", "mask_kind", "pair_logprobs"]

_PROMPT, _PAD = -1, -2


@dataclass
class AnswerGroup:
    """One prompt's token ids and the answers (token ids each) to score after it."""

    prompt_ids: list[int]
    answers: list[list[int]]


@dataclass
class PairTokens:
    """The token ids of one preference pair: answers are what the model writes after the prompt."""

    prompt_ids: list[int]
    chosen_ids: list[int]
    rejected_ids: list[int]


def mask_kind(model) -> str | None:
    """How a custom 4D mask is passed to the model's attention: "bool" (sdpa), "float" (eager,
    additive), or None when its kernel takes no custom mask (flash, flex): one row per answer then."""
    impl = getattr(getattr(model, "config", None), "_attn_implementation", None) or "eager"
    return {"sdpa": "bool", "eager": "float"}.get(impl)


def collate_groups(groups: Sequence[AnswerGroup], pad_id: int, mask: str = "bool") -> dict[str, torch.Tensor]:
    """One row per group: ``[prompt (left-padded) | answers back to back (right-padded)]``.

    Args:
        groups: The groups; every group needs at least one non-empty answer.
        pad_id: Padding token id.
        mask: ``"bool"`` (True = attend; sdpa) or ``"float"`` (additive 0 / very negative; eager).

    Returns:
        ``input_ids``, ``position_ids``, ``attention_mask`` (``[B, 1, L, L]``), and over the
        answer columns (the last ``A`` of the row): ``labels`` ``[B, A]`` (``IGNORE_INDEX`` on
        padding), ``segments`` ``[B, A]`` (the answer's index in its group, -2 on padding) and
        ``predictor`` ``[B, A]`` (which of the last ``A + 1`` columns' logits predict the token).
    """
    if mask not in ("bool", "float"):
        raise ValueError(f"mask must be 'bool' or 'float', got {mask!r}")
    for g in groups:
        if not g.answers or any(not a for a in g.answers):
            raise ValueError("every group needs at least one answer, and answers need at least one token")
    size = len(groups)
    pw = max(len(g.prompt_ids) for g in groups)
    aw = max(sum(len(a) for a in g.answers) for g in groups)
    width = pw + aw
    ids = torch.full((size, width), pad_id, dtype=torch.long)
    positions = torch.zeros((size, width), dtype=torch.long)
    segments = torch.full((size, width), _PAD, dtype=torch.long)
    labels = torch.full((size, aw), IGNORE_INDEX, dtype=torch.long)
    predictor = torch.zeros((size, aw), dtype=torch.long)
    for row, g in enumerate(groups):
        lp = len(g.prompt_ids)
        ids[row, pw - lp : pw] = torch.tensor(g.prompt_ids, dtype=torch.long)
        positions[row, pw - lp : pw] = torch.arange(lp)
        segments[row, pw - lp : pw] = _PROMPT
        column = 0
        for j, answer in enumerate(g.answers):
            n = len(answer)
            span = slice(pw + column, pw + column + n)
            ids[row, span] = torch.tensor(answer, dtype=torch.long)
            positions[row, span] = torch.arange(lp, lp + n)
            segments[row, span] = j
            labels[row, column : column + n] = torch.tensor(answer, dtype=torch.long)
            # Kept column 0 is the prompt's last token (it predicts every answer's first token);
            # kept column c + 1 is answer column c, which predicts answer column c + 1.
            predictor[row, column + 1 : column + n] = torch.arange(column + 1, column + n)
            column += n
    q_seg, k_seg = segments[:, :, None], segments[:, None, :]
    causal = torch.ones((width, width), dtype=torch.bool).tril()
    allowed = causal[None] & (k_seg != _PAD) & ((k_seg == _PROMPT) | (k_seg == q_seg))
    allowed |= torch.eye(width, dtype=torch.bool)[None]  # a padding query sees itself: no all-masked softmax row
    allowed = allowed[:, None]
    if mask == "float":
        allowed = torch.zeros(allowed.shape).masked_fill_(~allowed, torch.finfo(torch.float32).min)
    return {"input_ids": ids, "position_ids": positions, "attention_mask": allowed, "labels": labels,
            "segments": segments[:, pw:], "predictor": predictor}


def group_logprobs(model: torch.nn.Module, groups: Sequence[AnswerGroup], pad_id: int,
                   shared_prompt: bool = True) -> list[torch.Tensor]:
    """``log pi(answer | prompt)`` of every answer of every group, summed over the answer's tokens.

    Args:
        model: A causal LM (gradients flow unless called under ``no_grad``).
        groups: The groups.
        pad_id: Padding token id.
        shared_prompt: One packed row per group (:func:`collate_groups`); False, or a
            model whose attention takes no custom mask: one row per (prompt, answer).

    Returns:
        Per group, a float tensor ``[len(group.answers)]`` on the model's device.
    """
    device = next(model.parameters()).device
    kind = mask_kind(model) if shared_prompt else None
    if kind is None:
        examples = [Example.of(g.prompt_ids, a) for g in groups for a in g.answers]
        batch = {k: v.to(device) for k, v in collate(examples, pad_id).items()}
        logprobs, mask = answer_token_logprobs(model, batch)
        return list((logprobs * mask).sum(-1).split([len(g.answers) for g in groups]))
    batch = {k: v.to(device) for k, v in collate_groups(groups, pad_id, kind).items()}
    attention = batch["attention_mask"]
    if attention.dtype != torch.bool:
        attention = attention.to(next(p for p in model.parameters() if p.is_floating_point()).dtype)
    labels, width = batch["labels"], batch["labels"].shape[1]
    logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], attention_mask=attention,
                   logits_to_keep=width + 1, use_cache=False).logits
    keep = labels != IGNORE_INDEX
    rows = torch.arange(len(groups), device=device)[:, None].expand_as(labels)
    picked = logits[rows[keep], batch["predictor"][keep]].float()  # only the labelled tokens meet the softmax
    token = picked.gather(-1, labels[keep].unsqueeze(-1)).squeeze(-1) - picked.logsumexp(-1)
    most = max(len(g.answers) for g in groups)
    sums = torch.zeros((len(groups), most), dtype=token.dtype, device=device)
    sums = sums.index_put((rows[keep], batch["segments"][keep]), token, accumulate=True)
    return [sums[i, : len(g.answers)] for i, g in enumerate(groups)]


def pair_logprobs(model: torch.nn.Module, pairs: Sequence[PairTokens], pad_id: int,
                  shared_prompt: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log pi(chosen | prompt), log pi(rejected | prompt))`` of each pair under ``model``, summed
    over the answer tokens only (the same quantity as
    :meth:`~stepagent_train.policies.HFPolicy.action_logprobs`).

    Args:
        model: A causal LM (gradients flow unless called under ``no_grad``).
        pairs: The pairs.
        pad_id: Padding token id.
        shared_prompt: Run each prompt once for both answers (one packed row,
            :func:`collate_groups`); False, or a model whose
            attention takes no custom mask: two rows per pair.

    Returns:
        Two float tensors ``[len(pairs)]`` on the model's device.
    """
    groups = [AnswerGroup(p.prompt_ids, [p.chosen_ids, p.rejected_ids]) for p in pairs]
    both = torch.stack(group_logprobs(model, groups, pad_id, shared_prompt))
    return both[:, 0], both[:, 1]
