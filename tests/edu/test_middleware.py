"""The site's HTTP handler and middleware: under ASGI the middleware and the view run synchronously, in one
thread per request (edu/handlers.py); a NUL in a URL is a bad request."""

import threading

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.utils.deprecation import MiddlewareMixin

from edu import asgi
from edu.handlers import SynchronousASGIHandler


def asgi_get(path: str) -> dict:
    """A GET through the site's ASGI application, as daphne sends it; the response's start message."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }

    async def exchange():
        communicator = ApplicationCommunicator(asgi.application, scope)
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await communicator.receive_output(10)
        while (await communicator.receive_output(10)).get("more_body"):
            pass
        await communicator.wait(10)
        return start

    return async_to_sync(exchange)()


def test_the_site_serves_http_through_the_synchronous_handler():
    assert isinstance(asgi.django_asgi_app, SynchronousASGIHandler)


@pytest.mark.django_db(transaction=True)
def test_an_asgi_request_runs_its_middleware_and_view_in_one_thread(monkeypatch):
    calls: list[tuple[str, str, int]] = []
    sync_call, async_call = MiddlewareMixin.__call__, MiddlewareMixin.__acall__

    def recording(self, request):
        calls.append(("sync", type(self).__name__, threading.get_ident()))
        return sync_call(self, request)

    async def recording_async(self, request):
        calls.append(("async", type(self).__name__, threading.get_ident()))
        return await async_call(self, request)

    monkeypatch.setattr(MiddlewareMixin, "__call__", recording)
    monkeypatch.setattr(MiddlewareMixin, "__acall__", recording_async)
    import allauth.account.views as account_views

    view_threads = []
    original_dispatch = account_views.LoginView.dispatch

    def dispatch(self, request, *args, **kwargs):
        view_threads.append(threading.get_ident())
        return original_dispatch(self, request, *args, **kwargs)

    monkeypatch.setattr(account_views.LoginView, "dispatch", dispatch)
    assert asgi_get("/accounts/login/")["status"] == 200
    names = [name for _, name, _ in calls]
    assert {"SessionMiddleware", "CsrfViewMiddleware", "AuthenticationMiddleware"} <= set(names)
    assert {mode for mode, _, _ in calls} == {"sync"}
    assert len({thread for _, _, thread in calls} | set(view_threads)) == 1
    assert view_threads and view_threads[0] != threading.get_ident()  # not the event loop's thread


@pytest.mark.parametrize(
    "url",
    ["/stats/schools/%00/", "/schools/SA%00/", "/stats/weekly/?school=%00", "/campaigns/?q=a%00b"],
)
def test_a_nul_character_is_a_bad_request(world, login, url):
    """On PostgreSQL a NUL in a lookup would be a DataError (500): every page refuses it first."""
    response = login(world.organiser_province).get(url)
    assert response.status_code == 400
