"""The ASGI handler of the site's HTTP requests: one thread hop per request instead of several."""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class SynchronousASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware and view chain built synchronously and entered once.

    Every view and middleware of the site is synchronous. Django's own ASGI handler builds the chain for
    asynchronous use: its core (URL resolution, the middleware's process_view hooks, the view) is a
    coroutine, so a request crossed between the event loop and the request's thread several times: into
    the thread for the synchronous middleware, back to the loop for that core, into the thread for each
    process_view hook (the CSRF check) and again for the view. Here the chain is the one Django builds for
    WSGI, run in the request's thread in a single crossing (Django's ThreadSensitiveContext still gives
    each request its own thread). The request_started and request_finished signals and the response's
    sending stay as Django does them. WebSockets do not come through here.

    Measured in one process without daphne (the ASGI application called directly, one request at a time):
    about 2.0 -> 1.5 ms of CPU for a bare GET and 2.9 -> 2.1 ms for a saved answer; with
    bench/quiz_answers.py on daphne, 32 clients, one run before and one after on a noisy machine: 2.35 -> 2.19
    and 4.28 -> 3.81 ms per request (SQLite).
    It replaces a middleware that moved Django's adaptation to the bottom of the stack, which still left
    the hops around the core.
    """

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)
