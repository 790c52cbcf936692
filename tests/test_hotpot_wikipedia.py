"""StepHotpot's Wikipedia backend against a MediaWiki-like server on loopback (never the internet)."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import gymnasium as gym
import pytest

import stepagent_envs  # noqa: F401
from stepagent_envs.hotpot.wikipedia import WikipediaCorpus, WikipediaError, split_sentences

PAGES = {
    "Ed Wood": "Edward Davis Wood Jr. was an American filmmaker. He was born in Poughkeepsie, New York.\n\n"
               "== Career ==\nWood made low-budget films. Wood's films were later celebrated.",
    "Tim Burton": "Timothy Walter Burton is an American filmmaker. He directed Ed Wood (1994).",
    "Ed Wood (film)": "Ed Wood is a 1994 American film directed by Tim Burton. It stars Johnny Depp.",
}
REDIRECTS = {"Edward Wood": "Ed Wood"}


class FakeMediaWiki(BaseHTTPRequestHandler):
    """Answers ``prop=extracts`` and ``list=search`` as the MediaWiki API does (formatversion=2).

    ``server.plan`` lists faults to serve before answering normally, one per
    request: an HTTP status (503, 429, 404), ``"sleep"`` (answer late),
    ``"garbage"`` (not JSON), ``"no-query"`` (JSON without ``query``) or
    ``"api-error"`` (MediaWiki's error object).
    """

    def log_message(self, *args):  # keep the test output quiet
        pass

    def do_GET(self):
        params = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        self.server.requests.append(params)
        fault = self.server.plan.pop(0) if self.server.plan else None
        if fault == "sleep":
            time.sleep(self.server.sleep)
        elif isinstance(fault, int):
            return self._send(fault, b"busy")
        elif fault == "garbage":
            return self._send(200, b"<html>captive portal</html>")
        elif fault == "no-query":
            return self._send(200, json.dumps({"batchcomplete": True}).encode())
        elif fault == "api-error":
            return self._send(200, json.dumps({"error": {"code": "ratelimited", "info": "slow down"}}).encode())
        if params.get("format") != "json" or params.get("formatversion") != "2":
            return self._send(400, b"format=json&formatversion=2 expected")
        if params.get("list") == "search":
            words = set(params["srsearch"].lower().split())
            hits = sorted(PAGES, key=lambda t: -len(words & set((t + " " + PAGES[t]).lower().split())))
            hits = [t for t in hits if words & set((t + " " + PAGES[t]).lower().split())][: int(params["srlimit"])]
            body = {"batchcomplete": True, "query": {"search": [{"ns": 0, "title": t} for t in hits]}}
        else:
            title = params["titles"]
            title = title[:1].upper() + title[1:]  # MediaWiki capitalises the first letter only
            title = REDIRECTS.get(title, title)
            page = {"ns": 0, "title": title, "missing": True}
            if title in PAGES:
                page = {"pageid": 1 + list(PAGES).index(title), "ns": 0, "title": title, "extract": PAGES[title]}
            body = {"batchcomplete": True, "query": {"pages": [page]}}
        self._send(200, json.dumps(body).encode())

    def _send(self, status, body):
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass


@pytest.fixture
def wiki(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # a proxy set in the environment must not catch loopback
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMediaWiki)
    server.plan, server.requests, server.sleep = [], [], 0.0
    server.url = f"http://127.0.0.1:{server.server_address[1]}/w/api.php"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def corpus(wiki, tmp_path, **kwargs):
    kwargs = {"timeout": 2.0, "retries": 2, "backoff": 0.0, "cache_dir": tmp_path / "cache", **kwargs}
    return WikipediaCorpus(wiki.url, **kwargs)


def test_search_lands_on_titles_redirects_and_case_insensitive_hits(wiki, tmp_path):
    c = corpus(wiki, tmp_path)
    page = c.search("Ed Wood").page
    assert page.title == "Ed Wood"
    assert page.sentences == ("Edward Davis Wood Jr. was an American filmmaker.", "He was born in Poughkeepsie, New York.",
                              "Wood made low-budget films.", "Wood's films were later celebrated.")
    assert c.search("Edward Wood").page.title == "Ed Wood"  # a redirect
    assert c.search("ed wood (FILM)").page.title == "Ed Wood (film)"  # no such title: the matching search hit
    missed = c.search("burton filmmaker")
    assert missed.page is None and missed.similar[0] == "Tim Burton"
    sent = wiki.requests[0]
    assert sent["action"] == "query" and sent["prop"] == "extracts" and sent["explaintext"] == "1" and sent["redirects"] == "1"


def test_answers_are_cached_on_disk(wiki, tmp_path):
    first = corpus(wiki, tmp_path).search("Tim Burton")
    assert len(wiki.requests) == 1
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1
    wiki.plan = [503] * 10  # a second process, offline: served from disk
    again = corpus(wiki, tmp_path).search("Tim Burton")
    assert again == first and len(wiki.requests) == 1


def test_retries_with_backoff_then_succeeds(wiki, tmp_path):
    wiki.plan = [503, 429]
    start = time.perf_counter()
    page = corpus(wiki, tmp_path, backoff=0.05).search("Tim Burton").page
    assert page.title == "Tim Burton" and len(wiki.requests) == 3
    assert time.perf_counter() - start >= 0.05 + 0.1  # waited 0.05 s, then 0.1 s


def test_gives_up_after_the_retries_with_a_clear_error(wiki, tmp_path):
    wiki.plan = [503, 503, 503]
    with pytest.raises(WikipediaError, match=r"after 3 attempts \(last: HTTP 503\).*corpus='local'"):
        corpus(wiki, tmp_path).search("Tim Burton")
    assert not list((tmp_path / "cache").glob("*.json"))  # failures are never cached


def test_a_slow_answer_times_out_and_is_retried(wiki, tmp_path):
    wiki.plan, wiki.sleep = ["sleep"], 0.5
    assert corpus(wiki, tmp_path, timeout=0.1).search("Tim Burton").page.title == "Tim Burton"
    wiki.plan = ["sleep"]
    with pytest.raises(WikipediaError, match=r"after 1 attempts \(last: (ReadTimeout|ConnectionError)"):
        corpus(wiki, tmp_path, timeout=0.1, retries=0).search("Ed Wood")


@pytest.mark.parametrize("fault, message", [
    ("garbage", r"not JSON \('<html>captive portal"),
    ("no-query", "query.pages is not a list"),
    ("api-error", "refused .*ratelimited: slow down"),
    (404, "answered HTTP 404"),
])
def test_malformed_answers_raise_and_are_not_cached(wiki, tmp_path, fault, message):
    wiki.plan = [fault]
    c = corpus(wiki, tmp_path)
    with pytest.raises(WikipediaError, match=message):
        c.search("Tim Burton")
    assert len(wiki.requests) == 1  # not retried: the server is up but answers nonsense
    assert c.search("Tim Burton").page.title == "Tim Burton"  # the next, good answer is used


def test_offline_fails_fast_with_the_fix(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    c = WikipediaCorpus(f"http://127.0.0.1:{port}/w/api.php", timeout=1.0, retries=1, backoff=0.0)
    with pytest.raises(WikipediaError, match="could not reach the MediaWiki API .* after 2 attempts .*ConnectionError"):
        c.search("Ed Wood")


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="base_url must be an http"):
        WikipediaCorpus("en.wikipedia.org")
    with pytest.raises(ValueError, match="retries must be an int >= 0"):
        WikipediaCorpus(retries=-1)


def test_sentences_and_headings():
    assert split_sentences("A b. C d? \"E\" f! (G) h.\n== H ==\n\nI j. k l.") == ("A b.", "C d?", '"E" f!', "(G) h.", "I j. k l.")


def test_the_env_over_wikipedia(wiki, tmp_path):
    data = [{"_id": "q1", "question": "What nationality is the director of Ed Wood (film)?", "answer": "American",
             "type": "bridge", "level": "hard", "supporting_facts": [["Tim Burton", 0], ["Ed Wood (film)", 0]],
             "context": [["Ed Wood (film)", ["Ed Wood is a 1994 American film directed by Tim Burton."]],
                         ["Tim Burton", ["Timothy Walter Burton is an American filmmaker."]]]},
            {"_id": "q2", "question": "Who renamed the Missing Page?", "answer": "Nobody", "type": "bridge",
             "supporting_facts": [["Missing Page", 0]], "context": [["Missing Page", ["It was renamed."]]]}]
    path = tmp_path / "hotpot.json"
    path.write_text(json.dumps(data))
    env = gym.make("StepHotpot-v0", data_path=str(path), corpus="wikipedia", wiki_url=wiki.url, wiki_backoff=0.0,
                   wiki_cache_dir=str(tmp_path / "cache"))
    env.reset(options={"task_id": "q1"})
    actions = []
    while True:
        actions.append(env.unwrapped.expert_action())
        obs, reward, terminated, truncated, info = env.step(actions[-1])
        if terminated:
            break
    assert actions == ["search[Ed Wood (film)]", "search[Tim Burton]", "finish[American]"]
    assert reward == 1.0 and info["won"] and env.unwrapped.state.seen == ("Ed Wood (film)", "Tim Burton")
    obs, info = env.reset(options={"task_id": "q2"})  # a supporting page the backend lacks: skipped, not searched forever
    obs, *_ = env.step(env.unwrapped.expert_action())
    assert obs.startswith("Could not find [Missing Page].")
    assert env.unwrapped.expert_action() == "finish[Nobody]"
    wiki.plan = [503] * 10  # the backend breaks mid-episode: an error, not a silent observation
    with pytest.raises(WikipediaError, match="could not reach"):
        env.step("search[Something Else]")
