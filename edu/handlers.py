"""The ASGI handler of the site's HTTP requests: one thread hop per request, on threads that are kept."""

import asyncio
import contextlib
import functools
import inspect
import io
import logging
import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.urls import Resolver404, set_script_prefix

from edu import eventloop, loopdb

logger = logging.getLogger(__name__)

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
    WSGI, run in the request's thread. Django then crossed twice more, for the request_started signal and
    for the response's close: here (handle) all of a request's synchronous work is one crossing, and a
    response held in memory is closed before it is sent. WebSockets do not come through here.

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
    One crossing instead of three, bench/quiz_answers.py on PostgreSQL (server CPU per request, medians of
    three rounds): the bare GET 1.75 -> 1.41 ms, a saved answer 3.77 -> 3.14 ms, a submission 4.08 -> 3.41 ms.

    A request that a lane of edu/eventloop.py accepts (the quiz page's answers and submissions) is tried on
    the event loop first, without a crossing at all (_serve_on_loop): every database statement that a
    request thread makes hands the interpreter lock to another thread and back, which made an answer cost
    the server three bare requests. Whatever the loop does not settle is served here as any request.
    """

    def __init__(self):
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []
        self._idle_lock = threading.Lock()
        _handlers.add(self)

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)  # the synchronous chain, as for WSGI

    async def get_response_async(self, request):
        # handle() does not come here; kept so that Django's asynchronous entry runs the synchronous chain.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    async def handle(self, scope, receive, send):
        """Django's ASGIHandler.handle with the request's synchronous work in one crossing (_serve): the
        request_started signal, the request, the chain and, for a response held in memory, its close
        (request_finished, which gives back the database connection) before it is sent. Django crosses
        three times: for request_started, for the chain and for the close. A streaming response is closed
        after it was sent, as Django does. A client that leaves before the response is sent cancels the
        waiting, as in Django, not the view, which finishes on its thread: its response is closed there."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        served = _Served(self.__class__)
        tasks = [
            # As in Django: the disconnect listener first, so that its errors are seen before the response's.
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(self._process(scope, body_file, send, served)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            # Queued on the request's thread behind the view, if it still runs.
            await sync_to_async(served.finish, thread_sensitive=True)()
        else:
            if not response.closed:
                await sync_to_async(response.close, thread_sensitive=True)()
        body_file.close()

    async def _process(self, scope, body_file, send, served: "_Served"):
        response = None
        if eventloop.wants_loop(scope):
            # Shielded: a client that leaves does not stop work that may have begun writing.
            response = await asyncio.shield(self._serve_on_loop(scope, body_file))
        if response is None:
            response = await sync_to_async(self._serve, thread_sensitive=True)(scope, body_file, served)
        with contextlib.suppress(asyncio.CancelledError):  # the client left while it was being sent
            await self.send_response(response, send)
        return response

    def _serve(self, scope, body_file, served: "_Served"):
        """On the request's thread: everything synchronous that a request does before it is sent."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        served.response = response
        if not response.streaming:
            response.close()  # its body is in memory; sending it needs nothing the close gives back
        return response

    async def _serve_on_loop(self, scope, body_file):
        """The request on the event loop, in two passes of the chain (edu/eventloop.py); None for one that
        must be served on its thread. Nothing was written for it, but in one case: a second pass that
        failed (a 5xx, logged by Django) after the work was done, whose work the thread does again (the same
        answer saved again; a submitted attempt found submitted). A request that the chain answers before
        the view (a disallowed host, a redirect) is answered again on the thread, and a refusal that Django
        logs is logged twice."""
        body = _body_in_memory(body_file)
        if body is None:
            return None
        memo: dict = {}
        with eventloop.first_pass(memo):
            try:
                request, response = self.create_request(scope, io.BytesIO(body))
                if request is None or not self._serves_on_loop(request):
                    return None
                self.get_response(request)
                return None  # a response before the view's work (a redirect, a refusal): made on a thread
            except eventloop.Deferred as deferred:
                work = deferred.work
            except Exception:
                logger.exception("serving %s on the event loop failed; serving it on a thread", scope["path"])
                return None
        if work is None:
            return None
        try:
            value, error = await work.run(), None
        except work.passes as passed:
            value, error = None, passed
        except loopdb.Busy:
            return None
        except Exception:
            logger.exception("work of %s on the event loop failed; serving it on a thread", scope["path"])
            return None
        if value is eventloop.FALLBACK:
            return None
        with eventloop.second_pass(memo, value=value, error=error):
            try:
                request, response = self.create_request(scope, io.BytesIO(body))
                if request is not None:
                    response = self.get_response(request)
                    response._handler_class = self.__class__
            except eventloop.Deferred:
                # The second pass went another way than the first (it cannot, the request being the same).
                logger.error(
                    "the second pass of %s on the event loop deferred; serving it on a thread", scope["path"]
                )
                return None
            response.close()  # request_finished, as for every request; the body is in memory
        if response.status_code >= 500:
            # A failure of the view's second pass (logged by Django): the work is done and may be done
            # again (saving the same answer, submitting a submitted attempt), so the thread answers.
            return None
        return response

    def _serves_on_loop(self, request) -> bool:
        """Whether the view at the request's path is one that edu/eventloop.py may serve (marked
        eventloop.serves_on_loop): any other view would run its database work on the loop."""
        try:
            match = self.resolve_request(request)
        except Resolver404:
            return False
        return getattr(match.func, "serves_on_loop", False)

    def resolve_request(self, request):
        """Django's, once for both passes of a request on the loop."""
        if hasattr(request, "urlconf") or not eventloop.on_loop():
            return super().resolve_request(request)
        match = eventloop.remember(
            ("resolve", request.path_info), lambda: super(__class__, self).resolve_request(request)
        )
        request.resolver_match = match
        return match

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


# The largest body of a request served on the loop: its two passes read it from memory (an answer's form
# is some tens of bytes).
MAX_LOOP_BODY = 16 * 1024


def _body_in_memory(body_file) -> bytes | None:
    """The request's body, for a request that may be served on the loop; body_file is left unread."""
    if getattr(body_file, "_rolled", True):  # a SpooledTemporaryFile gone to disk: a large body
        return None
    body = body_file.read(MAX_LOOP_BODY + 1)
    body_file.seek(0)
    return body if len(body) <= MAX_LOOP_BODY else None


class _Served:
    """What a request's thread made of it, for closing it after a client left."""

    def __init__(self, sender: type) -> None:
        self.sender = sender  # of request_finished, as Django sends it
        self.response = None

    def finish(self) -> None:
        """On the request's thread, after the view: close its response, or end the request without one."""
        if self.response is None:
            signals.request_finished.send(sender=self.sender)
        elif not self.response.closed:
            self.response.close()


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
