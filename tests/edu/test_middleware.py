"""The site's HTTP handler and middleware: under ASGI the middleware and the view run synchronously, in one
thread per request, and the threads serve one request after another (edu/handlers.py); a NUL in a URL is a
bad request."""

import asyncio
import contextlib
import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor

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
    communicator = ApplicationCommunicator(asgi.application, get_scope(path))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(10)
    while (await communicator.receive_output(10)).get("more_body"):
        pass
    await communicator.wait(10)
    return start


def get_scope(path: str) -> dict:
    return {
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
    monkeypatch.setattr(asgi.django_asgi_app, "_idle", [])  # none kept from the tests before
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


class _CountingExecutor(ThreadPoolExecutor):
    submitted = 0

    def submit(self, *args, **kwargs):
        type(self).submitted += 1
        return super().submit(*args, **kwargs)


@pytest.fixture
def finished_events(monkeypatch):
    """("finished", thread) for every request_finished, in order; the test appends its own events."""
    from django.core import signals

    events: list[tuple[str, int]] = []

    def receiver(**kwargs):
        events.append(("finished", threading.get_ident()))

    signals.request_finished.connect(receiver)
    yield events
    signals.request_finished.disconnect(receiver)


@pytest.mark.django_db(transaction=True)
def test_a_request_crosses_to_its_thread_once(monkeypatch, login_view_threads, finished_events):
    """request_started, the chain and the close of a response held in memory run in one crossing from the
    event loop to the request's thread, and the response is closed (its database connection given back)
    before it is sent."""
    handler = asgi.django_asgi_app
    monkeypatch.setattr(handler, "_idle", [])
    monkeypatch.setattr(
        handler, "_take_executor", lambda: _CountingExecutor(max_workers=1, thread_name_prefix="request")
    )
    _CountingExecutor.submitted = 0

    async def exchange():
        communicator = ApplicationCommunicator(asgi.application, get_scope("/accounts/login/"))
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await communicator.receive_output(10)
        finished_when_sent = list(finished_events)
        while (await communicator.receive_output(10)).get("more_body"):
            pass
        await communicator.wait(10)
        return start, finished_when_sent

    start, finished_when_sent = async_to_sync(exchange)()
    assert start["status"] == 200
    assert _CountingExecutor.submitted == 1
    view_thread = login_view_threads[0][0]
    assert finished_when_sent == [("finished", view_thread)]
    assert finished_events == [("finished", view_thread)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
def test_a_streaming_response_is_closed_after_it_was_sent(monkeypatch, finished_events):
    from django.http import StreamingHttpResponse

    def parts():
        for part in (b"one", b"two"):
            finished_events.append(("part", threading.get_ident()))
            yield part

    import allauth.account.views as account_views

    monkeypatch.setattr(
        account_views.LoginView, "dispatch", lambda self, request, *a, **k: StreamingHttpResponse(parts())
    )
    assert asgi_get("/accounts/login/")["status"] == 200
    assert [kind for kind, _ in finished_events] == ["part", "part", "finished"]


@pytest.mark.django_db(transaction=True)
def test_a_client_that_leaves_during_the_view_ends_the_request_on_its_thread(
    login_view_threads, finished_events
):
    """The view finishes on its thread and its response is closed there, once: request_finished gives back the
    database connection, as in Django."""
    release, entered = threading.Event(), threading.Event()

    def slow_view():
        entered.set()
        release.wait(30)
        finished_events.append(("view done", threading.get_ident()))

    login_view_threads.hook = slow_view

    async def scenario():
        communicator = ApplicationCommunicator(asgi.application, get_scope("/accounts/login/"))
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        while not entered.is_set():
            await asyncio.sleep(0.01)
        await communicator.send_input({"type": "http.disconnect"})
        await asyncio.sleep(0.1)
        release.set()
        await communicator.wait(10)
        return await communicator.output_queue.get() if not communicator.output_queue.empty() else None

    try:
        assert async_to_sync(scenario)() is None  # nothing sent to a client that left
    finally:
        release.set()
    view_thread = login_view_threads[0][0]
    assert finished_events == [("view done", view_thread), ("finished", view_thread)]
