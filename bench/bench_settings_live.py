"""The site's settings with the variants the live-contest benchmark (bench/live_contest.py) compares.

`QK_BENCH_LIVE_LAYER` picks the channel layer the daphne processes use, all on the site's `REDIS_URL`:

- `site` (default): exactly the site's CHANNEL_LAYERS (channels_redis.core.RedisChannelLayer, capacity 1500,
  expiry 30, socket_timeout 10);
- `pubsub`: channels_redis.pubsub.RedisPubSubChannelLayer (one PUBLISH per group send, no capacity);
- `core-maxconn`: the site's core layer with a connection pool of 10,000 instead of redis-py 8's default 100;
- `core-timeout5`: the core layer without the socket_timeout fix (redis-py's default), to show what the fix
  is for (django/channels_redis#422).

`QK_BENCH_LIVE_DB_POOL=N` (N > 0) turns on Django's PostgreSQL connection pool (psycopg_pool, max_size N), in
place of a new connection for every database call.

Nothing else differs from edu.settings. For experiments only: never used by the site.
"""

import copy
import os

from edu.settings import *  # noqa: F403
from edu.settings import CHANNEL_LAYERS, DATABASES, REDIS_URL

_layer = os.environ.get("QK_BENCH_LIVE_LAYER", "site")
if _layer == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL}]},
        }
    }
elif _layer == "core-maxconn":
    CHANNEL_LAYERS = copy.deepcopy(CHANNEL_LAYERS)
    CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["max_connections"] = 10_000
elif _layer == "core-timeout5":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1500, "expiry": 30},
        }
    }
elif _layer != "site":
    raise ValueError(f"QK_BENCH_LIVE_LAYER: site, pubsub, core-maxconn or core-timeout5, not {_layer!r}")

_pool = int(os.environ.get("QK_BENCH_LIVE_DB_POOL") or 0)
if _pool > 0:
    DATABASES = copy.deepcopy(DATABASES)
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": _pool, "timeout": 30}
