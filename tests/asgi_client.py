"""Django's test client, sending its requests through the site's ASGI application as daphne would.

Django's own Client calls the handler for WSGI in the test's thread; AsyncClient calls Django's ASGI handler.
Neither goes through edu.asgi.application, whose handler (edu/handlers.py) serves requests on threads of its
own and some of them on the event loop (edu/eventloop.py). `AsgiClient` builds the request as Client does
(cookies, forms, headers), runs it through the application on one event loop of its own (as one daphne
process has one), and turns the ASGI messages back into a response that the test reads as Client's.
The application's threads and the loop use connections of their own: tests need a transactional database.
"""

import asyncio
import threading
from functools import partial
from http.cookies import SimpleCookie

from asgiref.testing import ApplicationCommunicator
from django.http import HttpResponse
from django.test import Client

from edu import loopdb


class EventLoopThread:
    """An event loop running in a thread; `run(coroutine)` waits for its result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-event-loop", daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.run(loopdb.close_loop_connections())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def scope_from_environ(environ: dict) -> tuple[dict, bytes]:
    """The ASGI scope and body of the request Django's Client built as a WSGI environ."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower().encode(), str(value).encode("latin-1")))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").lower().encode(), str(value).encode("latin-1")))
    if not any(name == b"host" for name, _ in headers):
        headers.append((b"host", environ.get("SERVER_NAME", "testserver").encode()))
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    path = environ["PATH_INFO"]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": environ["REQUEST_METHOD"],
        "scheme": environ.get("wsgi.url_scheme", "http"),
        "path": path,
        "raw_path": path.encode(),
        "query_string": environ.get("QUERY_STRING", "").encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": (environ.get("SERVER_NAME", "testserver"), int(environ.get("SERVER_PORT", 80))),
    }
    return scope, body


async def exchange(application, scope: dict, body: bytes) -> tuple[int, list, bytes]:
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(20)
    content = b""
    while True:
        message = await communicator.receive_output(20)
        content += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(20)
    return start["status"], start["headers"], content


class AsgiClient(Client):
    """Client with its requests served by edu.asgi.application on `runner`'s loop; CSRF is checked."""

    def __init__(self, runner: EventLoopThread, enforce_csrf_checks: bool = True, **defaults) -> None:
        if not enforce_csrf_checks:
            raise ValueError("a request through the ASGI application is checked as a browser's")
        super().__init__(enforce_csrf_checks=True, **defaults)
        self.runner = runner

    def request(self, **request):
        from edu import asgi

        scope, body = scope_from_environ(self._base_environ(**request))
        status, headers, content = self.runner.run(exchange(asgi.application, scope, body))
        response = HttpResponse(content, status=status)
        del response.headers["Content-Type"]
        for name, value in headers:
            name, value = name.decode("latin-1"), value.decode("latin-1")
            if name.lower() == "set-cookie":
                response.cookies.load(value)
            else:
                response.headers[name] = value
        response.client = self
        response.request = request
        response.json = partial(self._parse_json, response)
        if response.cookies:
            cookies = SimpleCookie()
            cookies.update(response.cookies)
            self.cookies.update(cookies)
        return response
