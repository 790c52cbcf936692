"""One ScienceWorld engine: the ``scienceworld`` package's Java simulator in a JVM of its own.

The engine is driven over py4j through its own objects
(``scienceworld.runtime.pythonapi.PythonInterface`` for load, valid
action-object combinations and gold paths; its ``AgentInterface`` and
``InputParser`` for steps). The official ``scienceworld.ScienceWorldEnv.step``
calls ``PythonInterface.step`` and then asks for the score, completion flag,
move counter, room, inventory, task and every valid action (about a thousand
strings, one py4j round trip each). ``PythonInterface.step`` itself renders
the room and the inventory for its run history and lists every visible
object's referents for a debug print before and after the engine's
``AgentInterface.step``. Here a step is one py4j round trip into a chain of
``java.lang.invoke`` method handles built once per JVM (no code of ours runs
in the JVM) that does what ``AgentInterface.step`` does, minus the work
whose result nothing reads:

* the parser is called as ``AgentInterface.step`` calls it, except that the
  universe it collects objects from for oracle actions (``teleport to ...``)
  is replaced by the agent when the input cannot start with an oracle
  action's words (the parser then never looks at it; collecting the whole
  universe costs about 1 ms a step with ``-XX:hashCode=2``, below);
* a parsed action is queued with the engine's ``ActionHandler`` and run by
  ``AgentInterface.step`` itself, reached through its ambiguity-resolution
  branch (an empty list of pending options, so that branch parses nothing
  and the queued action runs as a parsed one would: the same actions, ticks,
  goal checks, score and move counter);
* input the parser rejects or finds ambiguous returns the parser's text, as
  ``AgentInterface.step`` does (nothing runs, the ambiguity stays pending);
* pending ambiguities, an engine in its error state and the special inputs
  ``help``, ``objects`` and ``task`` take the engine's own paths
  (``AgentInterface.step``; ``PythonInterface.step`` for the special inputs).

``benchmarks/bench_sciworld.py`` measures it; ``tests/test_sciworld.py``
checks it against ``PythonInterface.step`` step by step.

The JVM is started with:

* ``-Xmx<heap_mb>m`` and ``-XX:+ExitOnOutOfMemoryError``: the heap is capped,
  and an exhausted heap ends the JVM (the next call raises
  :class:`EngineDiedError` naming the cap) instead of leaving a half-broken
  engine behind.
* ``-XX:hashCode=2``: the engine keeps its objects in hash sets keyed by Java
  identity hash codes, which differ from one load to the next, so with
  default settings the same actions list objects in different orders and
  ambiguity choices pick different objects (and the electrical tasks can
  even score differently). With one constant identity hash the sets iterate
  in insertion order and a load plus the same inputs always gives the same
  texts, in any JVM and after any earlier episodes (seeded determinism). The
  price: those sets degrade to lists. ``PythonInterface.step`` was about 50%
  slower for it; the step here no longer collects the universe on every
  parse and is about 3% slower than with varying hashes (5.1 vs 4.9 ms of
  CPU a step on the benchmark's gold paths), a valid-action listing about 5%.
  No other HotSpot mode is deterministic across loads: the sequence (3),
  global-random (0) and thread-local xorshift (5) modes depend on how many
  hashes the JVM handed out before, and the address modes (1, 4) on the heap.
* ``--add-opens java.base/java.util=ALL-UNNAMED``: listing valid actions
  draws from the engine's global random generator (``scala.util.Random``,
  used when it picks unique names for look-alike objects); its state is saved
  before a listing and restored after, so asking for valid actions never
  changes what later steps do.
* TCP_NODELAY on the py4j sockets (both ends): py4j writes a reply in 8 KiB
  pieces, and with Nagle's algorithm on, any reply longer than that (a
  valid-action list, a gold path) waited about 40 ms for the reader's
  delayed acknowledgement.
* ``-XX:+UseSerialGC -XX:-UsePerfData``: one GC thread and no perf-data file
  in ``/tmp`` (a killed JVM would leave it behind).
* a class-data archive (AppCDS): the first engine of a Java install and
  heap cap writes the classes it loaded to
  ``cache_root()/sciworld/cds/<key>.jsa`` when it closes; later engines map
  it and start in about 1.5 s instead of 2.5 s. A missing, stale or foreign
  archive only costs that time (the JVM checks it and falls back).

Java 11 or newer is needed. The engine prints debug text on every step; its
``System.out`` is replaced by a null stream before anything is loaded.

Every engine call (a step, a load, a valid-action listing, a gold path) has a
deadline, ``call_timeout`` (60 s by default), kept by a watchdog thread: a JVM
that does not answer in time (hung, or paused with SIGSTOP) is killed and the
call raises :class:`EngineDiedError` saying so.
Text that UTF-8 cannot encode (a lone surrogate) is refused before it reaches
py4j, which would otherwise fail to send it and lose the connection. py4j's
auth token, which the JVM prints at start, is cut from every error message.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from ..cache import cache_root

#: The engine's reply to input that matches no action; nothing in the simulation changes.
NO_MATCH = "No known action matches that input."
#: How the engine's reply to input matching several actions starts; it then waits for a number.
AMBIGUOUS = "Ambiguous request:"

_JAVA_RANDOM_MULTIPLIER = 0x5DEECE66D  # java.util.Random scrambles setSeed(s) as s ^ this
_OPTION = re.compile(r"^\d+:\t", re.MULTILINE)  # one numbered option of an ambiguity question


def option_count(observation: str) -> int:
    """How many numbered options an engine reply asks to choose from (0 unless it is an ambiguity question)."""
    return len(_OPTION.findall(observation)) if observation.startswith(AMBIGUOUS) else 0


class EngineUnavailableError(RuntimeError):
    """The ``scienceworld`` package or a Java runtime is missing; the message says how to install it."""


class EngineError(RuntimeError):
    """The engine refused a request or failed while serving it."""


class EngineDiedError(EngineError):
    """The engine's JVM exited or stopped answering; start a fresh :class:`Engine` (the env's ``reset()`` does)."""


@dataclass(frozen=True)
class StepResult:
    """What one engine step returns."""

    observation: str  #: the engine's text
    score: float  #: task progress in [0, 1], or negative once the task has failed
    completed: bool  #: whether the task's goals are all met
    moves: int  #: engine time steps so far (actions that take no time leave it unchanged)


_INSTALL = "install it with pip install 'scienceworld>=1.2' (it carries the Java engine; a Java runtime is needed too)"


def scienceworld_constants():
    """The installed ``scienceworld`` package's constants module (jar path, task list).

    Raises:
        EngineUnavailableError: the package is not installed.
    """
    try:
        from scienceworld import constants
    except ImportError as error:
        raise EngineUnavailableError(f"the scienceworld package is not installed ({error}); {_INSTALL}") from error
    return constants


def java_executable(java: str | None = None) -> str:
    """The java executable to run: ``java`` if given, else ``$JAVA_HOME/bin/java``, else ``java`` on PATH.

    Raises:
        EngineUnavailableError: it does not exist.
    """
    if java is None:
        home = os.environ.get("JAVA_HOME")
        java = os.path.join(home, "bin", "java") if home else "java"
    found = shutil.which(java)
    if found is None:
        raise EngineUnavailableError(
            f"no Java runtime found (looked for {java!r}); ScienceWorld's engine runs on Java 11 or newer: "
            "install one (e.g. apt-get install openjdk-17-jre-headless), put it on PATH or set JAVA_HOME, "
            "or pass java='/path/to/bin/java'"
        )
    return found


def child_jvm_pids() -> list[int]:
    """The process ids of this process's engine JVMs still running (Linux: read from /proc); for leak checks."""
    pids = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read()
        except OSError:  # the process ended meanwhile
            continue
        if parent == os.getpid() and b"py4j.GatewayServer" in command:
            pids.append(int(entry))
    return pids


def _class_archive(java: str, jars: list[str], heap_mb: int) -> Path:
    """Where the class-data archive of this java, these jars and this heap cap lives."""
    key = "|".join(f"{path}:{os.stat(path).st_size}:{os.stat(path).st_mtime_ns}" for path in [java, *jars])
    return cache_root() / "sciworld" / "cds" / f"{hashlib.sha1(f'{key}|{heap_mb}'.encode()).hexdigest()[:16]}.jsa"


class _Watchdog:
    """Kills a process when a call into it runs past its deadline.

    One thread, started by the first :meth:`deadline` and ended by :meth:`stop`. It sleeps
    until the deadline it last saw and is woken only when a call's deadline comes sooner
    (the setup's long deadline is followed by short per-call ones), so a call usually costs
    two lock round trips. A kill makes every pending and later
    py4j read fail at once (end of stream, connection refused), including the reads of
    py4j's garbage-collection messages, which a paused JVM would hold one read timeout each.
    """

    def __init__(self, proc: subprocess.Popen):
        self._proc = proc
        self._cond = threading.Condition()
        self._deadline: float | None = None  # of the call in progress
        self._wake_at: float | None = None  # when the sleeping thread wakes next (None: only when notified)
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.fired = False  #: whether a deadline passed and the process was killed

    @contextlib.contextmanager
    def deadline(self, seconds: float | None):
        """Kill the process unless the body ends within ``seconds`` (None: no deadline)."""
        if seconds is None:
            yield
            return
        with self._cond:
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._watch, name="sciworld-engine-watchdog", daemon=True)
                self._thread.start()
            self._deadline = time.monotonic() + seconds
            if self._wake_at is None or self._deadline < self._wake_at:
                self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                self._deadline = None

    def _watch(self) -> None:
        with self._cond:
            while not self._stopped:
                if self._deadline is None:
                    self._wake_at = None
                    self._cond.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._wake_at = self._deadline
                    self._cond.wait(left)
                    continue
                self.fired, self._deadline = True, None
                with contextlib.suppress(OSError):
                    self._proc.kill()

    def stop(self) -> None:
        """End the thread (idempotent)."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()


def _read_whole(log) -> str:
    """All of a file the JVM writes to, read without moving the file's offset.

    The JVM's stdout is the same open file as ``log``, offset included: a
    ``seek(0)`` here would make its next line overwrite the file's start (a
    port line lost under the token that followed it left the start waiting
    until its timeout).
    """
    fd = log.fileno()
    return os.pread(fd, os.fstat(fd).st_size, 0).decode("utf-8", "replace")


def _shutdown(owner_pid: int, gateway, proc: subprocess.Popen, log, dump: Path | None, archive: Path,
              watchdog: _Watchdog) -> None:
    """End a JVM: close the py4j sockets, close its stdin (py4j's ``--die-on-broken-pipe``
    makes it exit on end of input), wait, and kill it if it lingers. A class-data archive
    the JVM dumped on a clean exit is then moved into place."""
    if os.getpid() != owner_pid:  # a forked child holds copies of the parent's handles: leave them be
        return
    watchdog.stop()
    if gateway is not None:
        client = gateway._gateway_client  # py4j has no public switch for this
        client.is_connected = False  # proxies collected later must not dial a JVM that is gone
        client.close()
    with contextlib.suppress(OSError):
        proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    if dump is not None and dump.exists():
        if proc.returncode == 0:
            os.replace(dump, archive)
        else:  # a killed JVM may have left half an archive
            dump.unlink()


#: What ``PythonInterface.step`` answers when the engine's text is empty.
EMPTY_STEP = ("Unknown action.  Type 'help' for a list of actions, and 'objects' for a list of possible object "
              "referents. ")
_JAVA_BLANK = "".join(map(chr, range(33)))  # what Java's String.trim() strips


def _encodable(text: str) -> bool:
    """Whether ``text`` encodes to UTF-8 (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Handles:
    """Composes ``java.lang.invoke`` method handles in the JVM over py4j (setup only: each call is a round trip)."""

    def __init__(self, gateway):
        self.gateway = gateway
        jvm = gateway.jvm
        self.jvm = jvm
        self.MH = jvm.java.lang.invoke.MethodHandles
        self.lookup = self.MH.publicLookup()
        self._method_type = jvm.java.lang.invoke.MethodType.methodType
        self._for_name = jvm.java.lang.Class.forName
        self._handle_class = jvm.java.lang.invoke.MethodHandle
        self._class_class = jvm.java.lang.Class
        self._object_class = jvm.java.lang.Object
        self.BOOLEAN, self.INT = jvm.java.lang.Boolean.TYPE, jvm.java.lang.Integer.TYPE
        self.VOID = jvm.java.lang.Void.TYPE

    def cls(self, name: str):
        return self._for_name(name)

    def _array(self, kind, items):
        array = self.gateway.new_array(kind, len(items))
        for index, item in enumerate(items):
            array[index] = item
        return array

    def type(self, returns, *params):
        return self._method_type(returns, self._array(self._class_class, params))

    def virtual(self, owner, name, returns, *params):
        return self.lookup.findVirtual(owner, name, self.type(returns, *params))

    def static(self, owner, name, returns, *params):
        return self.lookup.findStatic(owner, name, self.type(returns, *params))

    def filter_args(self, target, pos, *filters):
        return self.MH.filterArguments(target, pos, self._array(self._handle_class, filters))

    def then(self, target, filter_):
        return self.MH.filterReturnValue(target, filter_)

    def bind(self, target, pos, *values):
        return self.MH.insertArguments(target, pos, self._array(self._object_class, values))

    def drop(self, target, pos, *types):
        return self.MH.dropArguments(target, pos, self._array(self._class_class, types))

    def permute(self, target, new_type, *order):
        return self.MH.permuteArguments(target, new_type, self._array(self.jvm.int, order))

    def function(self, handle):
        """A ``java.util.function.BiFunction`` proxy calling ``handle`` (of two Object arguments)."""
        return self.jvm.java.lang.invoke.MethodHandleProxies.asInterfaceInstance(
            self.cls("java.util.function.BiFunction"), handle)


def _step_functions(gateway, server):
    """The step as ``BiFunction(agentInterface, input) -> String``, built once per JVM.

    Returns ``(full, restricted)``: the parser collects oracle actions' objects from the
    universe in ``full`` and from the agent in ``restricted``. Answers: ``"(" text "," score
    "," completed ")" moves`` when the engine ran a step (``AgentInterface.step``'s result and
    move counter); ``"#" text`` when the parser rejected the input or asked to resolve an
    ambiguity (nothing ran); ``"@" text`` for the special inputs ``PythonInterface.step``
    answers itself (``help``, ``objects``, ``task``; nothing ran).
    """
    h = _Handles(gateway)
    cls = h.cls
    String, Object = cls("java.lang.String"), cls("java.lang.Object")
    AgentInterface, Parser = cls("scienceworld.runtime.AgentInterface"), cls("scienceworld.input.InputParser")
    EnvObject, Agent = cls("scienceworld.struct.EnvObject"), cls("scienceworld.objects.agent.Agent")
    ObjMonitor, Goals = cls("scienceworld.tasks.goals.ObjMonitor"), cls("scienceworld.tasks.goals.GoalSequence")
    Task, Handler = cls("scienceworld.tasks.Task"), cls("scienceworld.input.ActionHandler")
    Action, Option = cls("scienceworld.actions.Action"), cls("scala.Option")
    Tuple3, Tuple4 = cls("scala.Tuple3"), cls("scala.Tuple4")
    concat = h.virtual(String, "concat", String, String)

    parser = h.virtual(AgentInterface, "inputParser", Parser)
    agent = h.virtual(AgentInterface, "agent", Agent)
    option_get = h.virtual(Option, "get", Object)
    # The agent's container (AgentInterface.step's "visible objects" and perspective container).
    room = h.then(h.virtual(EnvObject, "getContainer", Option).asType(h.type(Option, Agent)), option_get)
    room = h.then(agent, room.asType(h.type(EnvObject, Agent)))
    goals = h.then(h.virtual(AgentInterface, "task", Task), h.virtual(Task, "goalSequence", Goals))

    # (ai, input) -> AgentInterface.step's (text, score, completed) as text, then the move counter.
    step = h.virtual(AgentInterface, "step", Tuple3, String)
    moves = h.then(h.virtual(AgentInterface, "getCurIterations", h.INT), h.static(String, "valueOf", String, h.INT))
    text = h.filter_args(concat, 0, h.virtual(Object, "toString", String).asType(h.type(String, Tuple3)))
    text = h.drop(h.filter_args(text, 1, moves), 2, String)  # (Tuple3, ai, input)
    engine_step = h.MH.foldArguments(text, step)  # the step runs first, then its result is formatted

    # A parsed action: queue it, leave the parser "waiting" for an answer among no options, and let
    # AgentInterface.step answer "0": its ambiguity branch then queues nothing more and runs the queue.
    action = h.then(h.virtual(Tuple4, "_4", Object).asType(h.type(Option, Tuple4)), option_get)
    queue = h.filter_args(h.virtual(Handler, "queueAction", h.VOID, Action),
                          0, h.virtual(AgentInterface, "actionHandler", Handler), action.asType(h.type(Action, Tuple4)))
    no_options = gateway.jvm.scala.Some(gateway.new_array(gateway.jvm.scienceworld.input.InputMatch, 0))
    wait = h.bind(h.virtual(Parser, "lastAmbiguousMatches_$eq", h.VOID, Option), 1, no_options)
    wait = h.filter_args(wait, 0, parser)
    parsed_type = h.type(String, Tuple4, AgentInterface, String)
    run = h.permute(h.bind(engine_step, 1, "0"), parsed_type, 1)
    run = h.MH.foldArguments(run, h.permute(wait, h.type(h.VOID, Tuple4, AgentInterface, String), 1))
    run = h.MH.foldArguments(run, h.permute(queue, h.type(h.VOID, Tuple4, AgentInterface, String), 1, 0))
    parsed = h.drop(h.virtual(Tuple4, "_1", Object).asType(h.type(h.BOOLEAN, Tuple4)), 1, AgentInterface, String)
    refused = h.then(h.virtual(Tuple4, "_3", Object).asType(h.type(String, Tuple4)), h.bind(concat, 0, "#"))
    after_parse = h.MH.guardWithTest(parsed, run, h.drop(refused, 1, AgentInterface, String))

    # PythonInterface.step's own answers to "help", "objects" and "task" (compared as it compares them).
    special_words = gateway.jvm.java.util.Set.of("help", "objects", "task")
    special = h.then(h.then(h.virtual(String, "trim", String), h.virtual(String, "toLowerCase", String)),
                     h.virtual(cls("java.util.Set"), "contains", h.BOOLEAN, Object).bindTo(special_words)
                     .asType(h.type(h.BOOLEAN, String)))
    special = h.drop(special, 0, AgentInterface)
    server_step = h.then(h.virtual(cls("scienceworld.runtime.pythonapi.PythonInterface"), "step", String, String)
                         .bindTo(server), h.bind(concat, 0, "@"))
    server_step = h.drop(server_step, 0, AgentInterface)
    pending = h.drop(h.then(parser, h.virtual(Parser, "isInAmbiguousState", h.BOOLEAN)), 1, String)
    failed = h.drop(h.virtual(AgentInterface, "isInErrorState", h.BOOLEAN), 1, String)

    parse = h.filter_args(h.virtual(Parser, "parse", Tuple4, String, EnvObject, EnvObject, Agent, ObjMonitor, Goals,
                                    EnvObject), 0, parser)
    functions = []
    for universe in (h.virtual(AgentInterface, "universe", EnvObject), agent.asType(h.type(EnvObject, AgentInterface))):
        # parse(input, room, universe, agent, objMonitor, goalSequence, room), all read from ai at call time
        call = h.filter_args(parse, 2, room, universe, agent, h.virtual(AgentInterface, "objMonitor", ObjMonitor),
                             goals, room)
        call = h.permute(call, h.type(Tuple4, AgentInterface, String), 0, 1, 0, 0, 0, 0, 0, 0)
        fast = h.MH.foldArguments(after_parse, call)
        fast = h.MH.guardWithTest(pending, engine_step, fast)
        fast = h.MH.guardWithTest(failed, engine_step, fast)
        fast = h.MH.guardWithTest(special, server_step, fast)
        functions.append(h.function(fast.asType(h.type(Object, Object, Object))))
    return tuple(functions)


def _oracle_words(agent_interface) -> frozenset[str] | None:
    """The first words of the oracle actions' triggers (the actions whose objects the parser
    collects from the whole universe); None when a trigger starts with an object instead."""
    words = set()
    for definition in agent_interface.actionHandler().getActions():
        if not definition.isOracleAction():
            continue
        triggers = definition.triggers()
        for index in range(triggers.length()):
            head = triggers.apply(index).pattern().head()
            if head.getClass().getSimpleName() != "ActionExprOR":
                return None
            options = head.orElements()
            for option in (options.apply(k) for k in range(options.length())):
                if not option.isascii() or not option.strip(_JAVA_BLANK):
                    return None
                words.add(option.split()[0])
    return frozenset(words)


def _no_delay(gateway) -> None:
    """Switch Nagle's algorithm off on the py4j sockets (both ends) open now."""
    import socket

    for connection in list(gateway._gateway_client.deque):  # py4j has no public switch for this
        connection.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    field = gateway.jvm.java.lang.Class.forName("py4j.GatewayServer").getDeclaredField("connections")
    field.setAccessible(True)
    connections = field.get(gateway.java_gateway_server)
    for index in range(connections.size()):
        connections.get(index).getSocket().setTcpNoDelay(True)


class Engine:
    """A ScienceWorld simulator in a JVM of its own, with a capped heap.

    One engine runs one episode at a time: :meth:`load` starts one, :meth:`step`
    plays it. The engine's state is global to its JVM, so envs never share an
    engine. :meth:`close` ends the JVM; a garbage-collected engine is closed
    too.

    Args:
        heap_mb: The JVM's heap cap in MiB (``-Xmx``).
        java: The java executable; None for ``$JAVA_HOME/bin/java`` or ``java`` on PATH.
        startup_timeout: Seconds to wait for the JVM to start listening.
        call_timeout: Seconds one engine call may take (a step, a load, a listing, a gold
            path); past it the JVM is killed and the call raises :class:`EngineDiedError`.
            None: no deadline. The start has ``startup_timeout``.

    Raises:
        EngineUnavailableError: ``scienceworld`` (or py4j) is not installed, or no java was found.
        EngineDiedError: The JVM did not start; the message ends with its output.
    """

    def __init__(self, heap_mb: int = 512, java: str | None = None, startup_timeout: float = 120.0,
                 call_timeout: float | None = 60.0):
        self.check_heap(heap_mb)
        self.check_call_timeout(call_timeout)
        constants = scienceworld_constants()
        try:
            from py4j.java_gateway import GatewayParameters, JavaGateway, find_jar_path
            from py4j.protocol import Py4JError, Py4JJavaError
        except ImportError as error:  # py4j comes with scienceworld
            raise EngineUnavailableError(f"py4j is not installed ({error}); {_INSTALL}") from error
        self.heap_mb = heap_mb
        self.call_timeout = call_timeout
        self._port = self._token = None  # py4j's port and auth token: never shown in a message (see _tail)
        self._py4j_error, self._java_error = Py4JError, Py4JJavaError
        java, jars = java_executable(java), [find_jar_path(), constants.JAR_PATH]
        archive = _class_archive(java, jars, heap_mb)
        dump = None
        if archive.exists():
            sharing = f"-XX:SharedArchiveFile={archive}"
        else:  # dumped at exit under a name of its own, then renamed: concurrent engines never clash
            archive.parent.mkdir(parents=True, exist_ok=True)
            dump = archive.with_name(f"{archive.stem}.{os.getpid()}.{id(self)}.tmp")
            sharing = f"-XX:ArchiveClassesAtExit={dump}"
        command = [
            java, f"-Xmx{heap_mb}m", "-XX:+ExitOnOutOfMemoryError",
            "-XX:+UnlockExperimentalVMOptions", "-XX:hashCode=2", "--add-opens=java.base/java.util=ALL-UNNAMED",
            "-XX:+UseSerialGC", "-XX:-UsePerfData", "-XX:+DisplayVMOutputToStderr",
            "-XX:+IgnoreUnrecognizedVMOptions", sharing,  # Java 11 and 12 have no dynamic archives
            "-cp", os.pathsep.join(jars), "py4j.GatewayServer", "--die-on-broken-pipe", "--enable-auth", "0",
        ]
        # The JVM's output goes to an unlinked temporary file: nothing to drain, nothing left behind,
        # and its last lines explain a failed start or a death.
        self._log = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=self._log, stderr=subprocess.STDOUT,
                                      cwd=constants.BASEPATH)
        self.pid = self._proc.pid
        self._gateway = None
        self._watchdog = _Watchdog(self._proc)
        self._finalizer = weakref.finalize(self, _shutdown, os.getpid(), None, self._proc, self._log, dump, archive,
                                           self._watchdog)
        self._port, self._token = self._read_port(startup_timeout)
        self._gateway = JavaGateway(gateway_parameters=GatewayParameters(port=self._port, auth_token=self._token))
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _shutdown, os.getpid(), self._gateway, self._proc, self._log, dump,
                                           archive, self._watchdog)
        try:
            self._setup(startup_timeout)
        except Exception as error:
            output = self._tail()
            self.close()
            message = self._redact(f"the ScienceWorld engine did not start: {error}; JVM output: {output}")
            raise EngineDiedError(message) from error

    def _setup(self, seconds: float) -> None:
        """Build what the calls need in the fresh JVM."""
        with self._watchdog.deadline(seconds):
            jvm = self._gateway.jvm
            # Before the engine's first class loads, so Scala's Console captures the null stream too.
            jvm.java.lang.System.setOut(jvm.java.io.PrintStream(jvm.java.io.OutputStream.nullOutputStream()))
            self._server = jvm.scienceworld.runtime.pythonapi.PythonInterface()
            _no_delay(self._gateway)
            self._full_step, self._restricted_step = _step_functions(self._gateway, self._server)
            self._interface = None  # the loaded episode's AgentInterface
            self._oracle_words: dict[str, frozenset[str] | None] = {}  # per simplification string
            self._last = (0.0, False, 0)  # score, completed, moves: what a step that runs nothing reports
            self._join = jvm.java.lang.String.join
            self._to_text = jvm.java.util.Arrays.toString
            classes = jvm.java.lang.Class
            self._random = classes.forName("scala.util.Random$").getField("MODULE$").get(None).self()
            self._random_seed = classes.forName("java.util.Random").getDeclaredField("seed")
            self._random_seed.setAccessible(True)

    @staticmethod
    def check_heap(heap_mb) -> None:
        """Raise ValueError unless ``heap_mb`` is a usable heap cap."""
        if isinstance(heap_mb, bool) or not isinstance(heap_mb, int) or heap_mb < 64:
            raise ValueError(f"heap_mb must be an int of at least 64 (MiB), got {heap_mb!r}")

    @staticmethod
    def check_call_timeout(call_timeout) -> None:
        """Raise ValueError unless ``call_timeout`` is None or a positive number of seconds."""
        if call_timeout is not None and (isinstance(call_timeout, bool) or not isinstance(call_timeout, (int, float))
                                         or not 0 < call_timeout < float("inf")):
            raise ValueError(f"call_timeout must be a positive number of seconds or None (no deadline), "
                             f"got {call_timeout!r}")

    # -- lifecycle -----------------------------------------------------
    @property
    def alive(self) -> bool:
        """Whether the JVM is running and not closed."""
        return self._finalizer.alive and self._proc.poll() is None

    def close(self) -> None:
        """End the JVM and release its handles (idempotent)."""
        self._finalizer()

    def _read_port(self, timeout: float) -> tuple[int, str]:
        """Wait for py4j's port and auth token lines in the JVM's output."""
        deadline = time.monotonic() + timeout
        while True:
            lines = _read_whole(self._log).splitlines()
            numbers = [i for i, line in enumerate(lines) if line.strip().isdigit()]
            if numbers and len(lines) > numbers[0] + 1:
                return int(lines[numbers[0]]), lines[numbers[0] + 1].strip()
            code = self._proc.poll()
            if code is not None or time.monotonic() > deadline:
                # Why and what it printed are taken before close(), which ends the JVM and its log.
                why = f"exited with code {code}" if code is not None else f"did not listen within {timeout:.0f} s"
                output = self._tail()
                self.close()
                raise EngineDiedError(self._redact(
                    f"the ScienceWorld engine's JVM {why}; its output: {output} "
                    "(it needs Java 11 or newer; check `java -version`)"
                ))
            time.sleep(0.02)

    def _tail(self, limit: int = 600) -> str:
        """The JVM's last output (its port and auth token lines left out)."""
        try:
            lines = _read_whole(self._log).splitlines()
        except (OSError, ValueError):  # closed
            return "(not available)"
        if self._token is not None:  # py4j prints its port, then the token
            lines = [line for line in lines if line.strip() not in (self._token, str(self._port))]
        text = self._redact("\n".join(lines).strip())
        return repr(text[-limit:]) if text else "(none)"

    def _redact(self, text: str) -> str:
        """``text`` with py4j's auth token cut out (a secret: it lets anyone on the host drive the JVM)."""
        return text.replace(self._token, "<py4j auth token>") if self._token else text

    def _failed(self, what: str, error: Exception) -> EngineError:
        """The error to raise for a failed call: a Java exception, a call past its deadline
        (the JVM is then killed), or a dead or closed JVM."""
        if isinstance(error, self._java_error) and self._proc.poll() is None:
            return EngineError(self._redact(f"the ScienceWorld engine failed in {what}: {error.java_exception}"))
        if not self._finalizer.alive:
            return EngineDiedError(f"{what} on a closed ScienceWorld engine; create a new one (env.reset() does)")
        late = self._watchdog.fired  # hung or paused (SIGSTOP): killed at the deadline
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=2)
        code = self._proc.returncode
        if late:
            state = (f"did not answer within call_timeout={self.call_timeout:g} s and was killed (hung or "
                     "paused; raise call_timeout if the call needs longer)")
        else:
            state = f"exited with code {code}" if code is not None else "stopped answering"
        tail = self._tail()
        hint = f" The heap cap ({self.heap_mb} MiB) was exhausted: raise heap_mb." if "OutOfMemoryError" in tail else ""
        self.close()
        return EngineDiedError(self._redact(
            f"the ScienceWorld engine's JVM (pid {self.pid}) {state} during {what}.{hint} "
            f"Its last output: {tail}. Call reset() to start a fresh engine."
        ))

    def _call(self, what: str, method, *args):
        for arg in args:  # py4j sends text as UTF-8: a lone surrogate would break the connection
            if isinstance(arg, str) and not _encodable(arg):
                raise EngineError(f"{what}: the text holds characters UTF-8 cannot encode (lone surrogates); "
                                  "nothing was sent to the engine")
        try:
            with self._watchdog.deadline(self.call_timeout):
                return method(*args)
        except self._py4j_error as error:  # the base of every py4j failure
            raise self._failed(what, error) from error

    # -- the simulator -------------------------------------------------
    def variations(self, task: str) -> dict[str, list[int]]:
        """ScienceWorld's own train / dev / test variation indices of ``task`` (its 50/25/25 rule)."""
        def fetch():
            getattr(self._server, "taskStr_$eq")(task)  # the split rule reads the task name only: no load needed
            return {split: json.loads(self._to_text(getattr(self._server, f"getVariations{split.title()}")().toArray()))
                    for split in ("train", "dev", "test")}

        return self._call(f"the variations of {task!r}", fetch)

    def load(self, task: str, variation: int, simplifications: str) -> None:
        """Start ``task``'s ``variation`` afresh with ``simplifications`` (comma-separated, or ``"easy"``)."""
        error = self._call(f"load({task!r}, {variation})", self._server.load, task, variation, simplifications, False)
        if error:
            raise EngineError(f"the engine could not load {task!r} variation {variation}: {error}")
        self._call(f"load({task!r}, {variation})", self._loaded)

    def _loaded(self) -> None:
        """Read what steps need from a freshly loaded episode."""
        interface = self._server.agentInterface().get()
        key = interface.simplificationStr()
        if key not in self._oracle_words:  # the action set depends on the simplifications only
            self._oracle_words[key] = _oracle_words(interface)
        goals = interface.task().goalSequence()
        self._interface, self._oracle = interface, self._oracle_words[key]
        self._last = (goals.score(), goals.isCompleted(), interface.getCurIterations())

    def gold_path(self, task: str, variation: int, simplifications: str) -> list[str]:
        """The engine's gold action sequence for a variation. It loads the variation (generating the
        path plays it through, which can take seconds), so the engine is left at its start."""
        what = f"generating the gold path of {task!r} variation {variation}"
        error = self._call(what, self._server.load, task, variation, simplifications, True)
        if error:
            raise EngineError(f"the engine could not load {task!r} variation {variation}: {error}")
        self._call(what, self._loaded)
        text = self._call(what, lambda: self._join("\n", self._server.getGoldActionSequence()))
        return text.split("\n") if text else []

    def task_description(self) -> str:
        """The loaded task's description."""
        return self._call("getTaskDescription", self._server.getTaskDescription)

    def look(self) -> str:
        """The current room described, as ``look around`` would, without a move (the engine's free look)."""
        return self._call("freeActionLook", self._server.freeActionLook)

    def step(self, action: str) -> StepResult:
        """One engine step with ``action`` (any text; the engine parses it): one py4j round trip
        (see the module's docstring for what it runs)."""
        what = f"step({action[:80]!r})"
        if self._interface is None:
            raise EngineError(f"{what} before any load(): load a task first")
        # The parser reads the universe only for oracle actions, whose words must then be in the input.
        words = self._oracle
        lowered = action.lower()
        if words is None or not action.isascii() or any(word in lowered for word in words):
            function = self._full_step
        else:
            function = self._restricted_step
        text = self._call(what, function.apply, self._interface, action)
        if text[:1] != "(":  # "#" parser's answer, "@" special input: nothing ran
            return StepResult(text[1:], *self._last)
        head, _, moves = text.rpartition(")")
        observation, score, completed = head[1:].rsplit(",", 2)
        self._last = (float(score), completed == "true", int(moves))
        return StepResult(observation or EMPTY_STEP, *self._last)

    def valid_actions(self) -> list[str]:
        """The engine's valid action-object combinations for the current state, sorted (the
        choices ``"0"``, ``"1"``, ... while it waits for an ambiguity to be resolved).
        The engine's random generator is restored afterwards, so listing changes nothing."""
        def fetch():
            seed = self._random_seed.get(self._random)
            try:
                return self._join("\n", self._server.getValidActionObjectCombinations())
            finally:
                self._random.setSeed(seed ^ _JAVA_RANDOM_MULTIPLIER)

        text = self._call("getValidActionObjectCombinations", fetch)
        return text.split("\n") if text else []

    def parses(self, action: str) -> bool:
        """Whether the engine's parser reads ``action`` as exactly one action here, without
        running it (used by the off-path expert)."""
        def parse(text):
            agent_interface = self._server.agentInterface().get()
            agent = agent_interface.agent()
            room = agent.getContainer().get()
            parser = agent_interface.inputParser()
            pending = parser.lastAmbiguousMatches()
            result = parser.parse(text, room, agent_interface.universe(), agent, agent_interface.objMonitor(),
                                  agent_interface.task().goalSequence(), room)
            # An ambiguous parse leaves its own question pending: put back what was pending before.
            getattr(parser, "lastAmbiguousMatches_$eq")(pending)
            return bool(result._1())

        return self._call(f"parsing {action[:80]!r}", parse, action)

    def room(self) -> str:
        """The name of the location the agent is in (e.g. ``"kitchen"``)."""
        return self._call("the agent's location",
                          lambda: self._server.agentInterface().get().agent().getContainer().get().name())
