"""The Python end of the Node worker: one ``node worker.mjs`` per Python process, started on first use.

Requests go out as newline-delimited JSON on the worker's stdin and their answers come back on its
stdout, read by one thread that hands each message to the call it belongs to.  A call waits on its
own thread: the context requests its handler makes (``ctx.state.get``, ``ctx.enqueue``, ...) are served
there, so they see the execution's database connection, transaction and trace.  A worker that dies
fails the calls in flight with :class:`NodeWorkerDied` (a message then follows its retry policy) and the
next call starts a fresh one; a forked child (a Celery pool process) starts its own.
"""

from __future__ import annotations

import atexit
import dataclasses
import itertools
import json
import logging
import os
import queue
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pydantic

__all__ = ["PACKAGE_DIR", "JavaScriptError", "NodeBridge", "NodeUnavailable", "NodeWorkerDied", "get_bridge"]

PACKAGE_DIR = Path(__file__).resolve().parent
WORKER_SCRIPT = PACKAGE_DIR / "worker.mjs"
#: What a worker must have installed before it can load a step file.
REQUIRED_MODULES = ("esbuild", "zod")
START_TIMEOUT = 30.0
#: How often a waiting call wakes, so a handler timeout raised in its thread is seen promptly.
POLL_SECONDS = 0.25

logger = logging.getLogger("motia.node")

Serve = Callable[[dict[str, Any]], Any]


class NodeUnavailable(RuntimeError):
    """Node.js or this package's Node dependencies are missing: TypeScript and JavaScript steps cannot run."""


class NodeWorkerDied(RuntimeError):
    """The Node worker exited while a call was in flight."""


class JavaScriptError(Exception):
    """A JavaScript exception, raised by a handler or while loading a step file; the text carries the JS stack."""

    def __init__(self, error: dict[str, Any]) -> None:
        self.name = str(error.get("name") or "Error")
        self.js_message = str(error.get("message") or "")
        self.js_stack = str(error.get("stack") or "")
        self.file: str | None = error.get("file")
        self.line: int | None = error.get("line")
        headline = f"{self.name}: {self.js_message}"
        stack = self.js_stack.removeprefix(headline).strip("\n")
        super().__init__(f"{headline}\n{stack}" if stack else headline)


def _jsonable(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} cannot be sent to a JavaScript step")


def _encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, default=_jsonable, separators=(",", ":")).encode() + b"\n"


def _check_installed(node: str) -> str:
    found = shutil.which(node)
    if found is None:
        raise NodeUnavailable(
            f"Node.js ({node!r}) was not found on PATH: TypeScript and JavaScript steps need Node 18 or later; "
            "install it or point MOTIA['NODE_BINARY'] at it (Python steps are not affected)"
        )
    missing = [m for m in REQUIRED_MODULES if not (PACKAGE_DIR / "node_modules" / m).is_dir()]
    if missing:
        raise NodeUnavailable(
            f"the Node dependencies of motia_django ({', '.join(missing)}) are not installed: run "
            f"'npm ci' in {PACKAGE_DIR} (or ./scripts/bootstrap) to run TypeScript and JavaScript steps"
        )
    return found


class NodeBridge:
    """One running Node worker and the calls waiting on it."""

    def __init__(self, node: str) -> None:
        self._proc = subprocess.Popen(
            [_check_installed(node), "--enable-source-maps", str(WORKER_SCRIPT)], cwd=PACKAGE_DIR,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"},
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None and self._proc.stderr is not None
        self._stdin: IO[bytes] = self._proc.stdin
        self._write_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._calls: dict[int, queue.SimpleQueue[dict[str, Any]]] = {}
        self._ended: str | None = None
        self._stderr: deque[str] = deque(maxlen=20)
        self._ready = threading.Event()
        threading.Thread(target=self._read_stderr, args=(self._proc.stderr,), name="motia-node-stderr",
                         daemon=True).start()
        threading.Thread(target=self._read, args=(self._proc.stdout,), name="motia-node-reader", daemon=True).start()
        if not self._ready.wait(START_TIMEOUT) or self._ended is not None:
            self.close()
            raise NodeUnavailable(f"the Node worker did not start ({self._ended or 'no answer'}):\n{self.stderr_tail}")

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._ended is None and self._proc.poll() is None

    @property
    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    def request(self, op: str, payload: dict[str, Any], serve: Serve | None = None) -> Any:
        """Send ``{op, **payload}`` and wait for its answer, serving the worker's requests for it meanwhile.

        ``serve`` answers a context request (``{"op", ...}``) or takes a note (a log line); what it raises
        goes back to the JavaScript caller as an exception.  Raises :class:`JavaScriptError` for a JS
        failure and :class:`NodeWorkerDied` when the worker exits first.
        """
        call_id = next(self._ids)
        inbox: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._calls[call_id] = inbox
        try:
            self._send({"id": call_id, "op": op, **payload})
            while True:
                try:
                    message = inbox.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    continue
                if "done" in message:
                    if message.get("ok"):
                        return message.get("result")
                    raise JavaScriptError(message.get("error") or {})
                if "died" in message:
                    raise NodeWorkerDied(message["died"])
                self._serve(message, serve)
        finally:
            self._calls.pop(call_id, None)

    def _serve(self, message: dict[str, Any], serve: Serve | None) -> None:
        ask = message.get("ask")
        try:
            if serve is None:
                raise RuntimeError("this call takes no context requests")
            result = serve(message)
        except Exception as exc:
            if ask is None:
                logger.exception("a note from the Node worker failed")
            else:
                self._send({"answer": ask, "ok": False, "error": {"name": type(exc).__name__, "message": str(exc)}})
            return
        if ask is not None:
            try:
                self._send({"answer": ask, "ok": True, "result": result})
            except TypeError as exc:
                self._send({"answer": ask, "ok": False, "error": {"name": "TypeError", "message": str(exc)}})

    def _send(self, message: dict[str, Any]) -> None:
        data = _encode(message)
        with self._write_lock:
            if not self.alive:
                raise NodeWorkerDied(f"the Node worker (pid {self.pid}) has exited ({self._ended or 'killed'})")
            try:
                self._stdin.write(data)
                self._stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                raise NodeWorkerDied(f"the Node worker (pid {self.pid}) stopped reading: {exc}") from exc

    def _read(self, stdout: IO[bytes]) -> None:
        for line in stdout:
            try:
                message = json.loads(line)
            except ValueError:
                logger.warning("unreadable line from the Node worker: %r", line[:200])
                continue
            if message.get("ready"):
                self._ready.set()
                continue
            call_id = message.get("done", message.get("call"))
            inbox = self._calls.get(call_id) if isinstance(call_id, int) else None
            if inbox is not None:
                inbox.put(message)
            elif "ask" in message:  # its call gave up (a timeout): the handler still running learns it
                self._send_quietly({"answer": message["ask"], "ok": False,
                                    "error": {"name": "Error", "message": "the execution has already ended"}})
        code = self._proc.wait()
        self._ended = f"exit code {code}"
        self._ready.set()
        for inbox in list(self._calls.values()):
            inbox.put({"died": f"the Node worker (pid {self.pid}) exited with code {code} during the call"
                               + (f":\n{self.stderr_tail}" if self._stderr else "")})

    def _send_quietly(self, message: dict[str, Any]) -> None:
        try:
            self._send(message)
        except NodeWorkerDied:
            pass

    def _read_stderr(self, stderr: IO[bytes]) -> None:
        """What steps print (``console.log`` goes to stderr) reaches Python's log."""
        for raw in stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            self._stderr.append(line)
            logger.info("%s", line)

    def close(self) -> None:
        """End the worker: it exits when its stdin closes."""
        try:
            self._stdin.close()
        except OSError:
            pass
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


_bridge: NodeBridge | None = None
_lock = threading.Lock()
#: Workers of the parent process, seen by a forked child: kept referenced so the child never closes their pipes.
_inherited: list[NodeBridge] = []


def get_bridge() -> NodeBridge:
    """This process's Node worker, started (again) when there is none running; raises :class:`NodeUnavailable`."""
    global _bridge
    found = _bridge
    if found is not None and found.alive:
        return found
    with _lock:
        if _bridge is None or not _bridge.alive:
            from ..conf import motia_settings

            if _bridge is not None:
                logger.warning("the Node worker (pid %s) has exited: starting a new one", _bridge.pid)
            _bridge = NodeBridge(motia_settings().NODE_BINARY)
            atexit.register(_bridge.close)
        return _bridge


def _forget_after_fork() -> None:
    global _bridge, _lock
    if _bridge is not None:
        _inherited.append(_bridge)
    _bridge, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
