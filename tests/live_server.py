"""Daphne processes for tests that need a real server (browser tests, several workers over Redis)."""

import contextlib
from collections.abc import Iterator
from functools import partial

from channels.testing.live import make_application
from daphne.testing import DaphneProcess
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

# Objects the forked server inherited and must neither use nor close (closing would close the test
# process's sockets too): kept referenced here so that garbage collection never finalises them.
_inherited: list = []


def _fresh_server_process() -> None:
    """In the forked server, undo what the test process built before the fork: its channel layers (made on
    the consumer tests' event loops), asgiref's single worker thread for thread-sensitive calls (a fork does
    not copy threads: without a fresh one every database call of a consumer would wait forever), and its
    database connections and PostgreSQL pool (their sockets are the test process's)."""
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import SyncToAsync
    from channels.layers import channel_layers
    from django.db import connections

    channel_layers.backends.clear()
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    for connection in connections.all(initialized_only=True):
        _inherited.append(connection.connection)
        connection.connection = None
        pools = getattr(type(connection), "_connection_pools", None)
        if pools:
            _inherited.extend(pools.values())
            pools.clear()


@contextlib.contextmanager
def daphne_server() -> Iterator[str]:
    """A daphne process serving the test database over HTTP and WebSocket; yields its base URL.

    The process is forked from the test process, so it inherits settings that already name the test
    database (channels' own set-up would prefix the name a second time on PostgreSQL)."""
    server = DaphneProcess(
        "127.0.0.1",
        partial(make_application, static_wrapper=ASGIStaticFilesHandler),
        setup=_fresh_server_process,
    )
    server.start()
    if not server.ready.wait(timeout=30):
        server.terminate()
        raise RuntimeError("the live server did not start")
    try:
        yield f"http://127.0.0.1:{server.port.value}"
    finally:
        server.terminate()
        server.join(timeout=10)
