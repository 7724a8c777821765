"""The site's own middleware."""

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse


class SynchronousStackMiddleware:
    """Last in MIDDLEWARE: the request goes through the middleware above it in one thread, without hopping.

    Every view of the site is synchronous. Under ASGI, Django runs a middleware that can be asynchronous as
    such and calls each synchronous hook of it (process_request, process_response: Django's own
    middleware) through sync_to_async, a round trip between the event loop and the request's thread, with a
    switch back above whitenoise, which is synchronous only: some fifteen round trips per request. Django
    adapts the stack once below a middleware that is synchronous only, and runs everything above it
    synchronously; so this one, doing nothing itself, moves that single adaptation to the bottom of the
    stack. Measured with bench/quiz_answers.py on daphne: 1.5 -> 0.9 ms of server CPU per bare request, about
    1 ms less for a saved answer. WebSockets do not go through this stack.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)


class RejectNulMiddleware:
    """A NUL character in the path or the query string is a bad request (400), for every page at once.

    No name, code or number of the site holds one, and PostgreSQL refuses it in a text parameter (a
    DataError, so a 500, wherever a view passes a URL or query value to a lookup): refused here, no view
    has to think of it. Forms refuse it on their own (ProhibitNullCharactersValidator)."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            raise BadRequest("NUL character in the request")
        return self.get_response(request)
