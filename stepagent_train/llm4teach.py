"""LLM4Teach (Zhou et al., arXiv 2311.13373): a student distilled from a teacher's action
distributions while it learns by PPO on the env's reward, the teacher's weight annealed away.

Each iteration is a PPO iteration of the actor-critic core
(:mod:`~stepagent_train.actor_critic`: rollouts by the student, a value head,
GAE over turns, the clipped surrogate, ``vf_coef`` times the value loss, the
entropy bonus) plus, for every turn with candidate actions, the teacher's
distribution over those candidates (:mod:`~stepagent_train.teachers`) and the
term ``lambda_k * CE(teacher, student)``, the cross-entropy
``-sum_a p_teacher(a) log p_student(a)`` averaged over the step's turns, where
``p_student`` is the student's softmax over the candidates (at ``temperature``).

The weight follows the authors' schedule, every constant a flag:
``lambda_k = max(lambda_start - lambda_decay * k, lambda_floor)`` for iterations
``k = 0, 1, ...`` before ``lambda_stop``, then 0 (their values: 10, 0.005, 0.1,
3000; their loss also has ``vf_coef`` 0.5 and ``entropy_coef`` 0.001, which are
this config's defaults here). Turns without candidates (an open action space)
get no teacher term: LLM4Teach's tasks list their actions (StepGrid-v0).

Teachers: ``oracle`` (the env's expert, with ``teacher_epsilon`` of its mass on
other actions and a ``teacher_temperature``: an imperfect teacher on purpose) or
``policy`` (``teacher_model``: an HF model folder or hub id, or an
OpenAI-compatible endpoint with ``teacher_http_model``; answers cached in
``<output_dir>/teacher_cache.json``). Reported per iteration: ``lambda``, the mean
``teacher_ce``, the student's agreement with the teacher's top action, and the
teacher's cache hits and misses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch

from .actor_critic import ActorCriticConfig, actor_critic_step, collect_scored, open_actor_critic
from .config import resolve_run_model
from .loop import check_output_dir, run_cycles
from .teachers import OracleTeacher, PolicyTeacher, TeacherQuery

__all__ = ["LLM4TeachConfig", "teacher_cross_entropy", "teacher_weight", "train_llm4teach"]

TEACHERS = ("oracle", "policy")
_RESUME_KEYS = ("env", "env_kwargs", "model", "lora", "seed", "tasks_per_iteration", "group_size", "temperature", "reward",
                "batch_size", "grad_accum_steps", "update_epochs", "teacher", "teacher_model", "teacher_epsilon")


@dataclass(kw_only=True)
class LLM4TeachConfig(ActorCriticConfig):
    """Settings of an LLM4Teach run: the actor-critic core's plus the teacher's."""

    entropy_coef: float = field(default=0.001, metadata={"help": "weight of the entropy bonus (the authors' 0.001)"})
    teacher: str = field(default="oracle", metadata={"help": "oracle (the env's expert) or policy (teacher_model)"})
    teacher_model: str | None = field(default=None, metadata={"help": "teacher=policy: a model folder, hub id or http(s):// endpoint"})
    teacher_http_model: str | None = field(default=None, metadata={"help": "teacher=policy over HTTP: the served model's name"})
    teacher_samples: int = field(default=10, metadata={"help": "answers asked per state from a teacher without action_distribution"})
    teacher_epsilon: float = field(default=0.0, metadata={"help": "teacher=oracle: mass on the non-expert actions (0.3: an imperfect teacher)"})
    teacher_temperature: float = field(default=1.0, metadata={"help": "temperature of the teacher's distribution (> 0)"})
    lambda_start: float = field(default=10.0, metadata={"help": "teacher weight at iteration 0 (the authors' 10)"})
    lambda_decay: float = field(default=0.005, metadata={"help": "teacher weight lost per iteration (the authors' 0.005)"})
    lambda_floor: float = field(default=0.1, metadata={"help": "lowest teacher weight before lambda_stop (the authors' 0.1)"})
    lambda_stop: int = field(default=3000, metadata={"help": "from this iteration on the teacher weight is 0 (the authors' 3000)"})

    def __post_init__(self):
        super().__post_init__()
        if self.teacher not in TEACHERS:
            raise ValueError(f"unknown teacher {self.teacher!r}; expected one of {', '.join(TEACHERS)}")
        if self.teacher == "policy" and not self.teacher_model:
            raise ValueError("teacher=policy needs teacher_model: a model folder, hub id or http(s):// endpoint")
        if not 0 <= self.teacher_epsilon < 1 or not self.teacher_temperature > 0:
            raise ValueError(f"need 0 <= teacher_epsilon < 1 and teacher_temperature > 0, got {self.teacher_epsilon} "
                             f"and {self.teacher_temperature}")
        if min(self.lambda_start, self.lambda_decay, self.lambda_floor) < 0 or self.lambda_stop < 0:
            raise ValueError("lambda_start, lambda_decay, lambda_floor and lambda_stop must be >= 0, got "
                             f"{self.lambda_start}, {self.lambda_decay}, {self.lambda_floor}, {self.lambda_stop}")
        if not isinstance(self.teacher_samples, int) or self.teacher_samples < 1:
            raise ValueError(f"teacher_samples must be an int >= 1, got {self.teacher_samples!r}")


def teacher_weight(k: int, start: float = 10.0, decay: float = 0.005, floor: float = 0.1, stop: int = 3000) -> float:
    """``lambda_k``: ``max(start - decay * k, floor)`` before iteration ``stop``, then 0."""
    return 0.0 if k >= stop else max(start - decay * k, floor)


def teacher_cross_entropy(student_logprobs: torch.Tensor, teacher_probs: list[float]) -> torch.Tensor:
    """``-sum_a p_teacher(a) log p_student(a)`` over one state's candidates."""
    teacher = torch.tensor(teacher_probs, dtype=student_logprobs.dtype, device=student_logprobs.device)
    return -(teacher * student_logprobs).sum()


def _teacher(config: LLM4TeachConfig):
    if config.teacher == "oracle":
        return OracleTeacher(config.teacher_epsilon, config.teacher_temperature)
    from .evaluate import PolicySpec, load_policy

    policy = load_policy(PolicySpec(config.teacher_model, http_model=config.teacher_http_model))
    return PolicyTeacher(policy, config.teacher_samples, config.teacher_temperature,
                         os.path.join(config.output_dir, "teacher_cache.json"))


def train_llm4teach(config: LLM4TeachConfig, show_progress: bool = True) -> dict:
    """Run LLM4Teach as ``config`` says; returns the summary (also ``summary.json``), as PPO's."""
    check_output_dir(config, "LLM4Teach")
    os.makedirs(config.output_dir, exist_ok=True)
    start_model = resolve_run_model(config.model)
    session, reference = open_actor_critic(config, start_model, _RESUME_KEYS, "LLM4Teach")
    teacher = _teacher(config)
    weight = {"now": 0.0}

    def annotate(episodes: list[dict]) -> dict:
        asked = [(e["task_id"], t) for e in episodes for t in e["turns"] if t.sample.candidates is not None]
        turns = [t for _, t in asked]
        queries = [TeacherQuery(task_id, t.prompt.task, t.anchor, list(t.prompt.valid_actions), t.expert_action, t.prompt)
                   for task_id, t in asked]
        for t, probs in zip(turns, teacher.distributions(queries) if queries else []):
            t.teacher = probs
        agree = [t.sample.candidate == max(range(len(t.teacher)), key=t.teacher.__getitem__) for t in turns]
        return {"lambda": weight["now"], "teacher_turns": len(turns),
                "teacher_agreement": sum(agree) / len(agree) if agree else 0.0,
                "teacher_cache_hits": getattr(teacher, "hits", 0), "teacher_cache_misses": getattr(teacher, "misses", 0)}

    def collect(iteration: int):
        weight["now"] = teacher_weight(iteration - 1, config.lambda_start, config.lambda_decay, config.lambda_floor,
                                       config.lambda_stop)
        return collect_scored(session, config, iteration, reference, show_progress, annotate)

    def teacher_term(turns, candidates, num_turns):
        terms = [teacher_cross_entropy(logp, t.teacher) for t, logp in zip(turns, candidates)
                 if t.teacher is not None and logp is not None]
        if not terms or weight["now"] == 0:
            return torch.zeros(()), {"teacher_ce": float(sum(float(x) for x in terms))}
        total = torch.stack(terms).sum()
        return weight["now"] * total / num_turns, {"teacher_ce": float(total.detach())}

    return run_cycles(config, session, config.iterations, collect,
                      lambda data, micro_batches: actor_critic_step(session, config, data, micro_batches, teacher_term),
                      start_model, "llm4teach", fresh_optimizer=False, resumable_mid_cycle=False,
                      eval_initial=config.eval_initial, eval_every=config.eval_every, show_progress=show_progress)
