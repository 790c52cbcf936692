"""StepMath-v0: multi-step arithmetic word problems with a sandboxed python tool."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction

from ..contract import TextEnv, text_space, to_charset
from ..shared_data import SharedDataEnv
from .answer import agrees, format_number, numbers_in, parse_number
from .gsm8k import load_gsm8k
from .problems import DEFAULT_SEED, SPLITS, Problem, generated_problems
from .sandbox import SandboxLimits, run_python

OBS_MAX_LENGTH = 4096
ACTION_MAX_LENGTH = 4096
TOOLS = ("python", "answer")
USAGE = "use python[code] to run a program or answer[number] to answer"
_ACTION = re.compile(r"^\s*(python|answer)\s*\[(.*)\]\s*$", re.IGNORECASE | re.DOTALL)
_FENCE = re.compile(r"^\s*```(?:python|py)?\s*\n(.*?)\n?\s*```\s*$", re.DOTALL)


@dataclass(frozen=True)
class MathState:
    """What the agent has done. Plain data, so the env deep-copies and pickles."""

    outputs: tuple[str, ...] = ()  #: each python call's output, in order
    ran_solution: bool = False  #: whether the problem's own solution program has been run
    answer: str | None = None  #: the answer text; set once the episode has ended


class StepMathEnv(SharedDataEnv, TextEnv):
    """Arithmetic word problems solved with a python tool, as in ARPO's computational setting
    (Dong et al., 2025): compute with ``python[...]``, then ``answer[...]``.

    ## Description
    Each episode draws one problem from the split with ``self.np_random``.
    The embedded problems are generated from nine templates that need three
    to six operations on two- to four-digit numbers (see :mod:`.problems`);
    ``data_path`` reads GSM8K JSON Lines instead (see :mod:`.gsm8k`).

    ## Action Space
    ``Text`` (printable ASCII, at most 4,096 characters), one tool call, tool
    names case-insensitive:

    * ``python[code]``: runs ``code`` (standard library only; a Markdown
      code fence inside the brackets is removed) in a fresh sandboxed
      process (see :mod:`.sandbox`: time, CPU, memory and output limits, no
      files outside its own folder, no network, no processes). Nothing
      carries over between calls: print what you need.
    * ``answer[number]``: answers and ends the episode. The number is read
      after normalisation (``$``, ``%``, digit-group commas dropped; a
      fraction ``a/b`` allowed; see :mod:`.answer`).

    ## Observation Space
    ``Text`` (printable ASCII, at most 4,096 characters). Reset shows the
    tools and the problem; a python call shows ``Output:`` and what the code
    printed (stdout and stderr interleaved; its own traceback lines on an
    error), cut to ``output_chars`` characters, and a note when the sandbox
    killed it (time, CPU, output size). Invalid actions get ``"Invalid
    action: <why>; use python[code] to run a program or answer[number] to
    answer."``.

    ## Rewards
    0 on every step but ``answer[...]``, which pays 1 when the number agrees
    with the gold answer (``|x - gold| <= 1e-6 * max(1, |gold|)``), else 0.

    ## Episode End
    Terminates on ``answer[...]``. Registered with ``max_episode_steps=8``
    (truncation).

    ## Information
    ``task`` (the problem), ``task_id`` (``"<split>-<index>"`` or
    ``"gsm8k-<line>"``), ``valid_actions`` (``[]``: the action space is
    open), ``tools`` (``["python", "answer"]``), ``tool_calls`` (python calls
    so far), ``won`` (a correct answer), ``score`` (the reward at the end, 0
    before), ``invalid``; after a python call ``tool_exit_code`` (``None``
    after a timeout; no wall time, so that seeded runs compare equal); at the answer ``answer``
    (the agent's text) and ``value`` (the number read from it, a float).

    ## Arguments
    * ``split``: ``"train"``, ``"dev"`` or ``"test"`` of the embedded problems
      (5,000 / 500 / 500, disjoint; default ``"train"``). With ``data_path``
      the file is the split and ``split`` (``None`` or a name) only labels it.
    * ``data_path``: a GSM8K JSON Lines file; ``None`` for the embedded problems.
    * ``seed``: seed of the embedded problems (0).
    * ``tool_timeout``: wall-clock seconds per python call (5; also its CPU seconds, rounded up).
    * ``tool_memory_mb``: address space per python call in MiB (512).
    * ``output_chars``: characters of a call's output shown (1,000).
    * ``use_bwrap``: ``None`` (bubblewrap when it works here), ``True`` (required) or ``False``.
    * ``render_mode``: ``None`` or ``"ansi"`` (the last observation).

    The oracle ``expert_action()`` answers the gold number once a python
    output has printed it, and otherwise runs the problem's solution
    program (on a GSM8K problem whose program does not print the answer, it
    answers the gold after running it).
    """

    _shared_attrs = ("problems", "by_id")

    def __init__(self, split: str | None = None, data_path: str | None = None, seed: int = DEFAULT_SEED,
                 tool_timeout: float = 5.0, tool_memory_mb: int = 512, output_chars: int = 1000,
                 use_bwrap: bool | None = None, render_mode: str | None = None):
        if split is None and data_path is None:
            split = "train"
        if split is not None and split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        if isinstance(output_chars, bool) or not isinstance(output_chars, int) or output_chars < 20:
            raise ValueError(f"output_chars must be an int >= 20, got {output_chars!r}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"unknown render_mode {render_mode!r}; expected None or 'ansi'")
        self.limits = SandboxLimits(timeout=float(tool_timeout), cpu_seconds=max(1, int(-(-tool_timeout // 1))),
                                    memory_mb=tool_memory_mb)
        self._config = dict(split=split, data_path=data_path, seed=seed)
        self.split, self.output_chars, self.use_bwrap, self.render_mode = split, output_chars, use_bwrap, render_mode
        self.observation_space = text_space(OBS_MAX_LENGTH)
        self.action_space = text_space(ACTION_MAX_LENGTH)
        self._attach()
        self.problem: Problem | None = None
        self.state = MathState()
        self._obs = ""

    def _attach(self) -> None:
        c = self._config
        self.problems = load_gsm8k(c["data_path"]) if c["data_path"] is not None else \
            generated_problems(c["split"], c["seed"])
        self.by_id = {p.pid: p for p in self.problems}

    # -- gymnasium API -------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        task_id = (options or {}).get("task_id")
        if task_id is None:
            self.problem = self.problems[int(self.np_random.integers(len(self.problems)))]
        elif task_id in self.by_id:
            self.problem = self.by_id[task_id]
        else:
            where = self._config["data_path"] or f"the {self.split} split"
            raise ValueError(f"task_id {task_id!r} is not in {where}; make the env with the split or data_path "
                             "that holds it")
        self.state = MathState()
        self._obs = to_charset("Solve the problem. Tools: python[code] runs a python program and shows what it "
                               "prints (each call starts afresh); answer[number] gives the final answer.\n"
                               f"Problem: {self.problem.question}", OBS_MAX_LENGTH)
        return self._obs, self._info()

    def step(self, action: str):
        if self.problem is None:
            raise RuntimeError("call reset() before step()")
        if self.state.answer is not None:
            raise RuntimeError("the episode has ended (answer was given); call reset()")
        if not isinstance(action, str):
            return self._invalid(f"actions are strings, got {type(action).__name__}")
        match = _ACTION.match(action)
        if match is None:
            return self._invalid(f"{to_charset(action)[:80]!r} is not a tool call")
        tool, arg = match.group(1).lower(), match.group(2)
        if tool == "python":
            fenced = _FENCE.match(arg)
            code = fenced.group(1) if fenced else arg
            if not code.strip():
                return self._invalid("python[] is empty; put the program inside the brackets")
            return self._python(code)
        value = parse_number(arg)
        if value is None:
            return self._invalid(f"answer[{to_charset(arg)[:40]}] is not one number; write e.g. answer[42] or "
                                 "answer[3.75]")
        return self._answer(arg.strip(), value)

    def task_ids(self) -> list[str]:
        """The ids of every problem the env draws from, in order (for ``reset(options={"task_id": ...})``)."""
        return [p.pid for p in self.problems]

    # -- expert --------------------------------------------------------
    def expert_action(self) -> str:
        """Answer once the gold number has been printed, else run the problem's solution program."""
        if self.problem is None or self.state.answer is not None:
            raise RuntimeError("no expert action: call reset() first (the episode has not started or has ended)")
        gold = self.problem.answer
        printed = any(agrees(v, gold) for out in self.state.outputs for v in numbers_in(out))
        if printed or self.state.ran_solution:
            return f"answer[{format_number(gold)}]"
        return f"python[{self.problem.program}]"

    # -- tools ---------------------------------------------------------
    def _python(self, code: str):
        result = run_python(code, self.limits, use_bwrap=self.use_bwrap)
        output = to_charset(result.output)
        shown = output if len(output) <= self.output_chars else \
            output[: self.output_chars] + f"\n... [{len(output) - self.output_chars} more characters]"
        note = result.describe(self.limits)
        text = f"Output:\n{shown.rstrip() or '(nothing printed)'}" + (f"\n{note}" if note else "")
        self.state = replace(self.state, outputs=(*self.state.outputs, output),
                             ran_solution=self.state.ran_solution or code.strip() == self.problem.program.strip())
        self._obs = to_charset(text, OBS_MAX_LENGTH)
        info = self._info()
        info.update(tool_exit_code=result.exit_code)
        return self._obs, 0.0, False, False, info

    def _answer(self, text: str, value: Fraction):
        won = agrees(value, self.problem.answer)
        self.state = replace(self.state, answer=text)
        verdict = "correct" if won else "not correct"
        self._obs = to_charset(f"Episode finished: you answered {format_number(value)}, which is {verdict}.",
                               OBS_MAX_LENGTH)
        info = self._info(score=float(won), won=won)
        info.update(answer=to_charset(text), value=float(value))
        return self._obs, float(won), True, False, info

    # -- helpers -------------------------------------------------------
    def _invalid(self, why: str):
        obs = to_charset(f"Invalid action: {why}; {USAGE}.", OBS_MAX_LENGTH)
        return obs, 0.0, False, False, self._info(invalid=True)

    def _info(self, invalid: bool = False, score: float = 0.0, won: bool = False) -> dict:
        return {
            "task": to_charset(self.problem.question),
            "task_id": self.problem.pid,
            "valid_actions": [],
            "tools": list(TOOLS),
            "tool_calls": len(self.state.outputs),
            "won": bool(won),
            "score": float(score),
            "invalid": invalid,
        }
