"""Policies: the local HF model (batched generation, log-probabilities, LoRA), callables, HTTP."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from stepagent_train.batching import collate, encode_example  # noqa: E402
from stepagent_train.http_policy import HTTPPolicy, HTTPPolicyError  # noqa: E402
from stepagent_train.offline_model import OfflineModelConfig, build_offline_model  # noqa: E402
from stepagent_train.policies import CallablePolicy, HFPolicy, load_model  # noqa: E402
from stepagent_train.prompts import PromptBuilder, PromptConfig  # noqa: E402

torch.set_num_threads(1)
TEXTS = ["Observation: page [SEP] red shoes [SEP] blue hat\nAction: click[red shoes]", "Task: buy red shoes"] * 20


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_offline_model(TEXTS, tmp_path_factory.mktemp("m") / "model",
                               OfflineModelConfig(vocab_size=320, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64))


@pytest.fixture(scope="module")
def policy(model_dir):
    return HFPolicy.from_pretrained(model_dir, device="cpu", prompt_config=PromptConfig(max_prompt_tokens=256), max_new_tokens=6)


def prompts_of(policy, n):
    return [policy.builder.build(f"buy item {i}", [("page", "click[x]")] * (i % 3), "red shoes " * (1 + i % 4)) for i in range(n)]


def test_batched_generation_matches_one_at_a_time(policy):
    prompts = prompts_of(policy, 5)  # different lengths: left padding in the batch
    batched = policy.generate(prompts)
    single = [policy.generate([p])[0] for p in prompts]
    assert batched == single
    assert policy.act(prompts) == [policy.builder.parse(t) for t in batched]


def test_sampling_is_seeded_and_leaves_the_global_rng_alone(model_dir):
    def sampled(seed):
        p = HFPolicy.from_pretrained(model_dir, device="cpu", max_new_tokens=6, temperature=1.5, seed=seed)
        prompts = prompts_of(p, 4)
        return [p.generate(prompts), p.generate(prompts)]

    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = sampled(0)
    assert torch.equal(state, torch.get_rng_state())
    assert first == sampled(0)
    assert first[0] != first[1] or first != sampled(1)  # successive calls and seeds sample anew


def manual_logprob(model, prompt_ids, answer_ids):
    ids = torch.tensor([prompt_ids + answer_ids])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].log_softmax(-1)
    start = len(prompt_ids)
    return sum(float(logits[start - 1 + k, tok]) for k, tok in enumerate(answer_ids))


def test_action_logprobs_score_the_answer_tokens_only(policy):
    prompts = prompts_of(policy, 3)
    actions = ["click[red shoes]", "search[blue hat]", "click[x]"]
    scores = policy.action_logprobs(prompts, actions)
    for p, a, s in zip(prompts, actions, scores):
        expected = manual_logprob(policy.model, p.input_ids, policy.builder.answer_ids(p, a))
        assert float(s) == pytest.approx(expected, abs=1e-4)
    assert float(policy.action_logprobs(prompts[:1], actions[:1])[0]) == pytest.approx(float(scores[0]), abs=1e-5)
    with pytest.raises(ValueError, match="one action per prompt"):
        policy.action_logprobs(prompts, actions[:1])
    assert not scores.requires_grad and policy.action_logprobs(prompts, actions, grad=True).requires_grad


def test_lora_adapter_loads_and_disabling_it_gives_the_base(model_dir, tmp_path):
    from peft import LoraConfig, get_peft_model

    model, tokenizer, _ = load_model(model_dir)
    lora = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, param in lora.named_parameters():
            if "lora_B" in name:
                param.fill_(0.05)  # B starts at zero; make the adapter change something
    lora.save_pretrained(tmp_path / "adapter")
    base = HFPolicy.from_pretrained(model_dir, device="cpu")
    adapted = HFPolicy.from_pretrained(str(tmp_path / "adapter"), device="cpu")  # an adapter folder alone
    prompts = prompts_of(base, 2)
    actions = ["click[red shoes]", "click[x]"]
    with_adapter = adapted.action_logprobs(prompts, actions)
    assert not torch.allclose(with_adapter, base.action_logprobs(prompts, actions))
    with adapted.model.disable_adapter():  # the reference model of DPO-style losses
        assert torch.allclose(adapted.action_logprobs(prompts, actions), base.action_logprobs(prompts, actions), atol=1e-5)


def test_collate_pads_right_and_masks_prompt(policy):
    prompts = prompts_of(policy, 2)
    examples = [encode_example(policy.builder, p, "click[x]") for p in prompts]
    batch = collate(examples, pad_id=policy.tokenizer.pad_token_id)
    for row, (p, e) in enumerate(zip(prompts, examples)):
        n = len(e.input_ids)
        assert batch["attention_mask"][row].sum() == n and batch["attention_mask"][row, :n].all()
        labels = batch["labels"][row]
        assert (labels[: len(p.input_ids)] == -100).all() and (labels[n:] == -100).all()
        assert labels[len(p.input_ids) : n].tolist() == policy.builder.answer_ids(p, "click[x]")


def test_callable_policy():
    builder = PromptBuilder()
    prompts = [builder.build("t", [], f"obs {i}") for i in range(3)]
    assert CallablePolicy(lambda p: "click[" + p.observation + "]").act(prompts) == [f"click[obs {i}]" for i in range(3)]
    batched = CallablePolicy(lambda ps: [f"Thought: hm\nAction: go {len(ps)}" for _ in ps], batched=True, parse=True)
    assert batched.act(prompts) == ["go 3"] * 3
    with pytest.raises(ValueError, match="returned 1 answers for 3 prompts"):
        CallablePolicy(lambda ps: ["x"], batched=True).act(prompts)
    with pytest.raises(TypeError, match="must return str"):
        CallablePolicy(lambda p: 3).act(prompts)


# -- HTTP ----------------------------------------------------------------------
class Server:
    """An OpenAI-style chat-completions server on 127.0.0.1 whose behaviour a test sets."""

    def __init__(self):
        self.mode = "ok"
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, body, self.headers.get("Authorization")))
                mode = outer.mode
                if mode == "slow":
                    time.sleep(0.5)
                if mode == "flaky" and len(outer.requests) < 3:
                    return self.reply(503, b'{"error": "busy"}')
                if mode == "bad_request":
                    return self.reply(400, b'{"error": "unknown model"}')
                if mode == "malformed":
                    return self.reply(200, b'{"id": "x", "object": "chat.completion", "choices": []}')
                if mode == "not_json":
                    return self.reply(200, b"<html>hello</html>")
                if mode == "cut_off" and len(outer.requests) < 3:  # promises 100 bytes, sends 10, hangs up
                    return self.reply(200, b'{"choices"', length=100)
                if mode == "dribble":  # a byte every 0.2 s: each read is quick, the whole answer is not
                    return self.reply(200, b'{"choices": []}', gap=0.2)
                last = body["messages"][-1]["content"]
                answer = {"choices": [{"message": {"role": "assistant", "content": f"Thought: ok\nAction: echo[{last}]"}}]}
                self.reply(200, json.dumps(answer).encode())

            def reply(self, status, data, length=None, gap=0.0):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(length or len(data)))
                self.end_headers()
                try:
                    for k in range(0, len(data), 1 if gap else len(data) or 1):
                        self.wfile.write(data[k:k + 1] if gap else data)
                        self.wfile.flush()
                        time.sleep(gap)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left
                if length:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def test_http_policy_speaks_chat_completions(server):
    policy = HTTPPolicy(server.url, "served", api_key="k", max_tokens=7, backoff=0)
    prompts = [policy.builder.build("t", [("o0", "a0")], f"o{i}") for i in range(1, 4)]
    assert policy.act(prompts) == [f"echo[Observation: o{i}]" for i in range(1, 4)]
    path, body, auth = server.requests[0]
    assert path == "/v1/chat/completions" and auth == "Bearer k"
    assert body["model"] == "served" and body["max_tokens"] == 7
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]


def test_http_policy_retries_busy_server(server):
    server.mode = "flaky"
    policy = HTTPPolicy(server.url, "m", retries=3, backoff=0.05)
    began = time.perf_counter()
    assert policy.act([policy.builder.build("t", [], "o")]) == ["echo[Observation: o]"]
    assert len(server.requests) == 3
    assert time.perf_counter() - began >= 0.05 + 0.1  # backed off, doubling


def test_http_policy_slow_server_times_out_with_a_clear_error(server):
    server.mode = "slow"
    policy = HTTPPolicy(server.url, "m", timeout=0.1, retries=1, backoff=0.01)
    began = time.perf_counter()
    with pytest.raises(HTTPPolicyError, match=r"failed 2 times \(timeout 0.1 s, deadline 300.0 s\).*Timeout"):
        policy.act([policy.builder.build("t", [], "o")])
    assert time.perf_counter() - began < 2
    assert len(server.requests) == 2


def test_http_policy_retries_a_body_cut_off_mid_way(server):
    server.mode = "cut_off"
    policy = HTTPPolicy(server.url, "m", retries=3, backoff=0.01)
    assert policy.act([policy.builder.build("t", [], "o")]) == ["echo[Observation: o]"]
    assert len(server.requests) == 3


def test_http_policy_deadline_bounds_a_dribbling_answer(server):
    """Each byte came within the read timeout, so a request was held far past it."""
    server.mode = "dribble"
    policy = HTTPPolicy(server.url, "m", timeout=1.0, deadline=0.5, retries=1, backoff=0.01)
    began = time.perf_counter()
    with pytest.raises(HTTPPolicyError, match=r"failed 2 times .*deadline 0.5 s.*longer than the deadline"):
        policy.act([policy.builder.build("t", [], "o")])
    assert time.perf_counter() - began < 2 * (0.5 + 0.2) + 0.5  # the full answer would take 3 s a try
    assert len(server.requests) == 2


@pytest.mark.parametrize("mode, message", [
    ("malformed", "not an OpenAI chat completion"),
    ("not_json", "not an OpenAI chat completion"),
    ("bad_request", "answered HTTP 400"),
])
def test_http_policy_malformed_answers_fail_at_once(server, mode, message):
    server.mode = mode
    policy = HTTPPolicy(server.url, "m", retries=3, backoff=0.01)
    with pytest.raises(HTTPPolicyError, match=message):
        policy.act([policy.builder.build("t", [], "o")])
    assert len(server.requests) == 1  # no retry: trying again would not help


def test_http_policy_unreachable_and_bad_arguments():
    with pytest.raises(HTTPPolicyError, match="ConnectionError"):
        HTTPPolicy("http://127.0.0.1:9/v1", "m", retries=0).complete([{"role": "user", "content": "x"}])
    with pytest.raises(ValueError, match="base_url must start with http"):
        HTTPPolicy("127.0.0.1:8000", "m")
    with pytest.raises(ValueError, match="need timeout > 0, deadline > 0.*deadline=0"):
        HTTPPolicy("http://127.0.0.1:8000/v1", "m", deadline=0)
    with pytest.raises(ValueError, match="temperature must be >= 0 .*got -0.5"):
        HTTPPolicy("http://127.0.0.1:8000/v1", "m", temperature=-0.5)
