"""Requests served on the event loop: the site's hottest writes, without a request thread.

Every view is synchronous and runs on a request thread (edu/handlers.py). For most requests that costs
little, but a request that talks to the database hands the interpreter lock to another thread at every
statement and waits to get it back: under load a saved answer cost the server 23 context switches on
SQLite and about 40 on PostgreSQL against 7 for a bare page, and half of its CPU went to those handoffs
(bench/quiz_answers.py). A view that opts in here is served on the event loop instead, in two passes of the
site's own middleware chain and view (handlers.SynchronousASGIHandler._serve_on_loop):

1. The first pass runs the chain and the view on the loop up to the view's database work, which the view
   hands over through `call(here, on_loop=...)` instead of doing it: the chain stops there, and the work
   comes up to the handler (raised as `Deferred`, which the chain lets through). Everything before it (the
   host check, the HTTPS redirect, the language, the view's own checks of the request) is Django's own
   code, run as for any request.
2. The work runs on the loop (edu/loopdb.py: awaited on PostgreSQL, a few microseconds on SQLite).
3. The second pass runs the chain and the view again, and `call` gives the view the work's outcome (its
   value, or one of the exceptions the view named) instead of doing the work: the view answers exactly as
   it would have, and the response goes back up through every middleware.

Whatever the first pass does not settle goes the normal way, on a request thread, with the request's body
read again: a view not marked `serves_on_loop`, a view that calls `to_thread` (the session's way), a
response from the chain before the view (a bad host, a redirect), work that returns FALLBACK (what it
cannot decide without the ORM), and work that fails. Work must return FALLBACK only before it has written
anything, so that serving the request again on a thread is safe. Neither pass may touch Django's database
connections: on the loop they raise SynchronousOnlyOperation, and a pass that failed so is served on a
thread.

`request_started` is not sent for a request served on the loop (its receivers reset this thread's query log
and close its connections, which the loop has none of); `request_finished` is sent when the response is
closed, as for every request.
"""

import contextlib
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.db import close_old_connections

# The outcome of work that leaves the request to a thread: it has written nothing.
FALLBACK = object()


@dataclass(frozen=True)
class _Pass:
    first: bool
    memo: dict  # shared by a request's two passes (remember)
    value: object = None
    error: BaseException | None = None


_current: contextvars.ContextVar[_Pass | None] = contextvars.ContextVar("edu_loop_pass", default=None)
_lanes: list[Callable[[dict], bool]] = []


def add_lane(accepts: Callable[[dict], bool]) -> None:
    """Let requests whose ASGI scope `accepts` try the loop first (cheap: it is asked of every request)."""
    _lanes.append(accepts)


def wants_loop(scope: dict) -> bool:
    return any(accepts(scope) for accepts in _lanes)


def on_loop() -> bool:
    """Whether the view runs in one of the loop's passes (and must not touch the database)."""
    return _current.get() is not None


@dataclass(frozen=True)
class Work:
    """What a view's first pass hands over: `run()` to await on the loop; the exceptions of `passes` that it
    raises go to the view's second pass."""

    run: Callable[[], Awaitable[object]]
    passes: tuple[type[BaseException], ...]


class Deferred(BaseException):  # noqa: N818 - control flow, not an error
    """Raised by the view in the first pass, with its Work, or None for "serve this on a thread".

    A BaseException, not an Exception: Django turns every Exception a view raises into an error response on
    its way up the chain (convert_exception_to_response), and lets anything else through. So the first pass
    ends at the view, and the chain's response side runs once, in the second pass. Middleware sees it as
    any exception passing through (allauth's context manager exits; nothing is caught)."""

    def __init__(self, work: Work | None) -> None:
        super().__init__()
        self.work = work


def call(here: Callable[[], object], *, on_loop: Callable[[], Awaitable[object]] | None, passes=()):
    """In a view: `here()` on a request thread. On the loop, the first pass stops the view and hands
    `on_loop()` to the handler (None: the request is served on a thread); the second returns its value,
    or raises the exception (one of `passes`) that it raised."""
    current = _current.get()
    if current is None:
        return here()
    if current.first:
        raise Deferred(None if on_loop is None else Work(run=on_loop, passes=tuple(passes)))
    if current.error is not None:
        raise current.error
    return current.value


def to_thread() -> None:
    """In a view on the loop: serve this request on a thread instead (raises Deferred(None))."""
    if _current.get() is not None:
        raise Deferred(None)


def serves_on_loop(view):
    """Mark a view that calls `call` (and `to_thread` wherever it would touch the database otherwise) as one
    the handler may serve on the loop; the mark is kept by functools.wraps in the decorators around it."""
    view.serves_on_loop = True
    return view


def remember(key, compute: Callable[[], object]):
    """compute(), once for both passes of a request on the loop (their request is the same): the second pass
    gets what the first computed (the answer token's check, the URL's resolution)."""
    current = _current.get()
    if current is None:
        return compute()
    try:
        return current.memo[key]
    except KeyError:
        value = current.memo[key] = compute()
        return value


@contextlib.contextmanager
def first_pass(memo: dict):
    token = _current.set(_Pass(first=True, memo=memo))
    try:
        yield
    finally:
        _current.reset(token)


@contextlib.contextmanager
def second_pass(memo: dict, *, value=None, error: BaseException | None = None):
    token = _current.set(_Pass(first=False, memo=memo, value=value, error=error))
    try:
        yield
    finally:
        _current.reset(token)


async def send_on_loop(signal, sender, **named) -> None:
    """Send `signal` from work on the loop: on the loop itself when each of its receivers says it would touch
    no database for this event (its `runs_on_loop(**named)` is true), else on a thread of asgiref's
    executor, whose connections are given back afterwards. Receivers' exceptions propagate, as with send."""
    try:
        sync_receivers, async_receivers = signal._live_receivers(sender)  # Django's own filtering
    except (AttributeError, TypeError, ValueError):  # a Django whose private helper changed
        sync_receivers, async_receivers = None, None
    if (
        sync_receivers is not None
        and not async_receivers
        and all(
            getattr(r, "runs_on_loop", None) is not None and r.runs_on_loop(**named) for r in sync_receivers
        )
    ):
        signal.send(sender, **named)
        return
    # Not the request's own thread: a client that left may have ended the request's context already.
    await sync_to_async(_send_on_thread, thread_sensitive=False)(signal, sender, named)


def _send_on_thread(signal, sender, named: dict) -> None:
    try:
        signal.send(sender, **named)
    finally:
        # As at the end of a request: the connections the receivers took go back (the pool's, SQLite's idle
        # list); no request_finished comes for this thread.
        close_old_connections()
