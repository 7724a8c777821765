"""The site's ASGI application with the live consumers changed as bench/live_contest.py asks, to measure a
change before anyone makes it in the app (`daphne bench.live_asgi:application`; otherwise the site's own).

- `QK_BENCH_LIVE_DIRECT_DISPATCH=1` (--direct-dispatch): the live consumers' `dispatch` calls the handler
  directly. Channels 4.2+ runs `close_old_connections` on the database thread before EVERY message a
  consumer handles, broadcasts included: a question to 2,500 players of one process is 2,500 hops through
  the one database thread, queued behind the answers already being written. The live consumers touch the
  database only through `database_sync_to_async`, which closes old connections around each call itself.
- `QK_BENCH_LIVE_DB_THREADS=N` (--db-threads N): the consumers' database calls run on a pool of N threads.
  Channels' `database_sync_to_async` is thread-sensitive by default, so every database call of every
  WebSocket in a process (each answer, hello, host command and clock tick) waits its turn on one thread,
  one round trip to PostgreSQL after another.
"""

import os
from concurrent.futures import ThreadPoolExecutor

from edu.asgi import application  # noqa: F401 - sets Django up; served as bench.live_asgi:application

_threads = int(os.environ.get("QK_BENCH_LIVE_DB_THREADS") or 0)
if _threads > 0:
    from channels.db import DatabaseSyncToAsync

    from quizzes import consumers

    _executor = ThreadPoolExecutor(max_workers=_threads, thread_name_prefix="live-db")

    def _parallel_database_sync_to_async(func):
        return DatabaseSyncToAsync(func, thread_sensitive=False, executor=_executor)

    consumers.database_sync_to_async = _parallel_database_sync_to_async

if os.environ.get("QK_BENCH_LIVE_DIRECT_DISPATCH") == "1":
    from channels.consumer import get_handler_name

    from quizzes import consumers

    async def _direct_dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    consumers.LiveConsumer.dispatch = _direct_dispatch
