"""The site's HTTP handler and middleware: under ASGI the middleware and the view run synchronously, in one
thread per request, and the threads serve one request after another (edu/handlers.py); a NUL in a URL is a
bad request."""

import asyncio
import contextlib
import contextvars
import os
import threading

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.db import connections
from django.utils.deprecation import MiddlewareMixin

from edu import asgi, handlers
from edu.handlers import SynchronousASGIHandler


def asgi_get(path: str) -> dict:
    """A GET through the site's ASGI application, as daphne sends it; the response's start message."""
    return async_to_sync(asgi_exchange)(path)


async def asgi_exchange(path: str) -> dict:
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

    communicator = ApplicationCommunicator(asgi.application, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(10)
    while (await communicator.receive_output(10)).get("more_body"):
        pass
    await communicator.wait(10)
    return start


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


class ViewCalls(list):
    """(thread, connection wrapper) pairs."""

    def hook(self) -> None:
        pass


@pytest.fixture
def login_view_threads(monkeypatch):
    """The thread and the database connection wrapper of every sign-in page's view, in order; `.hook` runs
    inside the view."""
    import allauth.account.views as account_views

    seen = ViewCalls()
    original_dispatch = account_views.LoginView.dispatch

    def dispatch(self, request, *args, **kwargs):
        seen.append((threading.get_ident(), id(connections["default"])))
        seen.hook()
        return original_dispatch(self, request, *args, **kwargs)

    monkeypatch.setattr(account_views.LoginView, "dispatch", dispatch)
    return seen


@pytest.mark.django_db(transaction=True)
def test_one_request_after_another_runs_on_the_same_thread_and_connection(login_view_threads):
    for _ in range(3):
        assert asgi_get("/accounts/login/")["status"] == 200
    assert len(login_view_threads) == 3
    assert len(set(login_view_threads)) == 1  # one thread, one connection wrapper: nothing built again
    assert login_view_threads[0][0] != threading.get_ident()


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_each_have_a_thread_of_their_own(login_view_threads, monkeypatch):
    """Two requests that each wait inside their view for the other: on one shared thread they would never
    meet (the barrier breaks after 10 s and the views fail)."""
    monkeypatch.setattr(handlers, "MAX_IDLE_THREADS", 1)
    barrier = threading.Barrier(3)
    login_view_threads.hook = lambda: barrier.wait(10)

    async def three():
        return await asyncio.gather(*(asgi_exchange("/accounts/login/") for _ in range(3)))

    assert [start["status"] for start in async_to_sync(three)()] == [200, 200, 200]
    assert len({thread for thread, _ in login_view_threads}) == 3
    # Only MAX_IDLE_THREADS of them are kept for the next requests; the others were stopped.
    assert len(asgi.django_asgi_app._idle) == 1


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_request_does_not_lend_its_busy_thread(login_view_threads):
    """daphne cancels a request some seconds after its client left, while its view may still run: the next
    request must not be queued behind that view on the same thread."""
    release, entered = threading.Event(), threading.Event()

    def slow_first_view():
        if len(login_view_threads) == 1:
            entered.set()
            release.wait(30)  # an export, a lock wait, ...

    login_view_threads.hook = slow_first_view
    handler = asgi.django_asgi_app

    async def scenario():
        first = asyncio.ensure_future(asgi_exchange("/accounts/login/"))
        while not entered.is_set():
            await asyncio.sleep(0.01)
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first
        second = asyncio.ensure_future(asgi_exchange("/accounts/login/"))
        done, _ = await asyncio.wait([second], timeout=10)
        release.set()
        return [task.result()["status"] for task in done]

    try:
        assert async_to_sync(scenario)() == [200]
    finally:
        release.set()
    assert login_view_threads[0][0] != login_view_threads[1][0]
    assert len(handler._idle) <= handlers.MAX_IDLE_THREADS


@pytest.mark.django_db(transaction=True)
def test_a_forked_server_does_not_use_its_parents_threads(login_view_threads):
    """The browser tests' server is forked from the test process: the threads the parent kept are not in the
    child, and a request given one of them would wait forever."""
    import multiprocessing

    assert asgi_get("/accounts/login/")["status"] == 200
    assert asgi.django_asgi_app._idle  # the parent keeps a thread now

    def child():
        os._exit(0 if asgi_get("/accounts/login/")["status"] == 200 else 1)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(30)
    if process.exitcode is None:
        process.kill()
        process.join()
    assert process.exitcode == 0


@pytest.mark.parametrize(
    "url",
    ["/stats/schools/%00/", "/schools/SA%00/", "/stats/weekly/?school=%00", "/campaigns/?q=a%00b"],
)
def test_a_nul_character_is_a_bad_request(world, login, url):
    """On PostgreSQL a NUL in a lookup would be a DataError (500): every page refuses it first."""
    response = login(world.organiser_province).get(url)
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (b"application/x-www-form-urlencoded", b"position=3&choice=1&choice=2"),
        (
            b"multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xyz--\r\n',
        ),
    ],
)
def test_daphne_leaves_post_bodies_to_django(content_type, body):
    """daphne's requests (edu/asgi.py set them up) do not parse a form body into Twisted's request.args:
    the body reaches the application as sent, and Twisted's parser of the Content-Type is never called."""
    from unittest import mock

    from daphne.http_protocol import WebRequest
    from twisted.web import http
    from twisted.web.test.requesthelper import DummyChannel

    assert asgi.application is not None  # importing edu.asgi sets daphne up
    assert handlers.skip_twisted_form_parsing() is True  # and doing it again changes nothing
    channel = DummyChannel()
    channel.factory = mock.Mock()
    with (
        mock.patch.object(WebRequest, "process") as process,
        mock.patch.object(http, "_parseContentType", side_effect=AssertionError("parsed")) as parse,
    ):
        request = WebRequest(channel)
        request.requestHeaders.setRawHeaders(b"Content-Type", [content_type])
        request.gotLength(len(body))
        request.handleContentChunk(body)
        request.requestReceived(b"POST", b"/attempts/x/answer/?q=1", b"HTTP/1.1")
    process.assert_called_once()
    assert not parse.called
    assert request.args == {b"q": [b"1"]}  # the query string only, as before
    assert request.content.read() == body


def test_starting_builds_the_url_resolver_for_every_language():
    """edu/asgi.py builds the reverse lookups before serving, so that concurrent first requests do not each
    build them (Django only guards the building within one thread)."""
    from django.conf import settings
    from django.urls import clear_url_caches, get_resolver

    clear_url_caches()
    assert not get_resolver()._populated
    asgi._populate_url_resolver()
    resolver = get_resolver()
    assert resolver._populated
    assert {code for code, _name in settings.LANGUAGES} <= set(resolver._reverse_dict)


def test_building_the_url_resolver_leaves_no_context_locals_behind():
    """The resolvers' guards and the translation override are context-local: built in the main context,
    every request would carry them and asgiref would move each to the request's thread and back."""
    from django.urls import clear_url_caches, get_resolver

    clear_url_caches()
    context = contextvars.Context()
    context.run(asgi._populate_url_resolver)
    assert get_resolver()._populated
    assert list(context) == []
