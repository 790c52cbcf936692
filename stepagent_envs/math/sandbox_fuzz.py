"""Hostile programs against StepMath-v0's python tool, and the checks that the sandbox held.

:func:`hostile_programs` draws programs of 17 kinds (infinite loops, fork
bombs, huge allocations and prints, reads of ``/etc/passwd`` and the home
folder, writes outside the sandbox folder, sockets, signals to the parent,
ctypes, subprocesses, threads, introspection escapes, ...), each with a
varied body. :func:`fuzz_sandbox` sends each one through ``env.step`` and
checks, after every call: the step returned within the time limit plus a
margin, no process of the call is left, the parent and a sentinel process
of ours are alive, no file appeared in the watched folders, and the agent
got a clear error text (a ``sandbox:`` refusal, a Python error, or a
``[killed: ...]`` note), and no secret (a canary variable of ours, the
contents of ``/etc/passwd``) reached the output. Run it alone: a file
another process creates in a watched folder meanwhile counts as a failure.
``python benchmarks/fuzz_sandbox.py`` runs 1,000.
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .env import StepMathEnv

_MARK = "stepmath-escape"
_CANARY = "canary-7f3d9a"  # set in our environment during the fuzz; the sandbox's must not have it


def _kinds(home: str, target: str) -> dict[str, list[str]]:
    """Program bodies per kind; ``{n}`` is filled with a drawn number, ``{target}`` a path outside the sandbox."""
    t = target
    return {
        "infinite_loop": ["while True:\n    x = {n}", "i = 0\nwhile i >= 0:\n    i += {n}", "def f():\n    while 1: pass\nf()"],
        "sleep": ["import time\ntime.sleep({n})", "import time\nwhile True: time.sleep(0.{n})"],
        "fork_bomb": ["import os\nwhile True:\n    os.fork()", "import os\nos.fork()\nos.fork()\nprint({n})",
                      "import _posixsubprocess", "import os\nos.posix_spawn('/bin/sh', ['sh'], {{}})",
                      "import subprocess\nsubprocess.Popen(['sleep', '{n}'])", "import os\nos.system('sleep {n} &')",
                      "import os\nos.execv('/bin/sh', ['sh', '-c', 'sleep {n}'])",
                      "import multiprocessing\nmultiprocessing.Process(target=print).start()"],
        "threads": ["import threading\nthreading.Thread(target=lambda: None).start()",
                    "import _thread\n_thread.start_new_thread(print, ({n},))"],
        "huge_allocation": ["x = bytearray({n} * 1024 ** 3)", "x = [0] * 10 ** 10", "x = 'a' * 10 ** 11",
                            "xs = []\nwhile True:\n    xs.append(bytearray(10 ** 7))"],
        "huge_print": ["while True:\n    print('x' * {n})", "print('y' * 10 ** 8)",
                       "import sys\nwhile True:\n    sys.stdout.write('z' * 4096)",
                       "import os\nwhile True:\n    os.write(1, b'w' * 4096)"],
        "read_secret": ["print(open('/etc/passwd').read())", "print(open('/etc/shadow').read())",
                        f"import os\nprint(os.listdir({home!r}))", f"print(open({home + '/.bashrc'!r}).read())",
                        "print(open('/proc/1/environ').read())", "print(open('../../../../etc/hostname').read())",
                        "import pathlib\nprint(pathlib.Path('/etc/passwd').read_text())"],
        # Not refused, and harmless: the environment is the sandbox's own (the canary must not show).
        "environment": ["import os\nprint(os.environ)", "import os\nprint(os.environ.get('STEPMATH_CANARY'))"],
        "write_outside": [f"open({t!r}, 'w').write('{{n}}')", f"import os\nos.mkdir({t!r})",
                          f"import os\nos.symlink({t!r}, 'link')\nopen('link', 'w').write('{{n}}')",
                          f"import os\nfd = os.open({t!r}, os.O_CREAT | os.O_WRONLY)\nos.write(fd, b'x')",
                          f"import pathlib\npathlib.Path({t!r}).write_text('{{n}}')",
                          f"open('../{os.path.basename(t)}', 'w').write('{{n}}')",
                          f"import shutil\nshutil.copy('main.py', {t!r})"],
        "network": ["import socket\nsocket.create_connection(('127.0.0.1', 22), timeout=1)", "import _socket",
                    "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{n}')"],
        "kill_parent": ["import os\nos.kill(os.getppid(), 9)", "import os\nos.kill(-1, 9)",
                        "import os\nos.killpg(os.getpgid(os.getppid()), 9)", "import signal\nsignal.raise_signal(9)",
                        "import os\nos.kill(1, 15)"],
        "ctypes": ["import ctypes\nctypes.CDLL(None).system(b'sleep {n}')", "import _ctypes"],
        "introspection": ["import sys\nprint(sys._getframe(1).f_globals)",
                          "import gc\nprint(len(gc.get_objects()))",
                          "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]"
                          ".__init__.__globals__['system']('sleep {n}')",
                          "import sys\nsys.modules['__main__'].__dict__.clear()\nopen(" + repr(t) + ", 'w')"],
        "limits": ["import resource\nresource.setrlimit(resource.RLIMIT_CPU, (10 ** 6, 10 ** 6))",
                   "import os\nos.setuid(0)"],
        "recursion": ["def f(n):\n    return f(n + 1)\nf({n})", "eval('(' * 10 ** 6)", "x = 1\nfor _ in range(40):\n    x = [x, x]\nprint(str(x)[:{n}])"],
        "bad_output": ["import sys\nsys.stdout.buffer.write(bytes(range(256)) * {n})", "print('\\ud800')",
                       "print('\\x1b[2J\\x00' * {n})"],
        "exit": ["import os\nos._exit({n})", "raise SystemExit({n})", "import sys\nsys.exit('bye')"],
    }


def hostile_programs(n: int, seed: int = 0, home: str | None = None, outside: str | None = None) -> list[tuple[str, str, str]]:
    """``n`` (kind, program, target path) triples, the kinds in turn, bodies and numbers drawn from ``seed``."""
    rng = random.Random(seed)
    home = home or os.path.expanduser("~")
    outside = outside or tempfile.gettempdir()
    out = []
    for i in range(n):
        target = os.path.join(outside, f"{_MARK}-{seed}-{i}")
        kinds = _kinds(home, target)
        kind = list(kinds)[i % len(kinds)]
        body = rng.choice(kinds[kind]).replace("{n}", str(rng.randint(1, 99))).replace("{{}}", "{}")
        out.append((kind, body, target))
    return out


@dataclass
class SandboxFuzzReport:
    """What :func:`fuzz_sandbox` found."""

    calls: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    max_seconds: float = 0.0
    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  #: one line per broken promise, naming the program

    @property
    def ok(self) -> bool:
        return not self.failures


def _leftovers() -> list[int]:
    """Pids of processes still running in a sandbox folder already removed (its call has returned;
    calls of other processes running now keep their folders and do not count)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = os.readlink(entry / "cwd")
                if "/stepmath-" in cwd and cwd.endswith(" (deleted)"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _listing(folders: list[str]) -> set[str]:
    names = set()
    for folder in folders:
        try:
            names.update(os.path.join(folder, n) for n in os.listdir(folder) if not n.startswith("stepmath-"))
        except OSError:
            continue
    return names


def fuzz_sandbox(n: int = 1000, seed: int = 0, tool_timeout: float = 1.0, margin: float = 3.0,
                 progress: bool = False, **env_kwargs) -> SandboxFuzzReport:
    """Send ``n`` hostile programs through ``StepMathEnv.step`` and check the sandbox held (see the module doc).

    Args:
        n: Programs to run.
        seed: Seed of the programs.
        tool_timeout: The env's per-call time limit.
        margin: Seconds past the limit a step may take before it counts as a hang.
        progress: Show a progress bar.
        env_kwargs: More keyword arguments for :class:`StepMathEnv` (``use_bwrap=False``, ...).
    """
    env = StepMathEnv(split="test", tool_timeout=tool_timeout, **env_kwargs)
    home = os.path.expanduser("~")
    watched = sorted({tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm", home, os.getcwd()})
    before = _listing(watched)
    sentinel = subprocess.Popen(["sleep", "100000"], start_new_session=True)
    os.environ["STEPMATH_CANARY"] = _CANARY
    report = SandboxFuzzReport()
    programs = hostile_programs(n, seed)
    if progress:
        from tqdm import tqdm

        programs = tqdm(programs, desc="sandbox fuzz", unit="program")
    try:
        env.reset(seed=seed)
        for kind, program, target in programs:
            report.calls += 1
            report.kinds[kind] = report.kinds.get(kind, 0) + 1
            start = time.monotonic()
            try:
                obs, reward, terminated, truncated, info = env.step(f"python[{program}]")
            except Exception as exc:  # noqa: BLE001 - the finding
                report.failures.append(f"{kind}: step raised {type(exc).__name__}: {exc} for {program!r}")
                continue
            took = time.monotonic() - start
            report.seconds.append(took)
            report.max_seconds = max(report.max_seconds, took)
            problems = []
            if took > tool_timeout + margin:
                problems.append(f"took {took:.1f} s")
            if not obs.startswith("Output:") or info["invalid"] or terminated:
                problems.append(f"unexpected observation {obs[:80]!r}")
            body = obs[len("Output:"):].strip()
            if _CANARY in body or "root:x:0:0" in body:
                problems.append("a secret leaked into the output")
            if kind not in ("exit", "recursion", "bad_output", "environment") and not any(
                    mark in body for mark in ("sandbox:", "Error", "[killed", "[exited", "[output cut")):
                problems.append(f"no clear error text: {body[:120]!r}")
            if _leftovers():
                problems.append(f"processes left behind: {_leftovers()}")
            if sentinel.poll() is not None:
                problems.append("the sentinel process was killed")
            if os.path.lexists(target):
                problems.append(f"{target} was created")
            if problems:
                report.failures.append(f"{kind}: {'; '.join(problems)} for {program!r}")
        appeared = _listing(watched) - before
        if appeared:
            report.failures.append(f"files appeared outside the sandbox: {sorted(appeared)[:10]}")
    finally:
        os.environ.pop("STEPMATH_CANARY", None)
        sentinel.kill()
        sentinel.wait()
        env.close()
    return report
