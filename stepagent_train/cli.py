"""Command lines of the trainer.

* ``stepagent-collect``: record the env oracle's trajectories (expert demos);
* ``stepagent-sft``: supervised fine-tuning on trajectory records;
* ``stepagent-eval``: evaluate policies on a split (table and JSON);
* ``stepagent-train stepagent``: StepAgent in cycles: inspection, then reflection ``--reflection implicit``
  (step-level DPO, the default) or ``inverse`` (a learned step reward + PPO);
* ``stepagent-train eto``: ETO (exploration + trajectory-level DPO of expert vs failed trajectories);
* ``stepagent-train ppo`` / ``grpo`` / ``gigpo``: on-policy RL from a starting policy (outcome, step or
  mixed reward: ``--reward``); ``gigpo`` is ``grpo --estimator gigpo``;
* ``stepagent-train arpo``: ARPO's entropy-adaptive branching rollouts with GRPO advantages;
* ``stepagent-train demo`` (and ``stepagent demo``): the end-to-end demo.

``python -m stepagent_train.cli {collect,sft,stepagent,eto,ppo,grpo,gigpo,arpo,llm4teach,eval,demo} ...`` runs the same;
on several GPUs: ``accelerate launch -m stepagent_train.cli sft ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys

__all__ = ["add_demo_arguments", "collect_main", "demo_main", "eval_main", "main", "run_demo_from_args", "sft_main"]

_SPLITS = ("train", "dev", "test")


def _env_kwargs(text: str | None) -> dict:
    from .config import parse_env_kwargs

    try:
        return parse_env_kwargs(text)
    except ValueError as error:
        raise SystemExit(f"--env-kwargs: {error}") from None


# -- collect -------------------------------------------------------------------
def _collect_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default="StepShop-v0", help="env id (default: StepShop-v0)")
    parser.add_argument("--split", default="train", choices=_SPLITS, help="split to play (default: train)")
    parser.add_argument("--episodes", type=int, required=True, help="episodes to record (distinct tasks)")
    parser.add_argument("--out", required=True, help="JSON Lines file to write the records to; an existing "
                        "non-empty one needs --append or --overwrite")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--append", action="store_true", help="add the records to an existing --out file")
    mode.add_argument("--overwrite", action="store_true", help="replace an existing --out file (it is kept until "
                      "the new records are all written)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the task order and resets (default: 0)")
    parser.add_argument("--env-kwargs", default=None, help="further gym.make arguments as a JSON object")


def _collect(args: argparse.Namespace) -> int:
    import gymnasium as gym

    import stepagent_envs  # noqa: F401

    from .collect import collect_expert

    if os.path.exists(args.out) and os.path.getsize(args.out) and not (args.append or args.overwrite):
        raise SystemExit(f"--out {args.out} already holds records; pass --append to add to it or --overwrite "
                         "to replace it")
    target = args.out + ".partial" if args.overwrite else args.out
    if args.overwrite and os.path.exists(target):
        os.remove(target)  # what an earlier, killed --overwrite run left
    env = gym.make(args.env, split=args.split, **_env_kwargs(args.env_kwargs))
    records = collect_expert(env, target, args.episodes, seed=args.seed)
    env.close()
    if args.overwrite:
        os.replace(target, args.out)
    won = sum(bool(r["won"]) for r in records)
    print(f"recorded {len(records)} expert episodes of {args.env} ({args.split}) in {args.out}: "
          f"{won} won, {sum(len(r['steps']) for r in records)} steps")
    return 0


# -- sft -----------------------------------------------------------------------
def _dataclass_arguments(parser: argparse.ArgumentParser, cls) -> None:
    """One flag per field of a config dataclass, with the field's help and default."""
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        required = f.default is dataclasses.MISSING
        # argparse %-formats help: a literal % (e.g. "10%") must be doubled.
        help_text = (f.metadata["help"] + ("" if required else f" (default: {f.default})")).replace("%", "%%")
        if f.type in ("bool", "bool | None"):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default, help=help_text)
        else:
            parser.add_argument(flag, type=_parse_type(f.type), required=required, default=None if required else f.default, help=help_text)


def _sft_parser(parser: argparse.ArgumentParser) -> None:
    from .sft import SFTConfig

    _dataclass_arguments(parser, SFTConfig)


def _parse_type(annotation: str):
    base = annotation.replace(" | None", "")
    convert = {"int": int, "float": float, "str": str}[base]
    if "None" not in annotation:
        return convert
    return lambda text: None if text.lower() == "none" else convert(text)


def _sft(args: argparse.Namespace) -> int:
    from .sft import SFTConfig, train_sft

    config = SFTConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(SFTConfig)})
    checkpoint = train_sft(config)
    print(f"checkpoint: {checkpoint}")
    return 0


# -- stepagent -----------------------------------------------------------------
_REFLECTIONS = ("implicit", "inverse")


def _reflection_config(reflection: str):
    if reflection == "implicit":
        from .step_dpo import StepAgentConfig

        return StepAgentConfig
    from .step_irl import StepIRLConfig

    return StepIRLConfig


def _stepagent_parser(parser: argparse.ArgumentParser) -> None:
    """The flags of both reflections; each is passed only when given, so every config keeps its own defaults."""
    from .step_dpo import StepAgentConfig
    from .step_irl import StepIRLConfig

    parser.add_argument("--reflection", choices=_REFLECTIONS, default="implicit",
                        help="implicit: step-level DPO (the default); inverse: a learned step reward + PPO")
    fields = {cls: {f.name: f for f in dataclasses.fields(cls)} for cls in (StepAgentConfig, StepIRLConfig)}
    names = list(fields[StepAgentConfig]) + [n for n in fields[StepIRLConfig] if n not in fields[StepAgentConfig]]
    for name in names:
        owners = [(label, fields[cls][name]) for label, cls in (("implicit", StepAgentConfig), ("inverse", StepIRLConfig))
                  if name in fields[cls]]
        f = owners[0][1]
        defaults = "; ".join(f"{label}: {g.default}" for label, g in owners if g.default is not dataclasses.MISSING)
        only = "" if len(owners) == 2 else f" [{owners[0][0]} only]"
        help_text = (f.metadata["help"] + only + (f" (default {defaults})" if defaults else "")).replace("%", "%%")
        flag = "--" + name.replace("_", "-")
        if f.type in ("bool", "bool | None"):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=help_text)
        else:
            parser.add_argument(flag, type=_parse_type(f.type), default=argparse.SUPPRESS, help=help_text)


def _stepagent(args: argparse.Namespace) -> int:
    from stepagent_envs.evaluate import EvalResult, format_table

    cls = _reflection_config(args.reflection)
    names = {f.name for f in dataclasses.fields(cls)}
    given = {k: v for k, v in vars(args).items() if k not in ("reflection", "func", "command")}
    if args.reflection == "inverse" and "cycles" in given:  # one flag for both: inverse RL counts cycles as iterations
        if "iterations" in given:
            raise SystemExit("--reflection inverse: pass --cycles or --iterations, not both")
        given["iterations"] = given.pop("cycles")
    foreign = sorted(k for k in given if k not in names)
    if foreign:
        raise SystemExit(f"--reflection {args.reflection} has no setting " + ", ".join("--" + k.replace("_", "-") for k in foreign)
                         + " (it belongs to the other reflection)")
    try:
        config = cls(**given)
    except TypeError as error:
        raise SystemExit(f"stepagent --reflection {args.reflection}: {error}") from None
    if args.reflection == "implicit":
        from .step_dpo import train_stepagent as train
    else:
        from .step_irl import train_step_irl as train
    summary = train(config)
    dev = [summary["initial_dev"]] + [c["dev"] for c in summary["cycles"]]
    if any(dev):
        print("dev split:\n" + format_table([EvalResult(**d) for d in dev if d]))
    print(f"best: {summary['best_checkpoint']} (cycle {summary['best_cycle']})")
    return 0


# -- ppo, grpo, gigpo, arpo, llm4teach -----------------------------------------
def _rl_parser(algorithm: str):
    def add(parser: argparse.ArgumentParser) -> None:
        _dataclass_arguments(parser, _rl_config(algorithm))
        if algorithm == "gigpo":
            parser.set_defaults(estimator="gigpo")
    return add


def _rl_config(algorithm: str):
    if algorithm == "ppo":
        from .ppo import PPOConfig

        return PPOConfig
    if algorithm == "llm4teach":
        from .llm4teach import LLM4TeachConfig

        return LLM4TeachConfig
    if algorithm == "arpo":
        from .arpo import ARPOConfig

        return ARPOConfig
    if algorithm == "eto":
        from .eto import ETOConfig

        return ETOConfig
    from .grpo import GRPOConfig

    return GRPOConfig


def _rl(algorithm: str):
    def run(args: argparse.Namespace) -> int:
        from stepagent_envs.evaluate import EvalResult, format_table

        cls = _rl_config(algorithm)
        config = cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})
        if algorithm == "ppo":
            from .ppo import train_ppo as train
        elif algorithm == "llm4teach":
            from .llm4teach import train_llm4teach as train
        elif algorithm == "arpo":
            from .arpo import train_arpo as train
        elif algorithm == "eto":
            from .eto import train_eto as train
        else:
            from .grpo import train_grpo as train
        summary = train(config)
        dev = [summary["initial_dev"]] + [c["dev"] for c in summary["cycles"]]
        if any(dev):
            print("dev split:\n" + format_table([EvalResult(**d) for d in dev if d]))
        print(f"best: {summary['best_checkpoint']} (iteration {summary['best_cycle']})")
        return 0
    return run


# -- eval ----------------------------------------------------------------------
def _eval_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default="StepShop-v0", help="env id (default: StepShop-v0)")
    parser.add_argument("--split", default="test", choices=_SPLITS, help="split (default: test)")
    parser.add_argument("--policy", action="append", required=True,
                        help="repeatable: expert, random, an SFT run or checkpoint folder, a model folder, "
                             "a hub id, or an http(s)://.../v1 endpoint; NAME=SPEC names it in the table")
    parser.add_argument("--episodes", type=int, default=None, help="first N tasks of the split (default: all)")
    parser.add_argument("--num-envs", type=int, default=16, help="envs rolled out in parallel (default: 16)")
    parser.add_argument("--http-model", default=None, help="served model name for HTTP endpoints")
    parser.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY"), help="bearer key for HTTP endpoints (default: $OPENAI_API_KEY)")
    parser.add_argument("--max-new-tokens", type=int, default=48, help="longest answer (default: 48)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random agent and of sampling at --temperature > 0 (default: 0)")
    parser.add_argument("--temperature", type=float, default=0.0,
                        help="0: greedy decoding and the best candidate (default); > 0: the LLM policies sample at "
                             "this temperature (repeat with several --seed values for an interval over draws)")
    parser.add_argument("--env-kwargs", default=None, help="further gym.make arguments as a JSON object")
    parser.add_argument("--json", default=None, help="write the results as JSON to this file")
    parser.add_argument("--records", default=None, help="append the LLM policies' trajectory records to this JSON Lines file")


def _eval(args: argparse.Namespace) -> int:
    from stepagent_envs.evaluate import as_dicts, format_table

    from .evaluate import PolicySpec, evaluate_spec

    results = []
    for text in args.policy:
        name, sep, rest = text.partition("=")
        name, spec = (name, rest) if sep and name.isidentifier() else (None, text)
        spec = PolicySpec(spec, name, args.http_model, args.api_key, args.max_new_tokens,
                          temperature=args.temperature, seed=args.seed)
        results.append(evaluate_spec(spec, args.env, args.split, args.episodes, args.num_envs,
                                     _env_kwargs(args.env_kwargs), args.seed, args.records))
    print(format_table(results))
    if args.json:
        from .checkpoint import write_json

        write_json(args.json, as_dicts(results))
    return 0


# -- demo ----------------------------------------------------------------------
def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``demo`` options (shared with ``stepagent demo``)."""
    from .demo import DemoConfig

    _dataclass_arguments(parser, DemoConfig)


def run_demo_from_args(args: argparse.Namespace) -> int:
    """Run the demo with the options :func:`add_demo_arguments` parsed."""
    from .demo import DemoConfig, run_demo

    run_demo(DemoConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(DemoConfig)}))
    return 0


_COMMANDS = {
    "collect": (_collect_parser, _collect, "record the env oracle's trajectories (expert demos)"),
    "sft": (_sft_parser, _sft, "supervised fine-tuning on trajectory records"),
    "stepagent": (_stepagent_parser, _stepagent,
                  "StepAgent: inspection, then reflection by step-level DPO (implicit) or inverse RL (inverse), in cycles"),
    "ppo": (_rl_parser("ppo"), _rl("ppo"), "PPO from a starting policy: a value head, GAE over turns"),
    "grpo": (_rl_parser("grpo"), _rl("grpo"), "GRPO / RLOO from a starting policy: group advantages, no critic"),
    "gigpo": (_rl_parser("gigpo"), _rl("gigpo"), "GiGPO: GRPO with step-level advantages over identical states"),
    "arpo": (_rl_parser("arpo"), _rl("arpo"), "ARPO: branching rollouts where entropy rises after a tool result, GRPO advantages"),
    "eto": (_rl_parser("eto"), _rl("eto"), "ETO: exploration, then trajectory-level DPO of expert vs failed trajectories, in rounds"),
    "llm4teach": (_rl_parser("llm4teach"), _rl("llm4teach"),
                  "LLM4Teach: PPO plus an annealed cross-entropy to a teacher's action distribution"),
    "eval": (_eval_parser, _eval, "evaluate policies on a split: success, score, step agreement"),
    "demo": (add_demo_arguments, run_demo_from_args, "collect, build the offline model, SFT, evaluate, plot"),
}


def main(argv: list[str] | None = None) -> int:
    """``stepagent-train {collect,sft,stepagent,eto,ppo,grpo,gigpo,arpo,llm4teach,eval,demo} ...``"""
    parser = argparse.ArgumentParser(prog="stepagent-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    with _trainer_dependencies():
        for name, (add, run, help_text) in _COMMANDS.items():
            add(sub.add_parser(name, help=help_text, description=help_text))
            sub.choices[name].set_defaults(func=run)
    args = parser.parse_args(argv)
    return args.func(args)


_TRAIN_MODULES = ("torch", "transformers", "peft", "accelerate", "safetensors", "tokenizers")


@contextlib.contextmanager
def _trainer_dependencies():
    """A missing trainer dependency (every command but ``stepagent baselines`` needs them) is named with the fix."""
    try:
        yield
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in _TRAIN_MODULES:
            raise
        raise SystemExit(f"stepagent-train needs the trainer's dependencies (RL included): {error.name} is missing; "
                         'install them with pip install torch==2.13.0 && pip install -e ".[train]"') from None


def _single(command: str, argv: list[str] | None) -> int:
    add, run, help_text = _COMMANDS[command]
    parser = argparse.ArgumentParser(prog=f"stepagent-{command}", description=help_text)
    with _trainer_dependencies():
        add(parser)
    return run(parser.parse_args(argv))


def collect_main(argv: list[str] | None = None) -> int:
    """``stepagent-collect``"""
    return _single("collect", argv)


def sft_main(argv: list[str] | None = None) -> int:
    """``stepagent-sft``"""
    return _single("sft", argv)


def eval_main(argv: list[str] | None = None) -> int:
    """``stepagent-eval``"""
    return _single("eval", argv)


def demo_main(argv: list[str] | None = None) -> int:
    """``stepagent-train demo`` / ``stepagent demo``"""
    return _single("demo", argv)


if __name__ == "__main__":
    sys.exit(main())
