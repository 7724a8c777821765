"""The site's own middleware."""

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse


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
