"""The one prompt builder used by rollouts and by training.

A prompt is the task instruction, then the last turns of (observation, action)
that fit a token budget, then the current observation. Older turns are dropped
first; the instruction never is. When even the instruction and the current
observation alone are over budget, the middle of the observation is cut (its
head and tail are kept, joined by `` ... ``): pages tend to put what is on
them at the top and the latest change of state at the bottom.

Two renderings, picked by :attr:`PromptConfig.chat_template`:

* **plain** (tokenizers without a chat template, such as the offline default
  model)::

      <system>
      Task: <instruction>

      Observation: <obs 1>
      Action: <action 1>

      Observation: <obs now>
      Action:

  The model's answer continues after ``Action:``; training appends
  ``" <action>"`` and the end-of-sequence token.
* **chat**: a system message (``<system>`` and the task), then one user message
  per observation (``"Observation: ..."``) and one assistant message per action
  (``"Action: ..."``), rendered with the tokenizer's chat template and its
  generation prompt. Training appends what the template writes for the
  assistant answer ``"Action: <action>"`` (with its end-of-turn marker).

The action is read back from the model's text with the wrappers' parser
(:func:`wrappers.parse_action`, ``"react"`` style). Because rollouts and
training both call :meth:`PromptBuilder.build` with the same config, the token
ids the model is trained on are the ids it was given when it acted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from wrappers import parse_action

__all__ = ["PROMPT_CONFIG_NAME", "Prompt", "PromptBuilder", "PromptConfig", "Turn", "examples_from_record"]

#: Where a checkpoint keeps its prompt config, so evaluation rebuilds the same prompts.
PROMPT_CONFIG_NAME = "prompt_config.json"

#: One past turn: the observation the agent saw and the action it took.
Turn = tuple[str, str]

# Characters per token when no tokenizer is given (an HTTP endpoint without a local tokenizer).
_CHARS_PER_TOKEN = 4
_CUT = " ... "


@dataclass
class PromptConfig:
    """How prompts are written; saved next to every checkpoint."""

    max_prompt_tokens: int = field(default=512, metadata={"help": "token budget of a prompt; older turns are dropped first to fit it"})
    max_turns: int | None = field(default=None, metadata={"help": "keep at most this many past turns even when more fit (None: as many as fit)"})
    system: str = field(
        default="You are an agent acting in a text environment. Answer with one line: Action: <action>",
        metadata={"help": "text at the top of every prompt, before the task"},
    )
    chat_template: bool | None = field(
        default=None,
        metadata={"help": "render with the tokenizer's chat template: True, False, or None (when it has one)"},
    )

    def __post_init__(self):
        if not isinstance(self.max_prompt_tokens, int) or self.max_prompt_tokens < 16:
            raise ValueError(f"max_prompt_tokens must be an int >= 16, got {self.max_prompt_tokens!r}; pass e.g. 512")
        if self.max_turns is not None and (not isinstance(self.max_turns, int) or self.max_turns < 0):
            raise ValueError(f"max_turns must be None or an int >= 0, got {self.max_turns!r}")
        if self.chat_template not in (None, True, False):
            raise ValueError(f"chat_template must be True, False or None, got {self.chat_template!r}")

    def save(self, directory: str | os.PathLike) -> None:
        """Write the config as ``prompt_config.json`` in ``directory`` (atomically)."""
        path = os.path.join(directory, PROMPT_CONFIG_NAME)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(asdict(self), f, indent=2)
        os.replace(tmp, path)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> PromptConfig | None:
        """The config saved in ``directory``, or None when it has none (a hub model)."""
        path = os.path.join(directory, PROMPT_CONFIG_NAME)
        if not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8") as f:
            return cls(**json.load(f))


@dataclass
class Prompt:
    """A built prompt.

    Attributes:
        task: The instruction.
        history: The past turns kept in the prompt (after truncation).
        observation: The current observation as shown (cut when over budget).
        messages: The chat messages (what an HTTP chat endpoint is sent).
        text: The rendered prompt text (plain format, or the chat template's output).
        input_ids: The prompt's token ids; empty without a tokenizer.
        chat: Whether ``text`` came from a chat template.
        valid_actions: The candidate actions of this state (``info["valid_actions"]``;
            empty where the action space is open). Not shown in the prompt text: a
            ranking policy scores each of them as an answer.
    """

    task: str
    history: list[Turn]
    observation: str
    messages: list[dict[str, str]]
    text: str
    input_ids: list[int]
    chat: bool
    valid_actions: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.input_ids) if self.input_ids else len(self.text) // _CHARS_PER_TOKEN


class PromptBuilder:
    """Builds prompts, the training target of an action, and reads actions back.

    Args:
        tokenizer: A Hugging Face tokenizer, or None (an HTTP endpoint without a
            local tokenizer: the budget then counts 4 characters a token and
            prompts have no ids).
        config: The :class:`PromptConfig`; defaults when None.

    Raises:
        ValueError: ``config.chat_template`` is True and the tokenizer has none.
    """

    def __init__(self, tokenizer: Any = None, config: PromptConfig | None = None):
        self.tokenizer = tokenizer
        self.config = config or PromptConfig()
        has_template = tokenizer is not None and bool(getattr(tokenizer, "chat_template", None))
        if self.config.chat_template and not has_template:
            raise ValueError(
                "chat_template=True but the tokenizer has no chat template; pass chat_template=None or False"
            )
        self.chat = has_template if self.config.chat_template is None else self.config.chat_template
        if tokenizer is None:
            self.chat = True  # an HTTP chat endpoint renders the messages itself

    # -- prompts ---------------------------------------------------------------
    def build(self, task: str, history: Sequence[Turn], observation: str,
              valid_actions: Sequence[str] | None = None) -> Prompt:
        """The prompt for acting on ``observation`` after ``history``, within the token budget.

        Args:
            task: The instruction (``info["task"]``); always kept whole.
            history: Past (observation, action) turns of the episode, oldest first.
            observation: The observation to act on.
            valid_actions: The state's candidate actions (``info["valid_actions"]``), carried
                in :attr:`Prompt.valid_actions` for policies that rank them.
        """
        prompt = self._fit(task, list(history), observation)
        prompt.valid_actions = list(valid_actions or [])
        return prompt

    def _fit(self, task: str, history: list[Turn], observation: str) -> Prompt:
        if self.config.max_turns is not None:
            history = history[len(history) - self.config.max_turns :] if self.config.max_turns else []
        budget = self.config.max_prompt_tokens
        # The largest number of most recent turns that fits (prompt length grows with it).
        lo, hi = 0, len(history)
        best = None
        while lo <= hi:
            mid = (lo + hi) // 2
            prompt = self._render(task, history[len(history) - mid :], observation)
            if len(prompt) <= budget:
                best, lo = prompt, mid + 1
            else:
                hi = mid - 1
        if best is not None:
            return best
        # Nothing but the observation can give way: keep as much of its head and tail as fits.
        lo, hi = 0, len(observation)
        best = None
        while lo <= hi:
            mid = (lo + hi) // 2
            head = (mid + 1) // 2
            prompt = self._render(task, [], observation[:head] + _CUT + observation[len(observation) - (mid - head) :])
            if len(prompt) <= budget:
                best, lo = prompt, mid + 1
            else:
                hi = mid - 1
        if best is None:
            raise ValueError(
                f"the task alone takes more than max_prompt_tokens={budget} tokens "
                f"({len(self._render(task, [], ''))}); raise max_prompt_tokens"
            )
        return best

    def _render(self, task: str, history: list[Turn], observation: str) -> Prompt:
        messages = [{"role": "system", "content": f"{self.config.system}\nTask: {task}"}]
        for obs, action in history:
            messages.append({"role": "user", "content": f"Observation: {obs}"})
            messages.append({"role": "assistant", "content": f"Action: {action}"})
        messages.append({"role": "user", "content": f"Observation: {observation}"})
        if self.tokenizer is None:
            text = "\n\n".join(m["content"] for m in messages)
            return Prompt(task, history, observation, messages, text, [], True)
        if self.chat:
            text = self._template(messages, add_generation_prompt=True)
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        else:
            parts = [f"{self.config.system}\nTask: {task}"]
            parts += [f"Observation: {obs}\nAction: {action}" for obs, action in history]
            parts.append(f"Observation: {observation}\nAction:")
            text = "\n\n".join(parts)
            ids = self.tokenizer(text, add_special_tokens=True)["input_ids"]
        return Prompt(task, history, observation, messages, text, list(ids), self.chat)

    def _template(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
        """The chat template's text; templates without a system role (Gemma's) get the
        system text at the top of the first user message instead."""
        try:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
        except Exception as error:  # jinja2's TemplateError, raised by the template itself
            if "system" not in str(error).lower():
                raise
        merged = [{"role": "user", "content": f"{messages[0]['content']}\n\n{messages[1]['content']}"}, *messages[2:]]
        return self.tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=add_generation_prompt)

    # -- answers ---------------------------------------------------------------
    def answer_ids(self, prompt: Prompt, action: str) -> list[int]:
        """The token ids the model writes after ``prompt`` to take ``action``, end marker included.

        These are the tokens that carry the loss in training and whose
        log-probability is an action's log-probability.

        Raises:
            ValueError: There is no tokenizer, or the chat template does not
                render the prompt as a prefix of the prompt plus the answer.
        """
        if self.tokenizer is None:
            raise ValueError("answer_ids needs a tokenizer; build the PromptBuilder with one")
        if not self.chat:
            ids = self.tokenizer(" " + action, add_special_tokens=False)["input_ids"]
            return list(ids) + [self.tokenizer.eos_token_id]
        return list(self.tokenizer(self.answer_text(prompt, action), add_special_tokens=False)["input_ids"])

    def answer_text(self, prompt: Prompt, action: str) -> str:
        """The text of the answer :meth:`answer_ids` tokenises: ``" <action>"`` and the EOS token
        in the plain format, what the chat template writes after the prompt for ``"Action: <action>"``
        (end-of-turn marker included) in the chat format.

        Raises:
            ValueError: As :meth:`answer_ids`.
        """
        if self.tokenizer is None:
            raise ValueError("answer_text needs a tokenizer; build the PromptBuilder with one")
        if not self.chat:
            return " " + action + self.tokenizer.eos_token
        answer = {"role": "assistant", "content": f"Action: {action}"}
        full = self._template(prompt.messages + [answer], add_generation_prompt=False)
        if not full.startswith(prompt.text):
            raise ValueError(
                "the chat template renders a conversation with the answer differently from the prompt "
                "without it (it rewrites earlier turns), so answer tokens cannot be told apart; "
                "use PromptConfig(chat_template=False)"
            )
        return full[len(prompt.text) :]

    def parse(self, text: str) -> str:
        """The action in the model's answer ``text`` (the wrappers' ``react`` parser).

        In the plain format the answer continues the prompt's ``Action:`` line,
        so only its first line counts. An answer without an action comes back
        stripped, for the env to flag as invalid.
        """
        answer = "Action:" + text.split("\n", 1)[0] if not self.chat else text
        action = parse_action(answer, "react")
        return action if action is not None else text.strip()


def examples_from_record(builder: PromptBuilder, record: dict) -> list[tuple[Prompt, str]]:
    """The (prompt, action) pair of every step of a trajectory record (docs/design.md format).

    Step ``t``'s prompt is built from the record's task, steps ``0..t-1``,
    step ``t``'s observation and its ``valid_actions`` (when recorded): exactly
    what a rollout gave the policy then.

    Args:
        builder: The prompt builder.
        record: A trajectory record with ``task`` and ``steps``.
    """
    missing = [t for t, step in enumerate(record["steps"]) if "observation" not in step or "action" not in step]
    if missing or "task" not in record:
        raise ValueError(f"trajectory record of task {record.get('task_id')!r} cannot be trained on: it needs a "
                         f"'task' and an observation and an action at every step (steps {missing[:5]} lack one); "
                         "record demos with stepagent-collect or wrappers.RecordTrajectories")
    history: list[Turn] = []
    examples = []
    for step in record["steps"]:
        examples.append((builder.build(record["task"], history, step["observation"], step.get("valid_actions")),
                         step["action"]))
        history.append((step["observation"], step["action"]))
    return examples
