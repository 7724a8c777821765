"""The site's settings with the benchmark URLs added: a bare view on the same server is the ceiling.

Used only by bench/quiz_answers.py, which starts the server as
`DJANGO_SETTINGS_MODULE=bench.bench_settings daphne ... edu.asgi:application`.

Static files are not collected for the benchmark, so the plain storage stands in for the manifest one: no
measured request renders a template, but an error page does, and with the manifest storage it would fail on
`{% static %}` and hide the original error from the log.

For experiments only, `QK_BENCH_DROP_MIDDLEWARE` (comma-separated dotted paths) removes middleware, to see
what a request costs where; the figures the benchmark reports are taken with the site's own list.
"""

import os

from edu.settings import *  # noqa: F403
from edu.settings import MIDDLEWARE, STORAGES

ROOT_URLCONF = "bench.bench_urls"

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

_drop = {name.strip() for name in os.environ.get("QK_BENCH_DROP_MIDDLEWARE", "").split(",") if name.strip()}
MIDDLEWARE = [name for name in MIDDLEWARE if name not in _drop]
