"""Django's SQLite backend for one server process: connections are reused, and writers queue in the process.

Under ASGI, Django runs each request's synchronous code in a thread of its own (a new one for every request
in Django's own handler; edu/handlers.py keeps them), and its connections are per thread and closed at the
end of every request (CONN_MAX_AGE 0), so every request opened a new SQLite connection: the file opened,
Django's SQL functions registered, the pragmas run and the schema parsed again on the first query, about a
third of the server's time for a signed-in request that only reads its session and user. PostgreSQL has a
connection pool for the same reason (settings.py); this is the SQLite counterpart. A connection Django
closes at the end of a request goes back to a small per-process pool if it is clean (no transaction open, no
error seen) and the next request takes it, with its prepared statements; anything else is closed as before.

Writers: every transaction begins IMMEDIATE (settings.py), so the database file holds one writer at a time
and the others wait in SQLite's busy handler, which polls with sleeps of up to 100 ms: a writer that could go
on sleeps on while the file is free, and under load the answers queue behind sleeping threads (p95 latency
of seconds, the CPU idle). Here the writers of one process first take a lock of the process, which wakes the
next one the moment the previous transaction ends; SQLite's own lock still orders this process against any
other (a management command, a second server), and the wait for the process lock is bounded by the same
timeout, with the same "database is locked" error.
"""

import os
import threading

from django.db.backends.sqlite3 import base, creation
from django.utils.asyncio import async_unsafe

# Idle connections kept per database file and process; more are closed when they come back.
POOL_MAX_IDLE = 32

_pools: dict[str, list] = {}
_pools_lock = threading.Lock()
_write_locks: dict = {}


def write_lock(name: str):
    """The lock that orders this process's writers of the file `name` (edu/loopdb.py takes it too)."""
    with _pools_lock:
        return _write_locks.setdefault(name, threading.Lock())


def close_pool(name: str) -> None:
    from edu import loopdb

    with _pools_lock:
        idle = _pools.pop(name, [])
    for connection in idle:
        connection.close()
    loopdb.forget_sqlite_file(name)


def _forget_inherited_connections() -> None:
    # A forked child must not touch its parent's SQLite connections, not even to close them (sqlite.org,
    # "How To Corrupt An SQLite Database File", 2.6): they are left to the parent, the child starts afresh,
    # with locks of its own (the parent's may have been held by a thread that the child does not have).
    global _pools, _pools_lock, _write_locks
    _inherited.append(_pools)
    _pools, _pools_lock, _write_locks = {}, threading.Lock(), {}


_inherited: list = []
os.register_at_fork(after_in_child=_forget_inherited_connections)


class DatabaseCreation(creation.DatabaseCreation):
    """Pooled connections must not outlive a test database that is deleted or replaced."""

    def _create_test_db(self, verbosity, autoclobber, keepdb=False):
        close_pool(self._get_test_db_name())
        return super()._create_test_db(verbosity, autoclobber, keepdb)

    def _clone_test_db(self, suffix, verbosity, keepdb=False):
        close_pool(self.get_test_db_clone_settings(suffix)["NAME"])
        return super()._clone_test_db(suffix, verbosity, keepdb)

    def _destroy_test_db(self, test_database_name, verbosity):
        close_pool(test_database_name)
        return super()._destroy_test_db(test_database_name, verbosity)


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation
    _held_write_lock = None  # the process lock, while this connection has a write transaction open

    def _pool_key(self) -> str | None:
        name = self.settings_dict["NAME"]
        return None if self.is_in_memory_db() else str(name)

    @async_unsafe
    def get_new_connection(self, conn_params):
        key = self._pool_key()
        if key is not None:
            with _pools_lock:
                idle = _pools.get(key)
                if idle:
                    return idle.pop()
        return super().get_new_connection(conn_params)

    def _close(self):
        connection, key = self.connection, self._pool_key()
        try:
            if (
                connection is None
                or key is None
                or self.in_atomic_block
                or self.errors_occurred
                or connection.in_transaction
            ):
                return super()._close()
            with _pools_lock:
                idle = _pools.setdefault(key, [])
                if len(idle) < POOL_MAX_IDLE:
                    idle.append(connection)
                    return None
            return super()._close()
        finally:
            self._release_write_lock()

    def _start_transaction_under_autocommit(self):
        if self.transaction_mode not in ("IMMEDIATE", "EXCLUSIVE") or self._pool_key() is None:
            return super()._start_transaction_under_autocommit()
        lock = write_lock(self._pool_key())
        timeout = self.settings_dict["OPTIONS"].get("timeout", 5)
        if not lock.acquire(timeout=timeout):
            with self.wrap_database_errors:
                raise self.Database.OperationalError("database is locked")
        self._held_write_lock = lock
        try:
            return super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _set_autocommit(self, autocommit):
        super()._set_autocommit(autocommit)
        if autocommit:
            # The transaction has ended (committed or rolled back): the next writer may begin.
            self._release_write_lock()

    def _release_write_lock(self) -> None:
        lock, self._held_write_lock = self._held_write_lock, None
        if lock is not None:
            lock.release()
