"""The one place user code is called: handlers, conditions, middleware, ``match`` branches, hooks.

A function's own kind decides how it runs, never the thread it happens to be on:

* from sync code, a sync function is called directly on this thread (the WSGI
  request thread, the Celery task thread), and an async function runs on this
  thread's long-lived event loop (:func:`run_coroutine`);
* from async code, an async function is awaited, and a sync function runs in a
  thread the way Django runs sync views (``sync_to_async(thread_sensitive=True)``):
  the request's own thread under ASGI, the loop's helper thread elsewhere.

Framework calls that a handler may make in either kind (``ctx.state``, streams,
``enqueue``) are declared with :func:`sync_or_async`: a plain call returns the
value in sync code, and in async code it returns a :class:`Pending` to await.
A ``Pending`` that the handler forgot to await fails the execution with
:class:`NotAwaited`, instead of silently doing nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import inspect
import logging
import signal
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from asgiref.sync import AsyncToSync, ThreadSensitiveContext, async_to_sync, iscoroutinefunction, sync_to_async
from django.db import close_old_connections, connections

from .integrations import announced, announced_async
from .tracing.otel import execution_span

if TYPE_CHECKING:
    from .context import FlowContext
    from .steps.definition import StepDefinition

__all__ = [
    "HandlerTimeout",
    "NotAwaited",
    "Pending",
    "acall",
    "acall_isolated",
    "acondition_passes",
    "arun_handler",
    "branch_arguments",
    "call",
    "choose_branch",
    "condition_passes",
    "current_context",
    "handler_arguments",
    "in_async_code",
    "in_thread",
    "interrupt_after",
    "is_async",
    "positional_arity",
    "run_coroutine",
    "run_handler",
    "sync_bridge",
    "sync_or_async",
]

T = TypeVar("T")
P = ParamSpec("P")

logger = logging.getLogger("motia.execution")

_current: ContextVar[FlowContext[Any] | None] = ContextVar("motia_current_context", default=None)


class HandlerTimeout(TimeoutError):
    """The handler ran longer than ``infrastructure.handler.timeout``."""


class NotAwaited(RuntimeError):
    """Async code called a framework function and dropped the awaitable, so the call did nothing."""


def current_context() -> FlowContext[Any] | None:
    """The FlowContext of the execution running in this task or thread, if any."""
    return _current.get()


def in_async_code() -> bool:
    """True on a thread whose event loop is running: the caller is a coroutine (or code it runs inline)."""
    return asyncio._get_running_loop() is not None


def _remembered(compute: Callable[[Callable[..., Any]], T]) -> Callable[[Callable[..., Any]], T]:
    """Remember ``compute(fn)`` while ``fn`` lives: a function per request (a closure) is not kept alive."""
    known: weakref.WeakKeyDictionary[Any, T] = weakref.WeakKeyDictionary()

    @functools.wraps(compute)
    def lookup(fn: Callable[..., Any]) -> T:
        try:
            return known[fn]
        except KeyError:
            value = known[fn] = compute(fn)
            return value
        except TypeError:  # not weakly referenceable or unhashable: work it out each time
            return compute(fn)

    return lookup


@_remembered
def is_async(fn: Callable[..., Any]) -> bool:
    """Whether calling ``fn`` gives a coroutine: ``async def`` functions, methods, partials and callables."""
    if iscoroutinefunction(fn):
        return True
    call_method = getattr(type(fn), "__call__", None)  # noqa: B004 - instances with an async __call__
    return not inspect.isroutine(fn) and call_method is not None and iscoroutinefunction(call_method)


@_remembered
def positional_arity(fn: Callable[..., Any]) -> int:
    """How many positional arguments ``fn`` takes (a large number for ``*args``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 99
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 99
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


# -- calling user code -------------------------------------------------------------------------


def call(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn(*args)`` from sync code and return its result.

    A sync function runs right here; an async one (or a sync one returning an
    awaitable) runs on this thread's loop.
    """
    result = fn(*args)
    if hasattr(type(result), "__await__"):  # an async function, or a sync one that returned an awaitable
        return run_coroutine(_await(result))
    return result


async def acall(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn(*args)`` from async code: awaited if async, in Django's sync thread if not."""
    if is_async(fn):
        return await fn(*args)
    result = await sync_to_async(fn, thread_sensitive=True)(*args)
    if hasattr(type(result), "__await__"):
        result = await result
    return result


async def acall_isolated(fn: Callable[..., Any], *args: Any) -> Any:
    """Like :func:`acall`, but a sync ``fn`` gets a thread of this call's own and closes its connections.

    For hooks called outside any request (WebSocket connects and joins), so
    a slow one holds up no other and leaves no connection behind.
    """
    if is_async(fn):
        return await acall(fn, *args)

    def closing(*inner: Any) -> Any:
        try:
            return fn(*inner)
        finally:
            connections.close_all()

    async with ThreadSensitiveContext():
        return await acall(closing, *args)


def sync_bridge(fn: Callable[..., Awaitable[T]]) -> Callable[..., T]:
    """A sync callable running the async ``fn`` on the loop that called into this thread.

    Used where sync user code (a middleware run from an async chain) is handed a
    callback that continues in async code.
    """
    return async_to_sync(fn)


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def condition_passes(condition: Callable[..., Any] | None, input_value: Any, ctx: FlowContext[Any]) -> bool:
    """Evaluate a trigger ``condition(input, ctx)`` from sync code."""
    return True if condition is None else bool(call(condition, input_value, ctx))


async def acondition_passes(condition: Callable[..., Any] | None, input_value: Any, ctx: FlowContext[Any]) -> bool:
    """Evaluate a trigger ``condition(input, ctx)`` from async code."""
    return True if condition is None else bool(await acall(condition, input_value, ctx))


def handler_arguments(handler: Callable[..., Any], input_value: Any, ctx: FlowContext[Any]) -> tuple[Any, ...]:
    """What a handler takes, by its signature: ``(input, ctx)``, ``(input)`` or nothing at all.

    Step files written for the module-level API take one argument (or none, for
    cron) and reach the context through ``motia.enqueue``/``logger``/``stateManager``.
    """
    return (input_value, ctx)[:positional_arity(handler)]


def choose_branch(branches: Mapping[str, Callable[..., Any]], kind: str) -> tuple[str, Callable[..., Any]] | None:
    """The ``ctx.match``/``multi_trigger_step`` branch for a trigger kind (``http`` or ``api``, ``queue``
    or ``event``, ...), else ``default``, else ``None``; with the name it was found under."""
    names = ("http", "api") if kind == "http" else ("queue", "event") if kind == "queue" else (kind,)
    return next(((name, branches[name]) for name in (*names, "default") if branches.get(name)), None)


def branch_arguments(name: str, branch: Callable[..., Any], input_value: Any, ctx: FlowContext[Any]) -> tuple[Any, ...]:
    """What a branch takes, by its signature: ``(input, ctx)`` (``(ctx)`` for the ``cron`` branch), cut to its length.

    Motia 1.0 files write branches as ``http(request, ctx)`` and ``cron(ctx)``;
    Motia 1.0.3 files as ``http(request)`` and ``cron()``.
    """
    arguments = (ctx,) if name == "cron" else (input_value, ctx)
    return arguments[:positional_arity(branch)]


def run_handler(step: StepDefinition, input_value: Any, ctx: FlowContext[Any]) -> Any:
    """Call ``step.handler`` from sync code, with ``ctx`` as the current context."""
    token = _current.set(ctx)
    try:
        with execution_span(ctx), announced(ctx, input_value):
            return call(step.handler, *handler_arguments(step.handler, input_value, ctx))
    finally:
        _current.reset(token)


async def arun_handler(step: StepDefinition, input_value: Any, ctx: FlowContext[Any]) -> Any:
    """Call ``step.handler`` from async code; fails if the handler dropped an awaitable."""
    token = _current.set(ctx)
    try:
        with execution_span(ctx):
            async with announced_async(ctx, input_value):
                result = await acall(step.handler, *handler_arguments(step.handler, input_value, ctx))
    finally:
        _current.reset(token)
    ctx.raise_for_unawaited()
    return result


# -- calls that follow the caller's kind ----------------------------------------------------------


class Pending(Generic[T]):
    """A framework call made from async code: ``await`` it to run it.

    Created where a plain call would have returned the value in sync code; the
    running execution keeps a list, so one never awaited is reported, not lost.
    """

    __slots__ = ("__weakref__", "_factory", "awaited", "label")

    def __init__(self, label: str, factory: Callable[[], Coroutine[Any, Any, T]]) -> None:
        self.label = label
        self._factory = factory
        self.awaited = False
        ctx = _current.get()
        if ctx is not None:
            ctx.track(self)

    def __await__(self) -> Generator[Any, None, T]:
        self.awaited = True
        return self._factory().__await__()

    def __del__(self) -> None:
        if not self.awaited and _current.get() is None:
            logger.error("%s(...) was called from async code but never awaited, so it did nothing", self.label)

    def __repr__(self) -> str:
        return f"<Pending {self.label}(...): await it>"


def sync_or_async(label: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Make a sync framework function callable from both kinds of code.

    In sync code it runs and returns its value; in async code it returns a
    :class:`Pending` that runs it in Django's sync thread when awaited.  It is
    typed as the sync call: typed async code uses the twin from :func:`in_thread`
    (``aget`` beside ``get``, as Django's ORM does).
    """

    def decorate(fn: Callable[P, T]) -> Callable[P, T]:
        run_in_thread = sync_to_async(fn, thread_sensitive=True)

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            if asyncio._get_running_loop() is None:
                return fn(*args, **kwargs)
            return Pending(label, lambda: run_in_thread(*args, **kwargs))

        return wrapper

    return decorate


def in_thread(fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """The async twin of a sync framework function: runs it in Django's sync thread."""
    run_in_thread = sync_to_async(fn, thread_sensitive=True)

    @functools.wraps(fn)
    async def twin(*args: P.args, **kwargs: P.kwargs) -> T:
        return await run_in_thread(*args, **kwargs)

    return twin


# -- the long-lived loop of a sync thread ---------------------------------------------------------


class _ThreadLoop:
    """The event loop a sync thread (WSGI request thread, Celery task thread) runs async handlers on.

    Sync code awaited from that loop (``sync_to_async(thread_sensitive=True)``,
    as Django and the framework's own calls use it) goes to one helper thread of
    this loop's own, not asgiref's process-wide one, so handlers on different
    threads never wait on each other; a helper left stuck by a timed-out handler
    is replaced.  The helper is registered the way asgiref registers the loops
    ``async_to_sync`` starts, so a run costs no context of its own.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.helper = self._new_helper()

    def _new_helper(self) -> ThreadPoolExecutor:
        helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="motia-sync")
        AsyncToSync.loop_thread_executors[self.loop] = helper  # type: ignore[assignment]
        return helper

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        try:
            return self.loop.run_until_complete(coroutine)
        finally:
            # what Django does at the end of a request, for the helper's own connections: honour
            # CONN_MAX_AGE and drop a connection the database broke (queued behind the run's calls)
            self.helper.submit(close_old_connections)

    def replace_helper(self) -> None:
        """Give up on a helper thread that may be stuck in user code; the next call gets a fresh one."""
        stuck, self.helper = self.helper, self._new_helper()
        for thread in getattr(stuck, "_threads", ()):
            _raise_in_thread(thread, HandlerTimeout)
        stuck.shutdown(wait=False, cancel_futures=True)


_threads = threading.local()


def _thread_loop() -> _ThreadLoop:
    found: _ThreadLoop | None = getattr(_threads, "loop", None)
    if found is None or found.loop.is_closed():
        found = _threads.loop = _ThreadLoop()
    return found


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, on this thread's long-lived loop."""
    if asyncio._get_running_loop() is not None:
        coroutine.close()
        raise RuntimeError(
            "async code was called from sync code running on an event loop; await it from async code, "
            "or call it from a sync handler"
        )
    return _thread_loop().run(coroutine)


def replace_stuck_helper() -> None:
    """After an async handler timed out: its sync calls may still hold this thread's helper."""
    found: _ThreadLoop | None = getattr(_threads, "loop", None)
    if found is not None:
        found.replace_helper()


# -- timeouts that stop sync code -----------------------------------------------------------------


def _raise_in_thread(thread: threading.Thread, exc_type: type[BaseException]) -> None:
    """Raise ``exc_type`` in ``thread`` at its next Python instruction (blocking C calls finish first)."""
    if thread.ident is not None and thread.is_alive():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type))


@contextmanager
def interrupt_after(seconds: float | None, message: str) -> Iterator[None]:
    """Raise :class:`HandlerTimeout` in this thread if the block runs longer than ``seconds``.

    On a process's main thread (a Celery prefork child, the solo pool) a
    ``SIGALRM`` timer interrupts even blocking calls such as ``time.sleep``;
    elsewhere (the threads pool) the exception is raised in the thread at its
    next Python instruction.  Either way only this execution is stopped, and the
    worker goes on serving.
    """
    if not seconds or seconds <= 0:
        yield
        return
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        def on_alarm(signum: int, frame: Any) -> None:
            raise HandlerTimeout(message)

        previous = signal.signal(signal.SIGALRM, on_alarm)
        outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
        started = time.monotonic()
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if outer:  # an enclosing timer (a test runner's, say) keeps running
                signal.setitimer(signal.ITIMER_REAL, max(0.001, outer - (time.monotonic() - started)))
        return
    thread = threading.current_thread()
    lock = threading.Lock()
    done = False

    def expire() -> None:
        with lock:
            if not done:
                _raise_in_thread(thread, HandlerTimeout)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    except HandlerTimeout as exc:
        if exc.args:
            raise
        raise HandlerTimeout(message) from None
    finally:
        with lock:
            done = True
        timer.cancel()
