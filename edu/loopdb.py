"""The database from the event loop, for the work that edu/eventloop.py runs there instead of on a thread.

Django's connections are synchronous and refuse to be used on an event loop. This module gives the loop
connections of its own to the same database, configured from Django's settings for it:

- PostgreSQL: a psycopg_pool.AsyncConnectionPool per event loop (the pool's tasks belong to their loop), with
  Django's own connection parameters and adapters (its loaders: jsonb comes back as text, as Django reads
  it), in autocommit, the session's time zone set as Django sets it. A statement is bound on the server and
  prepared on the connection at its first use (the loop runs the same few statements over and over: the
  server plans each once per connection); several statements in one round trip are bound on the client,
  as Django's default cursor binds them. Statements are awaited: the loop serves other requests during
  every round trip.
- SQLite: one connection per event loop and database file, with Django's parameters and pragmas and a busy
  timeout of 0. A statement there takes microseconds, so it runs on the loop outright; but the loop must
  never block on a writer: a write transaction takes the process's write lock (edu/sqlite/base.py) without
  waiting and begins IMMEDIATE without SQLite's busy wait; nor on a checkpoint, which a thread makes
  (checkpoint_if_due). Requests of one loop never interleave on its connection: a transaction's
  statements run without an await between them. While either is held elsewhere the request
  waits on the loop in pauses of a few milliseconds (the loop serves the others meanwhile), and after
  WRITE_WAIT raises Busy (the caller then leaves the request to a request thread, which queues as every
  writer does).

A statement's text and parameters are the ones the ORM's connection would be given (`%s` placeholders,
values adapted by Django's connection operations); Django's cursor wrapper turns them into SQLite's.

The PostgreSQL pool is not used when the settings ask for what Django does per connection beyond this
(OPTIONS assume_role, isolation_level, server_side_binding), nor an in-memory SQLite database:
`connection()` then raises Busy, and the request is served on a thread.
"""

import asyncio
import contextlib
import logging
import os
import threading
import weakref
from collections.abc import AsyncIterator

from django.db import connections

logger = logging.getLogger(__name__)

# Connections of a loop's PostgreSQL pool; they serve short statements of one request each, so a few are
# enough for thousands of requests a second.
POOL_MIN_SIZE = 1
POOL_MAX_SIZE = 8
# Seconds a request waits for a free one before it goes to a request thread (Django's own pool, settings.py).
POOL_WAIT = 0.2

# SQLite: how long a write on the loop waits for another writer (a request thread's transaction, the
# statistics' refresh, another process) before its request goes to a thread, and its pauses (seconds).
WRITE_WAIT = 0.2
WRITE_RETRY_FIRST = 0.0005
WRITE_RETRY_MAX = 0.005
# Commits of a loop's SQLite connection between two checkpoints (an answer writes a few pages of the WAL).
CHECKPOINT_EVERY = 300


class Busy(Exception):  # noqa: N818 - a state, handled by falling back
    """The loop may not have the database now: another writer holds it, or no connection is free."""


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        # event loop -> {(vendor, database name): _PostgresPool | _SQLiteHandle}
        self.by_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


_registry = _Registry()
_inherited: list = []


def _forget_in_child() -> None:
    # A forked child must neither use nor close its parent's connections (edu/sqlite/base.py says why).
    global _registry
    _inherited.append(_registry)
    _registry = _Registry()


os.register_at_fork(after_in_child=_forget_in_child)


def _available(wrapper) -> bool:
    """Whether the loop may have connections of its own to this database (the module's docstring)."""
    if wrapper.vendor == "sqlite":
        return not wrapper.is_in_memory_db()
    if wrapper.vendor == "postgresql":
        options = wrapper.settings_dict.get("OPTIONS", {})
        unsupported = ("assume_role", "isolation_level", "server_side_binding")
        return not any(options.get(name) for name in unsupported)
    return False


@contextlib.asynccontextmanager
async def connection(alias: str = "default") -> AsyncIterator["_LoopConnection"]:
    """A connection of this loop's to Django's database `alias`, in autocommit. A transaction begun on it
    (begin) and still open at the end of the block is rolled back. Raises Busy when none can be had soon
    (POOL_WAIT, WRITE_WAIT)."""
    wrapper = connections[alias]
    if not _available(wrapper):
        raise Busy("the loop has no connections to this database")
    key = (wrapper.vendor, str(wrapper.settings_dict["NAME"]))
    loop = asyncio.get_running_loop()
    with _registry.lock:
        handles = _registry.by_loop.setdefault(loop, {})
        handle = handles.get(key)
        if handle is None:
            kind = _PostgresPool if wrapper.vendor == "postgresql" else _SQLiteHandle
            handle = handles[key] = kind(wrapper)
    async with handle.connection() as loop_connection:
        yield loop_connection


async def close_loop_connections() -> None:
    """Close this loop's connections (before the loop ends: the test client's loop)."""
    loop = asyncio.get_running_loop()
    with _registry.lock:
        handles = _registry.by_loop.pop(loop, {})
    for handle in handles.values():
        await handle.close()


def forget_sqlite_file(name: str) -> None:
    """Close every loop's connection to this SQLite file (a test database that is deleted or replaced)."""
    with _registry.lock:
        found = []
        for handles in _registry.by_loop.values():
            for key in [key for key in handles if key == ("sqlite", name)]:
                found.append(handles.pop(key))
    for handle in found:
        handle.close_now()


class _LoopConnection:
    vendor: str

    async def execute(self, sql: str, params=()) -> None:
        """One statement (PostgreSQL: prepared on the connection at its first use)."""
        raise NotImplementedError

    async def execute_several(self, sql: str, params=()) -> None:
        """Several statements separated by semicolons, in one round trip (PostgreSQL only)."""
        raise NotImplementedError

    async def fetchone(self):
        raise NotImplementedError

    async def fetchall(self) -> list:
        raise NotImplementedError

    def nextset(self) -> None:
        raise NotImplementedError

    @property
    def rowcount(self) -> int:
        raise NotImplementedError

    async def begin(self) -> None:
        raise NotImplementedError

    async def commit(self) -> None:
        raise NotImplementedError

    async def rollback(self) -> None:
        raise NotImplementedError


# --- PostgreSQL ------------------------------------------------------------------------------------------


class _PostgresPool:
    def __init__(self, wrapper) -> None:
        from psycopg import AsyncClientCursor
        from psycopg_pool import AsyncConnectionPool

        params = wrapper.get_connection_params()
        params.pop("cursor_factory", None)
        params.update(autocommit=True, cursor_factory=AsyncClientCursor)
        time_zone = wrapper.timezone_name

        async def configure(conn) -> None:
            # As Django's ensure_timezone: the session's time zone is the one Django reads datetimes in.
            await conn.execute("SELECT set_config('TimeZone', %s, false)", [time_zone])

        self.pool = AsyncConnectionPool(
            kwargs=params,
            min_size=POOL_MIN_SIZE,
            max_size=POOL_MAX_SIZE,
            timeout=POOL_WAIT,
            open=False,
            configure=configure,
            name="loop",
        )
        self.opened = asyncio.ensure_future(self.pool.open())

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[_LoopConnection]:
        from psycopg_pool import PoolTimeout

        await self.opened
        try:
            conn = await self.pool.getconn()
        except PoolTimeout as error:
            raise Busy("no connection of the loop's pool is free") from error
        loop_connection = _PostgresConnection(conn)
        try:
            yield loop_connection
        finally:
            try:
                if loop_connection.in_transaction:
                    await conn.rollback()
            finally:
                await self.pool.putconn(conn)  # a broken connection is replaced by the pool

    async def close(self) -> None:
        await self.opened
        await self.pool.close()

    def close_now(self) -> None:  # pragma: no cover - SQLite only
        pass


class _PostgresConnection(_LoopConnection):
    vendor = "postgresql"

    def __init__(self, conn) -> None:
        from psycopg import AsyncCursor

        self.conn = conn
        self.cursor = self.prepared = AsyncCursor(conn)  # server-side binding: prepared on the connection
        self.client = conn.cursor()  # client-side binding, for several statements in one round trip

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.conn.pgconn.transaction_status != TransactionStatus.IDLE

    async def execute(self, sql: str, params=()) -> None:
        self.cursor = self.prepared
        await self.cursor.execute(sql, params, prepare=True)

    async def execute_several(self, sql: str, params=()) -> None:
        self.cursor = self.client
        await self.cursor.execute(sql, params)

    async def fetchone(self):
        return await self.cursor.fetchone()

    async def fetchall(self) -> list:
        return await self.cursor.fetchall()

    def nextset(self) -> None:
        self.cursor.nextset()

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount

    async def begin(self) -> None:
        await self.cursor.execute("BEGIN")

    async def commit(self) -> None:
        await self.cursor.execute("COMMIT")

    async def rollback(self) -> None:
        await self.cursor.execute("ROLLBACK")


# --- SQLite ----------------------------------------------------------------------------------------------


class _SQLiteHandle:
    def __init__(self, wrapper) -> None:
        from django.db.backends.sqlite3.base import Database

        from edu.sqlite.base import write_lock

        params = wrapper.get_connection_params()  # also reads the init commands
        params["timeout"] = 0  # the loop never waits in SQLite's busy handler
        conn = Database.connect(**params)
        conn.isolation_level = None  # autocommit; transactions are begun explicitly
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA legacy_alter_table = OFF")
        for command in wrapper.init_commands:
            if command := command.strip():
                conn.execute(command)
        conn.execute("PRAGMA busy_timeout = 0")
        # A checkpoint copies the WAL into the database file and syncs it: never on the loop. The loop's
        # commits are counted, and a thread checkpoints (checkpoint_if_due).
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        self.conn = conn
        self.name = str(wrapper.settings_dict["NAME"])
        self.commits_since_checkpoint = 0
        self.write_lock = write_lock(str(wrapper.settings_dict["NAME"]))

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[_LoopConnection]:
        loop_connection = _SQLiteConnection(self)
        try:
            yield loop_connection
        finally:
            loop_connection.end()

    async def close(self) -> None:
        self.close_now()

    def close_now(self) -> None:
        self.conn.close()

    def checkpoint_if_due(self) -> None:
        """Every CHECKPOINT_EVERY commits of the loop, a passive checkpoint on a thread of the default
        executor, with a connection of its own (as SQLite's auto-checkpoint at 1,000 pages of WAL would,
        about as often for the loop's small writes)."""
        self.commits_since_checkpoint += 1
        if self.commits_since_checkpoint < CHECKPOINT_EVERY:
            return
        self.commits_since_checkpoint = 0
        asyncio.get_running_loop().run_in_executor(None, _checkpoint, self.name)


def _checkpoint(name: str) -> None:
    import sqlite3

    try:
        conn = sqlite3.connect(name, timeout=5)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()
    except sqlite3.Error:
        logger.exception("checkpointing %s failed", name)


class _SQLiteConnection(_LoopConnection):
    vendor = "sqlite"

    def __init__(self, handle: _SQLiteHandle) -> None:
        from django.db.backends.sqlite3.base import SQLiteCursorWrapper

        self.handle = handle
        self.cursor = handle.conn.cursor(factory=SQLiteCursorWrapper)
        self.holds_lock = False

    async def execute(self, sql: str, params=()) -> None:
        self.cursor.execute(sql, params)

    async def fetchone(self):
        return self.cursor.fetchone()

    async def fetchall(self) -> list:
        return self.cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount

    async def begin(self) -> None:
        """Begin a write transaction: the process's write lock and SQLite's, each without waiting in a
        thread; while another writer holds either, the request waits on the loop (serving the others) for a
        few milliseconds at a time, up to WRITE_WAIT, then raises Busy."""
        waited, pause = 0.0, WRITE_RETRY_FIRST
        while not self._try_begin():
            if waited >= WRITE_WAIT:
                raise Busy("another writer holds the database")
            await asyncio.sleep(pause)
            waited += pause
            pause = min(pause * 2, WRITE_RETRY_MAX)

    def _try_begin(self) -> bool:
        from django.db.backends.sqlite3.base import Database

        if not self.handle.write_lock.acquire(blocking=False):
            return False
        self.holds_lock = True
        try:
            self.cursor.execute("BEGIN IMMEDIATE")
        except Database.OperationalError as error:
            self._release()
            if "locked" in str(error) or "busy" in str(error):
                return False  # another process writes
            raise
        return True

    async def commit(self) -> None:
        try:
            self.cursor.execute("COMMIT")
        finally:
            if not self.handle.conn.in_transaction:
                self._release()
        self.handle.checkpoint_if_due()

    async def rollback(self) -> None:
        self.end()

    def end(self) -> None:
        try:
            if self.handle.conn.in_transaction:
                self.cursor.execute("ROLLBACK")
        finally:
            self._release()

    def _release(self) -> None:
        if self.holds_lock:
            self.holds_lock = False
            self.handle.write_lock.release()
