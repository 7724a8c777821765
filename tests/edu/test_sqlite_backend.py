"""The embedded default's SQLite backend (edu/sqlite/base.py): connections reused, writers queued."""

import threading
import time

import pytest
from django.db import OperationalError, connection, transaction

from edu.sqlite import base as sqlite_backend

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded default's backend"),
]


def in_thread(work):
    """Run `work` in a thread of its own, as Django runs each request under ASGI; return what it returned."""
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def open_connection():
    connection.ensure_connection()
    return connection.connection


def test_a_request_thread_takes_the_connection_the_previous_one_closed():
    first = in_thread(open_connection)
    assert in_thread(open_connection) is first


def test_the_reused_connection_works_and_is_in_autocommit():
    def query():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM edu_user")
            count = cursor.fetchone()[0]
        return count, connection.get_autocommit(), connection.connection.in_transaction

    in_thread(query)
    assert in_thread(query) == (0, True, False)


def test_a_connection_closed_inside_a_transaction_is_not_reused():
    def close_mid_transaction():
        raw = open_connection()
        with pytest.raises(RuntimeError), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            connection.close()
            raise RuntimeError("the request failed")
        return raw

    closed = in_thread(close_mid_transaction)
    assert in_thread(open_connection) is not closed


def test_the_next_writer_begins_as_soon_as_the_first_commits():
    first_holds, order = threading.Event(), []

    def first_writer():
        with transaction.atomic():
            first_holds.set()
            time.sleep(0.3)
            order.append("first commits")

    def second_writer():
        first_holds.wait(10)
        started = time.monotonic()
        with transaction.atomic():
            order.append("second begins")
        return time.monotonic() - started

    thread = threading.Thread(target=lambda: in_thread(first_writer))
    thread.start()
    waited = in_thread(second_writer)
    thread.join(30)
    assert order == ["first commits", "second begins"]
    assert waited < 1.0  # SQLite's busy handler alone may sleep up to 100 ms a try; the lock wakes at once


def test_a_writer_that_waits_too_long_gets_database_is_locked(monkeypatch):
    first_holds, release = threading.Event(), threading.Event()

    def first_writer():
        with transaction.atomic():
            first_holds.set()
            release.wait(10)

    thread = threading.Thread(target=lambda: in_thread(first_writer))
    thread.start()
    try:
        first_holds.wait(10)
        monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.1)

        def second_writer():
            with transaction.atomic():
                pass

        with pytest.raises(OperationalError, match="database is locked"):
            in_thread(second_writer)
    finally:
        release.set()
        thread.join(30)
    in_thread(second_writer)  # the lock is free again once the first commits


def test_the_pool_keeps_at_most_its_limit(monkeypatch):
    monkeypatch.setattr(sqlite_backend, "POOL_MAX_IDLE", 1)
    sqlite_backend.close_pool(connection.settings_dict["NAME"])
    barrier = threading.Barrier(3)

    def hold_then_close():
        raw = open_connection()
        barrier.wait(10)  # three connections open at once, then all three are closed
        return raw

    threads = [threading.Thread(target=lambda: in_thread(hold_then_close)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(sqlite_backend._pools[connection.settings_dict["NAME"]]) == 1
