"""Django's Redis cache with one connection pool per process, shared by every request.

Django keeps a cache backend per request context under ASGI (its `caches` are context-local), and each
backend made its own connection pool. So every request that touched the cache (sessions are read from it,
settings.py; so are the rate limits) opened a new TCP connection to Redis, and redis-py looked up its own
version in the installed packages' metadata for the connection's client name: a signed-in request cost
5.9 ms of CPU on PostgreSQL + Redis against 3.4 ms on the embedded default (bench/quiz_answers.py,
`bare_auth`). Here the pools live in the process, one per server and options, and the backends borrow
from them; redis-py's pools are thread-safe and start afresh in a forked child. The same problem is
open upstream as Django pull request #18459.
"""

import os
import threading

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

_pools: dict = {}
_pools_lock = threading.Lock()


def _new_lock_in_child() -> None:
    # The parent's lock may have been held by one of its threads at the fork; the pools themselves start
    # afresh in the child on their own (redis-py checks the process id).
    global _pools_lock
    _pools_lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_in_child)


class SharedPoolClient(RedisCacheClient):
    def _get_connection_pool(self, write):
        index = self._get_connection_pool_index(write)
        key = (self._servers[index], self._pool_class, repr(sorted(self._pool_options.items())))
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = self._pool_class.from_url(self._servers[index], **self._pool_options)
        return pool


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolClient
