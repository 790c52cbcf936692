"""SFT: only action tokens carry loss, the data order, learning, LoRA, and resume after an interruption."""

import json
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("accelerate")

import gymnasium as gym  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

import stepagent_envs  # noqa: E402,F401
import stepagent_train.sft as sft_module  # noqa: E402
from stepagent_train.batching import IGNORE_INDEX, collate, encode_example  # noqa: E402
from stepagent_train.checkpoint import latest_checkpoint  # noqa: E402
from stepagent_train.collect import collect_expert  # noqa: E402
from stepagent_train.offline_model import OfflineModelConfig, build_offline_model, record_texts  # noqa: E402
from stepagent_train.policies import HFPolicy, load_model  # noqa: E402
from stepagent_train.prompts import PromptBuilder, PromptConfig, examples_from_record  # noqa: E402
from stepagent_train.batching import batch_schedule  # noqa: E402
from stepagent_train.sft import SFTConfig, sft_loss, train_sft  # noqa: E402

from conftest import TINY_MODEL  # noqa: E402

torch.set_num_threads(1)
TINY = OfflineModelConfig(**TINY_MODEL)


@pytest.fixture(scope="module")
def model_dir(demos, tmp_path_factory):
    from wrappers import read_trajectories

    return build_offline_model(record_texts(read_trajectories(demos)), tmp_path_factory.mktemp("m") / "model", TINY)


def config(demos, out, **kw):
    base = dict(train_file=demos, output_dir=str(out), batch_size=4, max_prompt_tokens=256, learning_rate=3e-3,
                warmup_steps=1, seed=0, lora=False)
    return SFTConfig(**{**base, **kw})


def test_only_action_tokens_carry_loss(model_dir, demos):
    from wrappers import read_trajectories

    model, tokenizer, _ = load_model(model_dir)
    builder = PromptBuilder(tokenizer, PromptConfig(max_prompt_tokens=256))
    pairs = examples_from_record(builder, read_trajectories(demos)[0])[:3]
    examples = [encode_example(builder, p, a) for p, a in pairs]
    for (prompt, action), e in zip(pairs, examples):
        answer = [t for t in e.labels if t != IGNORE_INDEX]
        assert e.labels[: len(prompt.input_ids)] == [IGNORE_INDEX] * len(prompt.input_ids)
        assert tokenizer.decode(answer) == " " + action + tokenizer.eos_token
    batch = collate(examples, tokenizer.pad_token_id)
    num_tokens = sum(e.num_answer_tokens for e in examples)
    loss, _ = sft_loss(model, batch, num_tokens)
    # The same as Hugging Face's own loss with prompt and padding labels ignored.
    reference = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
    assert float(loss.detach()) == pytest.approx(float(reference.detach()), rel=1e-5)
    # Changing a prompt token's label to the token itself would add loss: masking is what keeps it out.
    unmasked = dict(batch, labels=torch.where(batch["attention_mask"].bool(), batch["input_ids"], IGNORE_INDEX))
    assert float(sft_loss(model, unmasked, num_tokens)[0].detach()) > float(loss.detach()) * 2


def test_prompt_loss_weight_adds_the_prompt_tokens_mean_nll(model_dir, demos):
    from wrappers import read_trajectories

    model, tokenizer, _ = load_model(model_dir)
    builder = PromptBuilder(tokenizer, PromptConfig(max_prompt_tokens=256))
    examples = [encode_example(builder, p, a) for p, a in examples_from_record(builder, read_trajectories(demos)[0])[:3]]
    batch = collate(examples, tokenizer.pad_token_id)
    answer_tokens = sum(e.num_answer_tokens for e in examples)
    prompt_tokens = sum(len(e.input_ids) - 1 - e.num_answer_tokens for e in examples)
    with torch.no_grad():
        answer_only, nll = sft_loss(model, batch, answer_tokens)
        assert torch.allclose(sft_loss(model, batch, answer_tokens, 0.0, prompt_tokens)[0], answer_only)
        mixed, mixed_nll = sft_loss(model, batch, answer_tokens, 0.5, prompt_tokens)
        logprobs = model(**{k: batch[k] for k in ("input_ids", "attention_mask")}).logits[:, :-1].log_softmax(-1)
        token_nll = -logprobs.gather(-1, batch["input_ids"][:, 1:].unsqueeze(-1)).squeeze(-1)
    prompt_sum = sum(float(token_nll[row, : len(e.input_ids) - 1 - e.num_answer_tokens].sum()) for row, e in enumerate(examples))
    assert float(mixed_nll) == pytest.approx(float(nll), rel=1e-5)  # the logged NLL stays the answer's
    assert float(mixed) == pytest.approx(float(answer_only) + 0.5 * prompt_sum / prompt_tokens, rel=1e-5)
    with pytest.raises(ValueError, match="prompt_loss_weight must be >= 0, got -1"):
        config(demos, "unused", prompt_loss_weight=-1.0)


def test_batch_schedule_is_deterministic_and_covers_each_example_once():
    lengths = [(i * 37) % 101 for i in range(230)]
    first = batch_schedule(lengths, 8, seed=1, epoch=0)
    assert first == batch_schedule(lengths, 8, seed=1, epoch=0)
    assert first != batch_schedule(lengths, 8, seed=1, epoch=1)
    assert sorted(i for b in first for i in b) == list(range(230))
    # Length-grouped: a batch spans a small part of the length range.
    spans = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in first if len(b) == 8]
    assert sum(spans) / len(spans) < 20


def test_sft_learns_the_demos(model_dir, demos, tmp_path):
    # One batch holds all ~19 examples, so every step's loss is over the same data.
    run = config(demos, tmp_path / "run", model=model_dir, max_steps=60, save_every=60, batch_size=64, learning_rate=1e-2)
    checkpoint = train_sft(run, show_progress=False)
    rows = [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]
    assert [r["step"] for r in rows] == list(range(1, 61))
    assert rows[-1]["loss"] < rows[0]["loss"] / 4, (rows[0]["loss"], rows[-1]["loss"])
    policy = HFPolicy.from_pretrained(checkpoint, device="cpu")
    assert policy.builder.config.max_prompt_tokens == 256  # the prompt config travels with the checkpoint
    assert os.path.exists(os.path.join(checkpoint, "model.safetensors"))


def test_lora_trains_only_the_adapter(model_dir, demos, tmp_path):
    checkpoint = train_sft(config(demos, tmp_path / "run", model=model_dir, lora=True, lora_r=4, max_steps=3, save_every=3), show_progress=False)
    assert os.path.exists(os.path.join(checkpoint, "adapter_model.safetensors"))
    weights = load_file(os.path.join(checkpoint, "adapter_model.safetensors"))
    assert weights and all("lora" in name for name in weights)
    assert any(float(w.abs().sum()) > 0 for n, w in weights.items() if "lora_B" in n)  # it moved
    policy = HFPolicy.from_pretrained(checkpoint, device="cpu")
    assert type(policy.model).__name__ == "PeftModelForCausalLM"
    # The adapter's random init and the dropout come from the seed: the same run gives the same adapter.
    torch.manual_seed(12345)  # whatever the global RNG holds
    again = train_sft(config(demos, tmp_path / "again", model=model_dir, lora=True, lora_r=4, lora_dropout=0.1,
                             max_steps=3, save_every=3), show_progress=False)
    torch.manual_seed(54321)
    third = train_sft(config(demos, tmp_path / "third", model=model_dir, lora=True, lora_r=4, lora_dropout=0.1,
                             max_steps=3, save_every=3), show_progress=False)
    a, b = load_file(os.path.join(again, "adapter_model.safetensors")), load_file(os.path.join(third, "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_after_interruption_equals_an_uninterrupted_run(model_dir, demos, tmp_path, monkeypatch):
    steps = dict(model=model_dir, max_steps=4, save_every=2, save_total_limit=5)
    straight = train_sft(config(demos, tmp_path / "a", **steps), show_progress=False)

    real_append = sft_module.append_jsonl

    def crash_at_step_3(path, row):
        real_append(path, row)
        if row["step"] == 3:
            raise KeyboardInterrupt  # step 3 is logged but has no checkpoint: it must be redone

    monkeypatch.setattr(sft_module, "append_jsonl", crash_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        train_sft(config(demos, tmp_path / "b", **steps), show_progress=False)
    assert latest_checkpoint(str(tmp_path / "b")).endswith("step-2")
    monkeypatch.setattr(sft_module, "append_jsonl", real_append)
    resumed = train_sft(config(demos, tmp_path / "b", resume=True, **steps), show_progress=False)

    a, b = load_file(os.path.join(straight, "model.safetensors")), load_file(os.path.join(resumed, "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    moved = load_file(os.path.join(tmp_path / "a" / "checkpoints" / "step-2", "model.safetensors"))
    assert not all(torch.equal(a[k], moved[k]) for k in a)  # the last two steps changed the weights

    def metrics(run):
        return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in open(tmp_path / run / "metrics.jsonl")]

    assert metrics("a") == metrics("b")  # same losses and learning rates, no duplicate step lines


def test_time_cap_stops_with_a_checkpoint_and_resume_finishes(model_dir, demos, tmp_path):
    capped = config(demos, tmp_path / "run", model=model_dir, max_steps=3, save_every=100, max_seconds=1e-9)
    assert train_sft(capped, show_progress=False).endswith("step-1")
    finished = config(demos, tmp_path / "run", model=model_dir, max_steps=3, save_every=100, resume=True)
    assert train_sft(finished, show_progress=False).endswith("step-3")
    assert [json.loads(line)["step"] for line in open(tmp_path / "run" / "metrics.jsonl")] == [1, 2, 3]


def test_resume_refuses_a_changed_data_order(model_dir, demos, tmp_path):
    train_sft(config(demos, tmp_path / "run", model=model_dir, max_steps=1, save_every=1), show_progress=False)
    with pytest.raises(ValueError, match="batch_size is 2 but the run .* used 4"):
        train_sft(config(demos, tmp_path / "run", model=model_dir, max_steps=2, batch_size=2, resume=True), show_progress=False)


def test_tiny_model_is_built_from_the_demos(demos, tmp_path):
    checkpoint = train_sft(config(demos, tmp_path / "run", model="tiny", lora=None, max_steps=1, save_every=1),
                           offline_config=TINY, show_progress=False)
    assert os.path.isfile(tmp_path / "run" / "base-model" / "tokenizer.json")
    model, _, _ = load_model(checkpoint)
    assert model.config.hidden_size == TINY.hidden_size


@pytest.mark.parametrize("field, value, message", [
    ("batch_size", 0, "batch_size must be an int >= 1, got 0"),
    ("learning_rate", 0.0, "learning_rate must be > 0"),
    ("mixed_precision", "fp8", "mixed_precision must be 'no', 'bf16' or 'fp16'"),
    ("max_prompt_tokens", 2, "max_prompt_tokens must be an int >= 16"),
    ("train_file", "missing.jsonl", "does not exist; record demos with stepagent-collect"),
])
def test_config_validation_names_field_and_value(demos, tmp_path, field, value, message):
    with pytest.raises(ValueError, match=message):
        config(demos, tmp_path, **{field: value})


@pytest.mark.slow
def test_sft_agent_replays_its_demonstrations(tmp_path):
    """End to end: a model that memorises two demonstrations solves those tasks in a
    rollout, which holds only if training saw exactly the prompts the policy acts on."""
    from stepagent_train.evaluate import result_from_records
    from stepagent_train.rollout import rollout

    demos = tmp_path / "demos.jsonl"
    records = collect_expert(gym.make("StepShop-v0", split="train"), demos, 2, seed=0, show_progress=False)
    run = SFTConfig(train_file=str(demos), output_dir=str(tmp_path / "run"), model="tiny", max_steps=200, batch_size=64,
                    learning_rate=1e-2, warmup_steps=5, max_prompt_tokens=512, save_every=200)
    small = OfflineModelConfig(vocab_size=2000, hidden_size=64, num_layers=2, num_heads=2, intermediate_size=128)
    policy = HFPolicy.from_pretrained(train_sft(run, small, show_progress=False), device="cpu", max_new_tokens=64)
    specs = [{"seed": None, "options": {"task_id": r["task_id"]}} for r in records]
    replay = rollout(policy, [gym.make("StepShop-v0", split="train") for _ in specs], specs, show_progress=False)
    assert [[s["action"] for s in r["steps"]] for r in replay] == [[s["action"] for s in r["steps"]] for r in records]
    assert result_from_records(replay, "sft").success_rate == 1.0


@pytest.mark.slow
def test_two_processes_take_the_same_first_update_as_one(demos, model_dir, tmp_path):
    """Two CPU processes (torchrun; accelerate forms the gloo group): each rank takes one micro-batch of
    the step; one process with grad_accum_steps=2 takes both. Same loss (to 1e-5), the same weights after the update."""
    import subprocess
    import sys

    common = ["--train-file", demos, "--model", model_dir, "--max-steps", "1", "--batch-size", "2", "--warmup-steps", "0",
              "--max-prompt-tokens", "256", "--lora", "--lora-r", "2", "--lora-alpha", "4"]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m",
                          "stepagent_train.cli", "sft", "--output-dir", str(tmp_path / "two"), *common],
                         capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert two.returncode == 0, two.stderr[-3000:]
    one = subprocess.run([sys.executable, "-m", "stepagent_train.cli", "sft", "--output-dir", str(tmp_path / "one"),
                          "--grad-accum-steps", "2", *common], capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]
    rows = {run: [json.loads(line) for line in open(tmp_path / run / "metrics.jsonl")] for run in ("one", "two")}
    assert rows["two"][0]["answer_tokens"] == rows["one"][0]["answer_tokens"]
    assert rows["two"][0]["loss"] == pytest.approx(rows["one"][0]["loss"], abs=1e-5)
    a = load_file(os.path.join(latest_checkpoint(str(tmp_path / "one")), "adapter_model.safetensors"))
    b = load_file(os.path.join(latest_checkpoint(str(tmp_path / "two")), "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    assert os.path.isfile(os.path.join(latest_checkpoint(str(tmp_path / "two")), "trainer", "rng_1.pt"))  # every rank's RNG
