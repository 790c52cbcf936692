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

__all__ = ["AnswerGroup", "PairTokens", "TokenScores", "collate_groups", "group_logprobs", "group_token_logprobs", "mask_kind",
           "pair_logprobs"]

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
    kind = mask_kind(model) if shared_prompt else None
    if kind is None:
        device = next(model.parameters()).device
        examples = [Example.of(g.prompt_ids, a) for g in groups for a in g.answers]
        batch = {k: v.to(device) for k, v in collate(examples, pad_id).items()}
        logprobs, mask = answer_token_logprobs(model, batch)
        return list((logprobs * mask).sum(-1).split([len(g.answers) for g in groups]))
    picked, targets, rows, segments, _ = _packed_forward(model, groups, pad_id, kind, False)
    token = picked.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - picked.logsumexp(-1)
    most = max(len(g.answers) for g in groups)
    sums = torch.zeros((len(groups), most), dtype=token.dtype, device=token.device)
    sums = sums.index_put((rows, segments), token, accumulate=True)
    return [sums[i, : len(g.answers)] for i, g in enumerate(groups)]


@dataclass
class TokenScores:
    """Per-token figures of one group's answers (from :func:`group_token_logprobs`).

    Attributes:
        logprobs: Per answer, ``[len(answer)]`` log-probabilities of its tokens at the temperature.
        entropies: Per answer, ``[len(answer)]`` entropies of the next-token distributions.
        hidden: The last layer's hidden state at the prompt's last token (``[hidden]``), or None.
    """

    logprobs: list[torch.Tensor]
    entropies: list[torch.Tensor]
    hidden: torch.Tensor | None = None


def group_token_logprobs(model: torch.nn.Module, groups: Sequence[AnswerGroup], pad_id: int, temperature: float = 1.0,
                         with_hidden: bool = False) -> list[TokenScores]:
    """Per-token log-probabilities and entropies of every answer of every group under
    ``softmax(logits / temperature)``, and optionally the prompt's last hidden state (for a value head).

    The prompt runs once per group (packed rows, :func:`collate_groups`); a model whose
    attention takes no custom mask gets one row per (prompt, answer).

    Args:
        model: A causal LM (gradients flow unless called under ``no_grad``).
        groups: The groups.
        pad_id: Padding token id.
        temperature: > 0; the sampling temperature the answers were drawn at.
        with_hidden: Also return the last layer's hidden state at each prompt's last token.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    kind = mask_kind(model)
    if kind is None:
        return [_unpacked_token_scores(model, g, pad_id, temperature, with_hidden) for g in groups]
    picked, targets, rows, _, hidden = _packed_forward(model, groups, pad_id, kind, with_hidden)
    picked = picked / temperature if temperature != 1 else picked
    logz = picked.logsumexp(-1)
    token = picked.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - logz
    entropy = logz - (picked.softmax(-1) * picked).sum(-1)
    per_row = torch.bincount(rows, minlength=len(groups)).tolist()
    out = []
    for i, (g, lp, en) in enumerate(zip(groups, token.split(per_row), entropy.split(per_row))):
        sizes = [len(a) for a in g.answers]
        out.append(TokenScores(list(lp.split(sizes)), list(en.split(sizes)), None if hidden is None else hidden[i]))
    return out


def _packed_forward(model, groups, pad_id, kind, with_hidden):
    """The packed forward: the logits of the labelled tokens (``[N, vocab]``, float), their target ids,
    rows and answer indices (row-major, answers back to back), and the prompts' last hidden states."""
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in collate_groups(groups, pad_id, kind).items()}
    attention = batch["attention_mask"]
    if attention.dtype != torch.bool:
        attention = attention.to(next(p for p in model.parameters() if p.is_floating_point()).dtype)
    labels, width = batch["labels"], batch["labels"].shape[1]
    out = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], attention_mask=attention,
                logits_to_keep=width + 1, use_cache=False, output_hidden_states=with_hidden)
    keep = labels != IGNORE_INDEX
    rows = torch.arange(len(groups), device=device)[:, None].expand_as(labels)
    picked = out.logits[rows[keep], batch["predictor"][keep]].float()  # only the labelled tokens meet the softmax
    prompt_width = batch["input_ids"].shape[1] - width
    hidden = out.hidden_states[-1][:, prompt_width - 1].float() if with_hidden else None
    return picked, labels[keep], rows[keep], batch["segments"][keep], hidden


def _unpacked_token_scores(model, group: AnswerGroup, pad_id: int, temperature: float, with_hidden: bool) -> TokenScores:
    """:func:`group_token_logprobs` of one group, one row per answer (attention without custom masks)."""
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in collate([Example.of(group.prompt_ids, a) for a in group.answers], pad_id).items()}
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=with_hidden)
    n = len(group.prompt_ids)
    logprobs, entropies = [], []
    for row, answer in enumerate(group.answers):
        logits = out.logits[row, n - 1 : n - 1 + len(answer)].float() / temperature
        logz = logits.logsumexp(-1)
        logprobs.append(logits.gather(-1, torch.tensor(answer, device=device)[:, None]).squeeze(-1) - logz)
        entropies.append(logz - (logits.softmax(-1) * logits).sum(-1))
    hidden = out.hidden_states[-1][0, n - 1].float() if with_hidden else None
    return TokenScores(logprobs, entropies, hidden)


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
