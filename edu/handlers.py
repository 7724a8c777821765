"""The ASGI handler of the site's HTTP requests: one thread hop per request, on threads that are kept."""

import functools
import inspect
import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler

# Idle request threads kept per process; a request finding none idle gets a new one, and threads beyond this
# many are stopped when their request ends.
MAX_IDLE_THREADS = 64

_handlers: "weakref.WeakSet[SynchronousASGIHandler]" = weakref.WeakSet()


def _forget_idle_threads_in_child() -> None:
    # A forked child (the browser tests' server) has none of its parent's threads: an executor kept by the
    # parent would take the child's requests and never run them.
    for handler in list(_handlers):
        handler._idle = []
        handler._idle_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_idle_threads_in_child)


class SynchronousASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware and view chain built synchronously and entered once, on a
    thread that serves one request after another.

    Every view and middleware of the site is synchronous. Django's own ASGI handler builds the chain for
    asynchronous use: its core (URL resolution, the middleware's process_view hooks, the view) is a
    coroutine, so a request crossed between the event loop and the request's thread several times: into
    the thread for the synchronous middleware, back to the loop for that core, into the thread for each
    process_view hook (the CSRF check) and again for the view. Here the chain is the one Django builds for
    WSGI, run in the request's thread in a single crossing. The request_started and request_finished
    signals and the response's sending stay as Django does them. WebSockets do not come through here.

    Django gives each request a ThreadSensitiveContext, whose executor starts a new thread for the request
    and stops it afterwards; Django's database connections live per thread, so every request also built a
    new connection wrapper and took a connection from the pool (PostgreSQL) or the backend's idle list
    (edu/sqlite/base.py) afresh. Here each request's context runs on a single-thread executor taken from the
    process's idle ones and given back when the request ends, as a threaded WSGI server keeps its threads:
    a request still has its own thread while it runs, and all its synchronous work (the request_started
    signal that closes stale connections, the chain, the response's close and request_finished) runs on it,
    one request at a time.

    Measured in one process without daphne (the ASGI application called directly, one request at a time):
    about 2.0 -> 1.5 ms of CPU for a bare GET and 2.9 -> 2.1 ms for a saved answer from the single
    crossing, and about 0.9 -> 0.6 ms for the bare GET from keeping the threads; bench/quiz_answers.py on
    daphne, 32 clients, SQLite: the bare GET 2.11 -> 1.66 ms and a saved answer 4.04 -> 3.47 ms per request.
    """

    def __init__(self):
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []
        self._idle_lock = threading.Lock()
        _handlers.add(self)

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self._take_executor()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        except BaseException:
            # Cancelled (daphne gives up on a request some seconds after its client left) or failed: the view
            # may still be running on the thread, and a request given this executor would wait behind it.
            # The thread ends once its work is done.
            executor.shutdown(wait=False)
            raise
        self._give_back(executor)

    def _take_executor(self) -> ThreadPoolExecutor:
        with self._idle_lock:
            if self._idle:
                return self._idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")

    def _give_back(self, executor: ThreadPoolExecutor) -> None:
        with self._idle_lock:
            if len(self._idle) < MAX_IDLE_THREADS:
                self._idle.append(executor)
                return
        executor.shutdown(wait=False)


def skip_twisted_form_parsing() -> bool:
    """Tell daphne's HTTP requests not to parse POST bodies into Twisted's `request.args`.

    Twisted parses every POST body with a form content type into `request.args` before daphne sees the
    request: the Content-Type header through the email package (about a tenth of the server's CPU for a
    saved answer, bench/quiz_answers.py), a URL-encoded body with parse_qs, and a multipart upload as a
    whole email message in memory. daphne never reads `request.args`; it hands the raw body to Django,
    which parses it itself (and refuses a malformed one with its own 400). Twisted's own switch for this is
    the request's `parsePOSTFormSubmission` argument, which daphne does not set: its request class is
    given it here. Called by edu/asgi.py, which daphne imports before it serves; a Twisted without that
    argument is left as it is. Returns whether the switch is set."""
    try:
        from daphne.http_protocol import WebRequest
        from twisted.web.http import Request
    except ImportError:
        return False
    if getattr(WebRequest.__init__, "skips_form_parsing", False):
        return True
    if "parsePOSTFormSubmission" not in inspect.signature(Request.__init__).parameters:
        return False
    init = WebRequest.__init__

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        kwargs["parsePOSTFormSubmission"] = False
        init(self, *args, **kwargs)

    __init__.skips_form_parsing = True
    WebRequest.__init__ = __init__
    return True
