"""The python tool's sandbox, layer by layer (each also alone, without the audit hook), and a bounded fuzz."""

import os
import signal
import tempfile

import pytest

from stepagent_envs.math.sandbox import SandboxLimits, bwrap_status, layers, run_python
from stepagent_envs.math.sandbox_fuzz import fuzz_sandbox, hostile_programs

FAST = SandboxLimits(timeout=2.0, cpu_seconds=2, memory_mb=256, output_bytes=4096)
ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="the privilege drop only happens when the env runs as root")
needs_bwrap = pytest.mark.skipif(bwrap_status() != "on", reason=f"bubblewrap is {bwrap_status()}")


def run(code, **kwargs):
    kwargs.setdefault("use_bwrap", False)
    return run_python(code, FAST, **kwargs)


def test_plain_code_runs_and_nothing_carries_over():
    assert run("import math\nprint(math.comb(10, 3))").output == "120\n"
    assert run("x = 5").ok and "NameError" in run("print(x)").output


def test_clean_environment_and_no_inherited_descriptors(monkeypatch, tmp_path):
    monkeypatch.setenv("STEPMATH_SECRET", "hunter2")
    f = open(tmp_path / "parent.txt", "w")
    os.set_inheritable(f.fileno(), True)
    try:
        out = run(f"import os\nprint(sorted(os.environ))\nos.fstat({f.fileno()})", audit_hook=False).output
    finally:
        f.close()
    assert "STEPMATH_SECRET" not in out and "hunter2" not in out
    assert "OSError: [Errno 9] Bad file descriptor" in out


def test_new_session_and_deadline_kills_the_group():
    out = run("import os\nprint(os.getsid(0) == os.getpid())").output
    assert out == "True\n"
    result = run("import time\ntime.sleep(30)")
    assert result.timed_out and result.seconds < FAST.timeout + 2
    assert "[killed: ran past the 2 s time limit]" == result.describe(FAST)


def test_rlimits_hold_without_the_audit_hook():
    fork = run("import os\ntry:\n    os.fork()\nexcept OSError as e:\n    print('refused', e.errno)", audit_hook=False)
    assert fork.output.startswith("refused")  # RLIMIT_NPROC = 0: EAGAIN
    assert "MemoryError" in run("x = bytearray(1024 ** 3)", audit_hook=False).output
    cpu = run_python("while True: pass", SandboxLimits(timeout=10, cpu_seconds=1), use_bwrap=False, audit_hook=False)
    assert not cpu.timed_out and cpu.exit_code in (-signal.SIGXCPU, -signal.SIGKILL) and cpu.seconds < 5
    flood = run("while True:\n    print('x' * 100)", audit_hook=False)
    assert flood.output_cut and len(flood.output) == FAST.output_bytes
    assert flood.describe(FAST) == "[output cut: the program wrote more than 4096 bytes]"


@needs_root
def test_privileges_are_dropped_without_the_audit_hook():
    out = run("import os\nprint(os.getuid(), os.getgid(), os.getgroups())\nos.listdir('/root')", audit_hook=False)
    assert out.output.startswith("65534 65534 []") and "PermissionError" in out.output
    assert "Operation not permitted" in run("import os\nos.kill(1, 0)", audit_hook=False).output
    assert layers()["unprivileged_user"] == "on (nobody)"


@pytest.mark.parametrize("code, refused", [
    ("open('/etc/passwd').read()", "reading '/etc/passwd'"),
    (f"open({tempfile.gettempdir() + '/stepmath-escape-t'!r}, 'w')", "writing"),
    ("import os\nos.mkdir('/tmp/stepmath-escape-dir')", "os.mkdir on '/tmp/stepmath-escape-dir'"),
    ("import os\nos.symlink('/tmp/stepmath-escape-l', 'l')", "os.symlink on '/tmp/stepmath-escape-l'"),
    ("import socket", "importing socket"), ("import subprocess", "importing subprocess"),
    ("import ctypes", "importing ctypes"), ("import os\nos.kill(1, 0)", "os.kill"),
    ("import os\nos.system('true')", "os.system"), ("import sys\nsys._getframe(1)", "sys._getframe"),
    ("[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]"
     ".__init__.__globals__['system']('true')", "os.system"),
])
def test_audit_hook_refuses_with_a_clear_error(code, refused):
    out = run(code).output
    assert f"sandbox: {refused}" in out and "PermissionError" in out
    assert not os.path.lexists("/tmp/stepmath-escape-t") and not os.path.lexists("/tmp/stepmath-escape-dir")


def test_writes_inside_the_folder_are_allowed():
    assert run("open('a.txt', 'w').write('hi')\nprint(open('a.txt').read())").output == "hi\n"


@needs_bwrap
def test_bubblewrap_confines_without_the_audit_hook():
    out = run("import os\nprint(os.getpid())\ntry:\n    open('/tmp/stepmath-escape-bw', 'w').write('x')\n"
              "except OSError:\n    pass\nprint(sorted(line.split(':')[0].strip() for line in open('/proc/net/dev')"
              ".readlines()[2:]))", use_bwrap=True, audit_hook=False).output
    pid, interfaces = out.splitlines()
    assert int(pid) < 10 and interfaces == "['lo']"  # own PID and network namespaces
    assert not os.path.exists("/tmp/stepmath-escape-bw")  # /tmp inside is a private tmpfs


def test_bad_limits_are_named():
    with pytest.raises(ValueError, match="memory_mb must be >= 64"):
        SandboxLimits(memory_mb=10)
    with pytest.raises(ValueError, match="cpu_seconds must be a positive int, got 0"):
        SandboxLimits(cpu_seconds=0)
    with pytest.raises(TypeError, match="code must be a str, got bytes"):
        run_python(b"print(1)")


def test_hostile_programs_cover_every_kind_in_turn():
    programs = hostile_programs(32, seed=0)
    assert len({kind for kind, _, _ in programs}) == 17 and programs == hostile_programs(32, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize("use_bwrap", [False, pytest.param(True, marks=needs_bwrap)])
def test_bounded_sandbox_fuzz(use_bwrap):
    report = fuzz_sandbox(51, seed=7, tool_timeout=1.0, use_bwrap=use_bwrap)
    assert report.calls == 51 and report.failures == []
    assert report.max_seconds < 4
