"""Teachers for LLM4Teach: a probability for each candidate action of a state.

A teacher answers :meth:`distributions` for a batch of :class:`TeacherQuery`
(the state's task, observation, candidates, the env oracle's action there and
the student's prompt) with one distribution per query, in candidate order.

* :class:`OracleTeacher`: the env's expert, imperfect on purpose when asked:
  mass ``1 - epsilon`` on the expert's action and ``epsilon`` spread evenly
  over the other candidates, then flattened by ``temperature`` (``p ** (1/T)``,
  renormalised). Where the oracle had no action (``ExpertUnavailable``) the
  teacher is uniform.
* :class:`PolicyTeacher`: any policy. One with ``action_distribution`` (a local
  Hugging Face model) gives its own distribution over the candidates; any other
  (an OpenAI-compatible server, a callable) is asked ``samples`` times and the
  teacher is the frequency of each candidate among its answers (LLM4Teach's
  way: the authors asked their LLM 10 times), uniform where no answer was a
  candidate. Answers are cached by (task, observation, candidates), on disk
  when ``cache_path`` is given (rewritten atomically), as the authors cached
  theirs by observation text.

Every distribution is checked (length, finite, non-negative, positive total);
a bad one raises a ValueError naming the state's task id.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stepagent_envs.action_match import normalized

__all__ = ["OracleTeacher", "PolicyTeacher", "TeacherQuery", "check_distribution"]


@dataclass
class TeacherQuery:
    """One state a teacher is asked about."""

    task_id: Any
    task: str
    observation: str
    candidates: list[str]
    expert_action: str | None = None
    prompt: Any = None  #: the student's prompt (its history is the episode so far)


def check_distribution(probs: Sequence[float], query: TeacherQuery) -> list[float]:
    """``probs`` normalised, after checking it is a distribution over ``query``'s candidates."""
    values = [float(p) for p in probs]
    where = f"the teacher's distribution for task {query.task_id!r}"
    if len(values) != len(query.candidates):
        raise ValueError(f"{where} has {len(values)} probabilities for {len(query.candidates)} candidates "
                         f"{query.candidates[:5]}; a teacher gives one per candidate, in their order")
    if any(not math.isfinite(p) or p < 0 for p in values) or not sum(values) > 0:
        raise ValueError(f"{where} is {values[:8]}: probabilities must be finite, non-negative and not all 0")
    total = sum(values)
    return [p / total for p in values]


def _flatten(probs: list[float], temperature: float) -> list[float]:
    if temperature == 1.0:
        return probs
    powered = [p ** (1.0 / temperature) for p in probs]
    total = sum(powered)
    return [p / total for p in powered]


class OracleTeacher:
    """The env's expert as a teacher (see the module docstring).

    Args:
        epsilon: Mass on the candidates other than the expert's action, in [0, 1).
        temperature: > 0; above 1 flattens the distribution, below 1 sharpens it.
    """

    def __init__(self, epsilon: float = 0.0, temperature: float = 1.0):
        if not 0 <= epsilon < 1:
            raise ValueError(f"epsilon must be in [0, 1), got {epsilon!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.epsilon, self.temperature = epsilon, temperature
        self.no_expert = 0  #: states where the oracle had no action among the candidates (uniform answer)

    def distributions(self, queries: Sequence[TeacherQuery]) -> list[list[float]]:
        out = []
        for q in queries:
            k = len(q.candidates)
            wanted = normalized(q.expert_action) if q.expert_action is not None else None
            hits = [i for i, c in enumerate(q.candidates) if normalized(c) == wanted]
            if not hits or k == 1:
                self.no_expert += not hits
                out.append(check_distribution([1.0] * k, q))
                continue
            probs = [self.epsilon / (k - 1)] * k
            probs[hits[0]] = 1.0 - self.epsilon
            out.append(check_distribution(_flatten(probs, self.temperature), q))
        return out


class PolicyTeacher:
    """Any policy as a teacher (see the module docstring).

    Args:
        policy: An ``HFPolicy`` (its ``action_distribution``) or any policy with ``act``.
        samples: Answers asked per state from a policy without ``action_distribution``.
        temperature: Of ``action_distribution`` (> 0).
        cache_path: A JSON file the answers are kept in across runs (None: in memory only).
    """

    def __init__(self, policy, samples: int = 10, temperature: float = 1.0, cache_path: str | None = None):
        if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
            raise ValueError(f"samples must be an int >= 1, got {samples!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.policy, self.samples, self.temperature, self.cache_path = policy, samples, temperature, cache_path
        self.cache: dict[str, list[float]] = {}
        if cache_path and os.path.exists(cache_path):
            with open(cache_path, encoding="utf-8") as f:
                self.cache = json.load(f)
        self.hits = self.misses = self.unmatched = 0

    @staticmethod
    def key(query: TeacherQuery) -> str:
        return hashlib.sha1(json.dumps([query.task, query.observation, query.candidates]).encode()).hexdigest()

    def distributions(self, queries: Sequence[TeacherQuery]) -> list[list[float]]:
        keys = [self.key(q) for q in queries]
        todo = [i for i, k in enumerate(keys) if k not in self.cache]
        self.hits += len(queries) - len(todo)
        self.misses += len(todo)
        if todo:
            fresh = self._ask([queries[i] for i in todo])
            for i, probs in zip(todo, fresh):
                self.cache[keys[i]] = check_distribution(probs, queries[i])
            self._save()
        return [check_distribution(self.cache[k], q) for k, q in zip(keys, queries)]

    def _prompts(self, queries: Sequence[TeacherQuery]) -> list:
        builder = getattr(self.policy, "builder", None)
        if builder is None:
            return [q.prompt for q in queries]
        return [builder.build(q.task, q.prompt.history if q.prompt is not None else [], q.observation, q.candidates)
                for q in queries]

    def _ask(self, queries: Sequence[TeacherQuery]) -> list[list[float]]:
        prompts = self._prompts(queries)
        if hasattr(self.policy, "action_distribution"):
            return self.policy.action_distribution(prompts, [q.candidates for q in queries], self.temperature)
        answers = self.policy.act([p for p in prompts for _ in range(self.samples)])
        out = []
        for n, q in enumerate(queries):
            counts = Counter(normalized(a) for a in answers[n * self.samples : (n + 1) * self.samples]
                             if isinstance(a, str))
            probs = [float(counts.get(normalized(c), 0)) for c in q.candidates]
            if not sum(probs):  # no answer was a candidate: the teacher does not know
                self.unmatched += 1
                probs = [1.0] * len(q.candidates)
            out.append(probs)
        return out

    def _save(self) -> None:
        if not self.cache_path:
            return
        os.makedirs(os.path.dirname(os.path.abspath(self.cache_path)), exist_ok=True)
        tmp = f"{self.cache_path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.cache, f)
        os.replace(tmp, self.cache_path)
