"""Run untrusted, model-written python in layers of confinement.

``python[...]`` actions of StepMath-v0 run code a model wrote: assume it is
hostile. Each call runs in a fresh process and a fresh temporary folder,
removed afterwards. The layers, and what each stops:

1. **A separate process** in a new session and process group, with a clean
   environment (no inherited variables, secrets or file descriptors), stdin
   from /dev/null, the interpreter started with ``-S -s -B -P`` (standard
   library only). A wall-clock deadline kills the whole process group;
   after every call the group is killed again, so nothing is left behind.
2. **Kernel resource limits** (``setrlimit``): CPU seconds, address space,
   file size (the output goes to a file in the folder, so a flood of
   prints stops at the cap), no new processes or threads
   (``RLIMIT_NPROC = 0``: a fork bomb gets EAGAIN), 32 open files, no core
   dumps. These hold whatever the code does.
3. **An unprivileged user** (``nobody``) when the env runs as root, as CI
   does: the kernel then refuses signals to our processes and reads of
   files only root may read (e.g. ``/root``). When the env runs as an
   ordinary user the code keeps that user's file permissions: only layers 4
   and 5 keep it out of the user's home.
4. **An audit hook** (``sys.addaudithook``) installed before the code runs:
   refuses writes outside the folder, reads outside the folder and the
   standard library, sockets, subprocesses, ``os.kill`` and signals,
   ``ctypes``, threads and the frame/gc introspection that reaches the
   hook's own module. It is *not* a kernel boundary: Python code that finds
   a way around the interpreter (a bug in a C extension, say) is past it.
5. **bubblewrap**, when the ``bwrap`` program is installed and works here:
   new user, PID, network, IPC and mount namespaces, a read-only view of
   the system with only the folder writable, and the process dies with its
   parent. This one is a kernel boundary. It is off, and reported so by
   :func:`layers`, where bwrap is missing or user namespaces are disabled.

What none of them stops: the code using its CPU and memory allowance
(bounded per call), and reading what the standard library's own files say.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_CHILD = (Path(__file__).with_name("sandbox_child.py")).read_text(encoding="utf-8")
_PYTHON = getattr(sys, "_base_executable", None) or sys.executable  # the base interpreter: no venv files needed
_FLAGS = ("-S", "-s", "-B", "-P", "-u")  # -u: stdout and stderr interleave in the order written
_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8"}


@dataclass(frozen=True)
class SandboxLimits:
    """Per-call limits of :func:`run_python`."""

    timeout: float = 5.0  #: wall-clock seconds before the process group is killed
    cpu_seconds: int = 5  #: CPU seconds (RLIMIT_CPU)
    memory_mb: int = 512  #: address space in MiB (RLIMIT_AS)
    output_bytes: int = 65536  #: largest output file (RLIMIT_FSIZE); longer output kills the call

    def __post_init__(self):
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {self.timeout!r}")
        for name in ("cpu_seconds", "memory_mb", "output_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.memory_mb < 64:
            raise ValueError(f"memory_mb must be >= 64 (the interpreter itself needs about 30), got {self.memory_mb}")


@dataclass(frozen=True)
class SandboxResult:
    """What one call did."""

    output: str  #: stdout and stderr interleaved, as the code wrote them (up to the output cap)
    exit_code: int | None  #: the process's exit status; negative: killed by that signal
    timed_out: bool  #: the wall-clock deadline killed it
    seconds: float  #: wall-clock time of the call
    output_cut: bool = False  #: the code wrote more than the output cap; the rest was refused

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def describe(self, limits: SandboxLimits) -> str:
        """A short note on how the call ended, for the agent (empty when it ended normally)."""
        if self.output_cut:
            return f"[output cut: the program wrote more than {limits.output_bytes} bytes]"
        if self.timed_out:
            return f"[killed: ran past the {limits.timeout:g} s time limit]"
        code = self.exit_code
        if code == -signal.SIGXFSZ:
            return f"[killed: output exceeded {limits.output_bytes} bytes]"
        if code == -signal.SIGXCPU or code == -signal.SIGKILL:
            return f"[killed: used more than {limits.cpu_seconds} s of CPU]"
        if code is not None and code < 0:
            return f"[killed by signal {signal.Signals(-code).name}]"
        if code not in (0, 1):
            return f"[exited with status {code}]"
        return ""


@lru_cache(maxsize=1)
def _unprivileged_user() -> tuple[int, int]:
    """(uid, gid) to drop to: ``nobody`` when running as root, else (-1, -1) (keep the user)."""
    if os.geteuid() != 0:
        return -1, -1
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        raise RuntimeError("running as root and there is no 'nobody' user to drop the sandbox's privileges to; "
                           "create one or run as an ordinary user") from None
    return entry.pw_uid, entry.pw_gid


def _bwrap_command(folder: str) -> list[str]:
    python_root = str(Path(_PYTHON).resolve().parents[1])
    # No user namespace when root: the child then drops to nobody by setuid, which a namespace would not map.
    user = ["--unshare-user-try"] if os.geteuid() != 0 else []
    # No --new-session: the child stays in our process group (which has no terminal), so killing the group
    # reaches it at once.
    command = ["bwrap", "--die-with-parent", *user, "--unshare-pid", "--unshare-net",
               "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--ro-bind", "/usr", "/usr",
               "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in ("/lib", "/lib64", "/bin", "/etc/ld.so.cache", python_root):
        command += ["--ro-bind-try", path, path]
    return command + ["--bind", folder, folder, "--chdir", folder, "--"]


@lru_cache(maxsize=1)
def bwrap_status() -> str:
    """``"on"`` when bubblewrap runs a probe here, else why it is off."""
    if shutil.which("bwrap") is None:
        return "off: the bwrap program is not installed (Debian/Ubuntu: apt install bubblewrap)"
    folder = tempfile.mkdtemp(prefix="stepmath-probe-")
    try:
        probe = subprocess.run([*_bwrap_command(folder), _PYTHON, *_FLAGS, "-c", "print(6 * 7)"], env=_ENV,
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=20, text=True)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"off: bwrap failed to start ({exc})"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if probe.stdout.strip() != "42":
        return f"off: bwrap is installed but cannot sandbox here ({probe.stderr.strip()[:200] or probe.returncode})"
    return "on"


def layers() -> dict[str, str]:
    """Each layer of :func:`run_python` and whether it is on in this process."""
    uid, _ = _unprivileged_user()
    return {"process": "on", "rlimits": "on",
            "unprivileged_user": "on (nobody)" if uid >= 0 else "off: not running as root (the code runs as you)",
            "audit_hook": "on", "bwrap": bwrap_status()}


def run_python(code: str, limits: SandboxLimits = SandboxLimits(), use_bwrap: bool | None = None,
               audit_hook: bool = True) -> SandboxResult:
    """Run ``code`` in the sandbox and return its output and how it ended; never raises for what the code does.

    Args:
        code: Python source (the standard library only; each call starts afresh, nothing carries over).
        limits: Time, CPU, memory and output limits.
        use_bwrap: ``None`` (default): bubblewrap when :func:`bwrap_status` is ``"on"``; ``True``: require it
            (``RuntimeError`` when off); ``False``: without it.
        audit_hook: ``False`` leaves the audit hook out, only to test that the other layers hold alone.
    """
    if not isinstance(code, str):
        raise TypeError(f"code must be a str, got {type(code).__name__}")
    wrap = bwrap_status() == "on" if use_bwrap is None else use_bwrap
    if wrap and bwrap_status() != "on":
        raise RuntimeError(f"use_bwrap=True but bubblewrap is {bwrap_status()}")
    uid, gid = _unprivileged_user()
    folder = tempfile.mkdtemp(prefix="stepmath-")
    start = time.monotonic()
    try:
        Path(folder, "main.py").write_text(code, encoding="utf-8", errors="replace")
        out_path = os.path.join(folder, "output")
        if uid >= 0:
            os.chown(folder, uid, gid)
        argv = [_PYTHON, *_FLAGS, "-c", _CHILD, folder, str(limits.cpu_seconds), str(limits.memory_mb << 20),
                str(limits.output_bytes), str(uid), str(gid), str(int(audit_hook))]
        with open(out_path, "wb") as out:
            proc = subprocess.Popen((_bwrap_command(folder) if wrap else []) + argv, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, cwd=folder, env=_ENV, close_fds=True,
                                    start_new_session=True)
            timed_out = False
            try:
                proc.wait(timeout=limits.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(proc)
        with open(out_path, "rb") as f:
            output = f.read(limits.output_bytes).decode("utf-8", errors="replace")
        cut = os.path.getsize(out_path) >= limits.output_bytes
        return SandboxResult(output, None if timed_out else proc.returncode, timed_out, time.monotonic() - start, cut)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the call's process group, reap its leader, and wait (up to 2 s) until no live process of it
    is left (a zombie handed to init is dead already and does not count)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
    deadline = time.monotonic() + 2.0
    while _live_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.005)


def _live_members(pgid: int) -> bool:
    """Whether a process of group ``pgid`` is still running (not a zombie), from /proc."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False
