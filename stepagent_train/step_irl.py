"""StepAgent's second reflection: inverse RL, a learned step reward and a policy-gradient update, in cycles.

*From Novice to Expert* (StepAgent, WWW'25) reflects either with an implicit
reward (step-level DPO, :mod:`~stepagent_train.step_dpo`) or by inverse
reinforcement learning: a reward learned from the comparison of the expert's and
the agent's actions, then an RL update of the policy. No code was released and
its full text was not available to us, so this is our reading, every choice a
config field (``stepagent-train stepagent --reflection inverse``):

0. **Start.** Demonstrations are ``train_file``, or ``demo_episodes`` oracle
   episodes of the train split; the policy is ``model`` (an SFT run or
   checkpoint: required, as for every RL algorithm here). A value head on the
   policy's trunk (the actor-critic core, :mod:`~stepagent_train.actor_critic`)
   lives for the whole run, as does the optimizer.
1. **Inspection** (cycle ``c``), as in step-DPO: ``trajectories`` expert records
   and ``steps_per_trajectory`` of their steps drawn with ``(seed, c)``; at each
   such state ``s`` (the expert's prefix, the shared prompt builder's prompt)
   the policy samples ``k`` actions at ``temperature`` (``Policy.sample``: token
   ids and log-probabilities kept). ``metric(a, a*)`` scores each.
2. **Step reward model** ``r_phi(s, a)``: a discriminator ``D(s, a) =
   sigmoid(f(h(s, a)))`` between the expert's action and the agent's at the same
   state (GAIL/AIRL family). ``h(s, a)`` is the policy's last-layer hidden state
   averaged over the answer's tokens, concatenated with the one at its last token
   (the action read in its state's context), computed with the policy **frozen as
   it is at the cycle's start** (no gradient; its trunk is not trained by the reward loss);
   ``f`` is linear (``reward_hidden`` 0) or one hidden layer of ``reward_hidden``
   units, on features standardised over the cycle's set. Positives: the expert's
   action at each inspected state; negatives: the sampled actions scoring below
   ``agree_threshold`` (an agreeing sample would be labelled both ways). It is
   fitted afresh each cycle (the features move with the policy), or warm-started
   from ``reward_init`` (an earlier run's ``cycle-N/``), with the logistic loss
   weighted so both classes count equally, full-batch AdamW for
   ``reward_epochs`` steps at ``reward_lr`` (``reward_weight_decay``). The reward
   is AIRL's form, the logit: ``r_phi = log D - log(1 - D)``, clipped to
   ``+-reward_clip``. Memory: ``2 * hidden_size + 1`` weights (linear; 1,153 floats
   on SmolLM2-135M) or ``(2 * hidden_size + 2) * reward_hidden + 1``, and one
   ``2 * hidden_size`` feature per inspected action; one extra forward per scored action.
3. **Reflection (RL).** Turns to learn from (``rollouts``): ``prefix``, the
   inspection samples themselves, one-turn episodes at the expert's states;
   ``free``, episodes the policy plays from reset on train tasks
   (``tasks_per_iteration`` x ``group_size``, the on-policy core); or ``both``.
   Each turn's reward is ``reward_weight * r_phi(s, a) + outcome_weight *
   env reward`` (a prefix turn is not executed: env reward 0), ``r_phi``
   standardised over the cycle's turns (``reward_normalize``): raw, the logit
   was positive on most turns (~+3 on StepGrid), which pays longer episodes. Then the
   actor-critic core: values, GAE over turns (``gamma``, ``gae_lambda``),
   advantages normalised, PPO's clipped surrogate for ``update_epochs`` passes,
   the value loss, and ``kl_coef`` times the k3 KL to **the cycle's reference**
   (the policy at the cycle's start, which sampled the turns).
4. **Cycle end.** A checkpoint, dev evaluation, best cycle by ``select_by`` in
   ``best/``, as in step-DPO. Per cycle: ``cycle-N/inspection.json``,
   ``cycle-N/reward_model.pt`` + ``reward_model.json`` (AUC on its training set and
   on held-out inspected states, the mean reward of expert and agent actions),
   ``cycle-N/rollouts.jsonl`` (free rollouts), ``report.json``. Resume continues at
   the cycle after the last finished one, exactly (a cycle is collected again from its seeds).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from wrappers.metrics import resolve_metric

from .actor_critic import ActorCriticConfig, ValueHead, actor_critic_step, score_episodes
from .advantages import standardise
from .checkpoint import write_json
from .config import InspectionConfig, resolve_run_model
from .loop import check_output_dir, cycle_file, open_session, run_cycles
from .onpolicy import Turn, collect_turns
from .prompts import examples_from_record
from .stages import demo_records, draw_sites

__all__ = ["ROLLOUTS", "StepIRLConfig", "StepRewardModel", "action_features", "auc", "fit_reward_model", "train_step_irl"]

ROLLOUTS = ("prefix", "free", "both")
_RESUME_KEYS = ("env", "env_kwargs", "train_file", "demo_episodes", "model", "lora", "seed", "trajectories",
                "steps_per_trajectory", "k", "temperature", "rollouts", "tasks_per_iteration", "group_size",
                "batch_size", "grad_accum_steps", "update_epochs")


@dataclass(kw_only=True)
class StepIRLConfig(ActorCriticConfig, InspectionConfig):
    """Settings of StepAgent with inverse-RL reflection: the actor-critic core's plus inspection's and the
    step reward model's (``iterations`` counts the cycles)."""

    output_dir: str = field(metadata={"help": "run folder: cycle-N/ (inspection, reward model, rollouts), checkpoints/, best/, metrics.jsonl, summary.json"})
    iterations: int = field(default=2, metadata={"help": "cycles: inspection + reward model + RL reflection (--cycles on the stepagent command)"})
    agree_threshold: float = field(default=1.0, metadata={"help": "a sample scoring below this (metric against the expert) is a negative of the reward model"})
    rollouts: str = field(default="prefix", metadata={"help": "turns of the RL update: prefix (the inspection samples at the expert's states), free (episodes from reset) or both"})
    tasks_per_iteration: int = field(default=8, metadata={"help": "rollouts=free/both: train tasks played per cycle (each group_size times)"})
    reward_hidden: int = field(default=0, metadata={"help": "hidden units of the reward model's MLP on the policy's features (0: linear)"})
    reward_epochs: int = field(default=200, metadata={"help": "full-batch AdamW steps fitting the reward model each cycle"})
    reward_lr: float = field(default=1e-2, metadata={"help": "learning rate of the reward model"})
    reward_weight_decay: float = field(default=1e-2, metadata={"help": "AdamW weight decay of the reward model"})
    reward_clip: float = field(default=5.0, metadata={"help": "the learned reward log D - log(1 - D) is clipped to +- this"})
    reward_weight: float = field(default=1.0, metadata={"help": "weight of the learned step reward in a turn's reward"})
    outcome_weight: float = field(default=0.0, metadata={"help": "weight of the env's own reward added to a turn's reward (0: the learned reward alone)"})
    reward_normalize: bool = field(default=True, metadata={"help": "standardise the learned reward over the cycle's turns (mean 0, std 1) before reward_weight. The raw AIRL logit is positive on most turns of an agent that mostly agrees with the expert, so its sum pays longer episodes, and its size (returns ~30 on StepGrid) let the value loss dominate the clipped gradient"})
    reward_init: str | None = field(default=None, metadata={"help": "warm-start the reward model from an earlier run's cycle-N/ folder (same policy tokenizer)"})

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.reward_epochs, int) or isinstance(self.reward_epochs, bool) or self.reward_epochs < 1:
            raise ValueError(f"reward_epochs must be an int >= 1, got {self.reward_epochs!r}")
        if self.rollouts not in ROLLOUTS:
            raise ValueError(f"unknown rollouts {self.rollouts!r}; expected one of {', '.join(ROLLOUTS)}")
        if self.reward != "outcome":
            raise ValueError(f"reward={self.reward!r}: inverse RL learns its step reward, the oracle's is not used; "
                             "leave reward=outcome and set outcome_weight to mix in the env's reward")
        if not 0 < self.agree_threshold <= 1:
            raise ValueError(f"agree_threshold must be in (0, 1], got {self.agree_threshold!r}")
        if not isinstance(self.reward_hidden, int) or self.reward_hidden < 0:
            raise ValueError(f"reward_hidden must be an int >= 0 (0: linear), got {self.reward_hidden!r}")
        if not self.reward_lr > 0 or self.reward_weight_decay < 0 or not self.reward_clip > 0:
            raise ValueError(f"need reward_lr > 0, reward_weight_decay >= 0 and reward_clip > 0, got {self.reward_lr}, "
                             f"{self.reward_weight_decay} and {self.reward_clip}")
        if self.reward_weight < 0 or self.outcome_weight < 0 or self.reward_weight + self.outcome_weight == 0:
            raise ValueError(f"reward_weight and outcome_weight must be >= 0 and not both 0, got {self.reward_weight} "
                             f"and {self.outcome_weight}")
        if self.reward_init is not None and not os.path.isfile(os.path.join(self.reward_init, "reward_model.pt")):
            raise ValueError(f"reward_init {self.reward_init!r} holds no reward_model.pt; pass a cycle-N/ folder of an "
                             "earlier inverse-RL run")


# -- the step reward model -----------------------------------------------------
class StepRewardModel(torch.nn.Module):
    """``f(h)``: the discriminator's logit on standardised features; the reward is this logit, clipped."""

    def __init__(self, features: int, hidden: int = 0):
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("scale", torch.ones(features))
        self.net = torch.nn.Linear(features, 1) if hidden == 0 else torch.nn.Sequential(
            torch.nn.Linear(features, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net((features - self.mean) / self.scale).squeeze(-1)

    def reward(self, features: torch.Tensor, clip: float) -> torch.Tensor:
        """``log D - log(1 - D)`` (the logit), clipped to ``+-clip``, without gradient."""
        with torch.no_grad():
            return self(features).clamp(-clip, clip)


def action_features(model, items: list[tuple[list[int], list[int]]], pad_id: int, batch_size: int) -> torch.Tensor:
    """``[len(items), 2 * hidden]``: per ``(prompt_ids, answer_ids)``, the model's last-layer hidden state
    averaged over the answer's tokens, then the one at its last token; eval mode, no gradient, float32."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for start in range(0, len(items), batch_size):
            rows = [list(p) + list(a) for p, a in items[start : start + batch_size]]
            width = max(len(r) for r in rows)
            ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for i, r in enumerate(rows):
                ids[i, : len(r)] = torch.tensor(r)
                mask[i, : len(r)] = 1
            hidden = model(input_ids=ids.to(device), attention_mask=mask.to(device), output_hidden_states=True).hidden_states[-1]
            hidden = hidden.float().cpu()
            for i, (p, a) in enumerate(items[start : start + batch_size]):
                answer = hidden[i, len(p) : len(p) + len(a)]
                out.append(torch.cat([answer.mean(0), answer[-1]]))
    model.train(was_training)
    return torch.stack(out) if out else torch.zeros((0, 0))


def auc(positive: list[float], negative: list[float]) -> float | None:
    """The area under the ROC curve: the chance a positive scores above a negative (ties count half);
    None when a class is empty."""
    if not positive or not negative:
        return None
    pos, neg = np.asarray(positive)[:, None], np.asarray(negative)[None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def fit_reward_model(positive: torch.Tensor, negative: torch.Tensor, hidden: int = 0, epochs: int = 200, lr: float = 1e-2,
                     weight_decay: float = 1e-2, seed: int = 0, init: StepRewardModel | None = None) -> StepRewardModel:
    """Fit ``D = sigmoid(f(h))`` to separate ``positive`` (expert) from ``negative`` (agent) features with the
    logistic loss, each class weighted to half the total; deterministic given ``seed`` (the global RNG is untouched)."""
    if len(positive) == 0 or len(negative) == 0:
        raise ValueError(f"the reward model needs expert and agent actions, got {len(positive)} and {len(negative)}")
    features = torch.cat([positive, negative])
    labels = torch.cat([torch.ones(len(positive)), torch.zeros(len(negative))])
    weights = torch.cat([torch.full((len(positive),), 0.5 / len(positive)), torch.full((len(negative),), 0.5 / len(negative))])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = StepRewardModel(features.shape[1], hidden)
    if init is not None:
        model.load_state_dict(init.state_dict())
    model.mean.copy_(features.mean(0))
    model.scale.copy_(features.std(0).clamp_min(1e-4) if len(features) > 1 else torch.ones(features.shape[1]))
    optimizer = torch.optim.AdamW(model.net.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(epochs):
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(model(features), labels, reduction="none") * weights).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def _load_reward_init(folder: str, tokenizer, hidden_size: int) -> tuple[StepRewardModel, dict]:
    """An earlier run's reward model, refused (naming both tokenizers) when fitted on another policy's features."""
    with open(os.path.join(folder, "reward_model.json"), encoding="utf-8") as f:
        meta = json.load(f)
    ours = {"tokenizer": getattr(tokenizer, "name_or_path", ""), "vocab_size": len(tokenizer), "features": 2 * hidden_size}
    theirs = {key: meta.get(key) for key in ours}
    if theirs["vocab_size"] != ours["vocab_size"] or theirs["features"] != ours["features"]:
        raise ValueError(f"reward_init {folder!r} was fitted on the features of tokenizer {theirs['tokenizer']!r} "
                         f"(vocab {theirs['vocab_size']}, {theirs['features']} features), but the policy's tokenizer is "
                         f"{ours['tokenizer']!r} (vocab {ours['vocab_size']}, {ours['features']} features); pass a "
                         "reward model of this policy or none")
    model = StepRewardModel(ours["features"], meta["reward_hidden"])
    model.load_state_dict(torch.load(os.path.join(folder, "reward_model.pt"), weights_only=True))
    return model, meta


# -- one cycle's data ----------------------------------------------------------
def _inspect(session, records: list[dict], config: StepIRLConfig, cycle: int, show_progress: bool):
    """Sample ``k`` actions at drawn states of the expert's path: ``[(record, step, prompt, expert, [Sample])]``."""
    rng = np.random.default_rng([config.seed, cycle])
    examples = {}
    sites = []
    for r, t in draw_sites(records, config.trajectories, config.steps_per_trajectory, rng):
        if r not in examples:
            examples[r] = examples_from_record(session.builder, records[r])
        sites.append((r, t, *examples[r][t], []))
    if not sites:
        raise ValueError("inspection found no steps: the demonstrations hold no steps")
    session.model.eval()
    policy = session.policy(max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                            batch_size=config.generation_batch_size, seed=config.seed * 100_003 + cycle)
    flat = [i for _ in range(config.k) for i in range(len(sites))]
    for start in tqdm(range(0, len(flat), policy.batch_size), desc=f"inspect cycle {cycle}", disable=not show_progress,
                      leave=False):
        part = flat[start : start + policy.batch_size]
        for i, sample in zip(part, policy.sample([sites[i][2] for i in part])):
            sites[i][4].append(sample)
    return sites


def _cycle_data(session, records: list[dict], config: StepIRLConfig, cycle: int, init, show_progress: bool):
    metric = resolve_metric(config.metric)
    sites = _inspect(session, records, config, cycle, show_progress)
    expert_items = [(list(prompt.input_ids), session.builder.answer_ids(prompt, expert)[: config.max_answer_tokens])
                    for _, _, prompt, expert, _ in sites]
    scores = [[float(metric(s.action, expert)) for s in samples] for _, _, _, expert, samples in sites]
    agent_items = [(list(prompt.input_ids), s.token_ids) for _, _, prompt, _, samples in sites for s in samples]
    batch = max(1, config.generation_batch_size // 4)
    expert_features = action_features(session.model, expert_items, session.pad, batch)
    agent_features = action_features(session.model, agent_items, session.pad, batch)
    negative = [j for j, s in enumerate(x for row in scores for x in row) if s < config.agree_threshold]
    # Held-out states (every fifth site) measure whether the reward generalises; the model is fitted on all.
    held = {i for i in range(len(sites)) if i % 5 == 4}
    site_of = [i for i, (*_, samples) in enumerate(sites) for _ in samples]
    report = {"inspected_states": len(sites), "samples": len(agent_items), "negatives": len(negative),
              "agreement": float(np.mean([x for row in scores for x in row]))}
    if not negative:  # every sample matched the expert: nothing to tell apart, the policy is left as it is
        model = None
        report["reward_model"] = "skipped: no sampled action differed from the expert's"
    else:
        fit = [j for j in negative if site_of[j] not in held] or negative
        train_pos = [i for i in range(len(sites)) if i not in held] or list(range(len(sites)))
        check = fit_reward_model(expert_features[train_pos], agent_features[fit], config.reward_hidden, config.reward_epochs,
                                 config.reward_lr, config.reward_weight_decay, config.seed * 1000 + cycle, init)
        model = fit_reward_model(expert_features, agent_features[negative], config.reward_hidden, config.reward_epochs,
                                 config.reward_lr, config.reward_weight_decay, config.seed * 1000 + cycle, init)
        with torch.no_grad():
            held_pos = check(expert_features[sorted(held)]).tolist() if held else []
            held_neg = check(agent_features[[j for j in negative if site_of[j] in held]]).tolist() if held else []
            train_auc = auc(model(expert_features).tolist(), model(agent_features[negative]).tolist())
        expert_reward = model.reward(expert_features, config.reward_clip)
        agent_reward = model.reward(agent_features, config.reward_clip)
        report.update({"reward_auc_train": train_auc, "reward_auc_heldout": auc(held_pos, held_neg),
                       "expert_reward": float(expert_reward.mean()), "agent_reward": float(agent_reward.mean())})
        meta = {"tokenizer": getattr(session.tokenizer, "name_or_path", ""), "vocab_size": len(session.tokenizer),
                "features": int(expert_features.shape[1]), "reward_hidden": config.reward_hidden, "cycle": cycle,
                **{key: report[key] for key in ("reward_auc_train", "reward_auc_heldout", "expert_reward", "agent_reward")}}
        os.makedirs(os.path.dirname(cycle_file(config.output_dir, cycle, "x")), exist_ok=True)
        torch.save(model.state_dict(), cycle_file(config.output_dir, cycle, "reward_model.pt"))
        write_json(cycle_file(config.output_dir, cycle, "reward_model.json"), meta)
    write_json(cycle_file(config.output_dir, cycle, "inspection.json"), {
        "cycle": cycle, "metric": config.metric, "k": config.k, "agreement": report["agreement"],
        "states": [{"record": r, "step": t, "expert": expert, "samples": [s.action for s in samples], "scores": row}
                   for (r, t, _, expert, samples), row in zip(sites, scores)]})

    episodes: list[dict] = []
    turns: list[Turn] = []  # every turn this cycle learns from, each to be paid its learned reward
    if config.rollouts in ("prefix", "both"):
        # agent_items run over sites then samples; so do these one-turn episodes (a prefix turn has no env reward).
        for (_, _, prompt, expert, samples) in sites:
            for sample in samples:
                turns.append(Turn(list(prompt.input_ids), sample, 0.0, len(episodes), prompt.text, prompt=prompt,
                                  expert_action=expert))
                episodes.append({"turns": [turns[-1]], "group": len(episodes), "won": False, "score": 0.0, "task_id": None})
    prefix = len(turns)
    if config.rollouts in ("free", "both"):
        played, played_report = collect_turns(session, config, cycle, show_progress)
        for e in played:
            for t in e["turns"]:  # episode indices follow the prefix episodes'
                t.episode += len(episodes)
                turns.append(t)
        report.update({f"free_{key}": value for key, value in played_report.items()})
        episodes += played
    # With no reward model every sample matched the expert: each gets the largest reward (0 once standardised).
    learned = np.full(len(turns), config.reward_clip)
    if model is not None and turns:
        free = [(t.prompt_ids, t.sample.token_ids) for t in turns[prefix:]]
        parts = [model.reward(agent_features, config.reward_clip)] if prefix else []  # the inspection's own features
        if free:
            parts.append(model.reward(action_features(session.model, free, session.pad, batch), config.reward_clip))
        learned = torch.cat(parts).numpy()
    report["learned_reward_raw_mean"] = float(learned.mean()) if len(turns) else 0.0
    if config.reward_normalize and len(turns):
        learned = standardise(learned)
    for t, r in zip(turns, learned.tolist()):
        t.reward = config.reward_weight * r + config.outcome_weight * t.reward
    data = score_episodes(session, config, episodes, report, cycle, None)
    if config.kl_coef > 0:  # the cycle's reference is the policy that sampled these turns
        for t in data.items:
            t.ref_logprobs = list(t.sample.logprobs)
    data.report["mean_turn_reward"] = float(np.mean([t.reward for t in data.items])) if data.items else 0.0
    return data


# -- the run -------------------------------------------------------------------
def train_step_irl(config: StepIRLConfig, show_progress: bool = True) -> dict:
    """Run StepAgent with inverse-RL reflection as ``config`` says (see the module docstring).

    Returns:
        The summary (also ``summary.json``): ``best_checkpoint``, ``best_cycle`` (0: the starting
        policy), ``start_model``, ``initial_dev``, ``cycles`` (per cycle: inspection agreement, the
        reward model's AUCs and mean rewards, rollout figures, dev result, checkpoint), ``stopped_early``.
    """
    out = config.output_dir
    check_output_dir(config, "StepAgent (inverse)")
    os.makedirs(out, exist_ok=True)
    records = demo_records(config, show_progress)[1]
    start_model = resolve_run_model(config.model)
    session = open_session(config, start_model, _RESUME_KEYS,
                           modules=lambda model: {"value_head": ValueHead(model.config.hidden_size)}, name="StepAgent (inverse)")
    init = None
    if config.reward_init is not None:
        hidden_size = session.accelerator.unwrap_model(session.model).config.hidden_size
        init = _load_reward_init(config.reward_init, session.tokenizer, hidden_size)[0]
    summary = run_cycles(config, session, config.iterations,
                         lambda cycle: _cycle_data(session, records, config, cycle, init, show_progress),
                         lambda data, micro_batches: actor_critic_step(session, config, data, micro_batches),
                         start_model, "stepagent-inverse", fresh_optimizer=False, resumable_mid_cycle=False,
                         eval_initial=config.eval_initial, eval_every=config.eval_every, show_progress=show_progress)
    summary["agreement_by_cycle"] = {str(c["cycle"]): c.get("agreement") for c in summary["cycles"]}
    write_json(os.path.join(out, "summary.json"), summary)
    return summary
