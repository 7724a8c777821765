"""The Redis cache shares one connection pool per process (edu/cache.py): Django makes a cache backend per
request context under ASGI, and each used to open its own connection to Redis."""

import socket

import pytest
import redis

from edu.cache import RedisCache

URL = "redis://127.0.0.1:6379/11"


def redis_is_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


def test_backends_borrow_one_pool_per_server():
    first, second = RedisCache(URL, {}), RedisCache(URL, {})
    assert first._cache._get_connection_pool(write=False) is second._cache._get_connection_pool(write=True)
    elsewhere = RedisCache("redis://127.0.0.1:6379/10", {})
    assert elsewhere._cache._get_connection_pool(write=False) is not first._cache._get_connection_pool(
        write=False
    )


@pytest.mark.skipif(not redis_is_up(), reason="no Redis on 127.0.0.1:6379")
def test_a_backend_per_request_opens_no_new_connection(monkeypatch):
    opened = []  # sockets: a pool's connection object connects once and is checked out again and again
    connect = redis.connection.Connection._connect

    def counting(self, *args, **kwargs):
        opened.append(self)
        return connect(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.Connection, "_connect", counting)
    for number in range(5):  # five requests, each with the backend Django makes for it
        backend = RedisCache(URL, {"KEY_PREFIX": "qk-test-cache"})
        backend.set("visits", number)
        assert backend.get("visits") == number
    backend.delete("visits")
    assert len(opened) == 1
