"""The trusted start of a sandboxed python call; run by the parent as ``python -c <this source>``.

It runs inside the child process, in this order, before any model-written
code: pre-import the allowed modules (the interpreter's own files may become
unreadable once privileges are dropped), set the resource limits, drop to an
unprivileged user when started as root, install the audit hook, then run the
code from ``<folder>/main.py``. Only the standard library is used: the child
interpreter starts with ``-S`` (no site-packages).

argv: folder, cpu_seconds, memory_bytes, file_bytes, uid, gid (uid/gid -1:
keep the current user), audit hook (1, or 0 to test the other layers alone).
"""

import sys

# Modules a calculation may want, imported while the interpreter's files are still readable.
import collections, datetime, decimal, fractions, functools, itertools, json, math, operator  # noqa: E401,F401
import random, re, statistics, string, traceback  # noqa: E401,F401
import os
import resource

FOLDER, CPU, MEMORY, FILE_BYTES, UID, GID, HOOK = sys.argv[1], *map(int, sys.argv[2:8])
CODE = open(os.path.join(FOLDER, "main.py"), encoding="utf-8").read()

for limit, value in ((resource.RLIMIT_CPU, CPU), (resource.RLIMIT_AS, MEMORY), (resource.RLIMIT_FSIZE, FILE_BYTES),
                     (resource.RLIMIT_NPROC, 0), (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NOFILE, 32)):
    resource.setrlimit(limit, (value, value))
if UID >= 0:
    os.setgroups([])
    os.setgid(GID)
    os.setuid(UID)
    if os.getuid() != UID or os.geteuid() != UID:
        sys.exit("sandbox: could not drop privileges")
os.chdir(FOLDER)

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_REFUSED_IMPORTS = frozenset({"ctypes", "_ctypes", "_posixsubprocess", "subprocess", "socket", "_socket",
                              "multiprocessing", "_multiprocessing", "pty", "signal", "_signal", "threading",
                              "_thread", "resource", "gc"})
# Process, network, signal and native-code routes, and the introspection that reaches this module's frame.
_REFUSED_EVENTS = ("socket.", "ctypes.", "subprocess.", "os.exec", "os.spawn", "os.posix_spawn", "os.fork",
                   "os.forkpty", "os.system", "os.kill", "os.killpg", "signal.", "resource.",
                   "_thread.start_new_thread", "gc.", "sys._getframe", "sys._current_frames", "mmap.",
                   "sys.remote_exec", "cpython.")
_PATH_EVENTS = frozenset({"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.symlink", "os.link", "os.chmod",
                          "os.chown", "os.truncate", "os.utime", "os.listdir", "os.scandir", "os.chdir",
                          "shutil.rmtree", "os.chflags", "os.lchflags", "os.lchmod", "os.lchown", "os.setxattr",
                          "os.removexattr", "os.listxattr", "os.getxattr", "glob.glob", "os.walk", "os.fwalk"})


def _make_hook(folder: str, read_roots: tuple):
    """The audit hook, its settings held in its closure (not in module globals the code could rebind)."""
    realpath, join, getcwd, fsdecode, sep = os.path.realpath, os.path.join, os.getcwd, os.fsdecode, os.sep

    def inside(path, roots) -> bool:
        if isinstance(path, int):
            return path in (0, 1, 2)
        real = realpath(join(getcwd(), fsdecode(path) if isinstance(path, bytes) else str(path)))
        return any(real == r or real.startswith(r + sep) for r in roots)

    def refuse(what: str):
        raise PermissionError(f"sandbox: {what} is not allowed (python[...] runs the standard library only, "
                              "with no files outside its own folder, no network, no processes, no signals)")

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (flags or 0) & _WRITE_FLAGS
            if path is not None and not inside(path, (folder,) if writes else read_roots):
                refuse(f"{'writing' if writes else 'reading'} {path!r}")
        elif event == "import":
            if args[0].split(".")[0] in _REFUSED_IMPORTS:
                refuse(f"importing {args[0]}")
        elif event in _PATH_EVENTS:
            for arg in args[:2]:
                if isinstance(arg, (str, bytes)) and not inside(arg, (folder,)):
                    refuse(f"{event} on {arg!r}")
        elif event == "object.__setattr__" and callable(args[0]):
            refuse(f"changing {args[1]!r} of a function")
        elif event.startswith(_REFUSED_EVENTS):
            refuse(event)

    return hook


def _report(exc: BaseException) -> None:
    """The model's error as its observation: its own lines of the traceback, then the exception."""
    lines = CODE.splitlines()
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<python>"]
    for f in frames[-3:]:
        text = lines[f.lineno - 1].strip() if f.lineno and 0 < f.lineno <= len(lines) else ""
        sys.stderr.write(f"  line {f.lineno}: {text}\n")
    sys.stderr.write("".join(traceback.format_exception_only(type(exc), exc)))


_folder = os.path.realpath(FOLDER)
if HOOK:
    sys.addaudithook(_make_hook(_folder, (_folder, os.path.realpath(os.path.dirname(os.__file__)))))
try:
    exec(compile(CODE, "<python>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
except SystemExit:
    raise
except BaseException as exc:  # noqa: BLE001 - the model's error is the observation
    _report(exc)
    sys.exit(1)
