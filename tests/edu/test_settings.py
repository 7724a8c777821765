"""Settings come from the environment; production refuses to start without a SECRET_KEY."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_settings(env: dict[str, str], expr: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"}
    }
    code = f"import json, edu.settings as s; print(json.dumps({expr}, default=str))"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_secret_key():
    result = run_settings({"DEBUG": "0"}, "s.SECRET_KEY")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_with_secret_key_is_locked_down():
    result = run_settings(
        {"DEBUG": "0", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "edu.example.cn,www.edu.example.cn"},
        "[s.DEBUG, s.ALLOWED_HOSTS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT]",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, ["edu.example.cn", "www.edu.example.cn"], True, True, True]


def test_embedded_default_needs_nothing_installed():
    result = run_settings(
        {},
        "[s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], "
        "s.CACHES['default']['BACKEND'], s.LANGUAGE_CODE, s.TIME_ZONE]",
    )
    assert json.loads(result.stdout) == [
        "edu.sqlite",  # Django's SQLite backend, with connections reused (edu/sqlite/base.py)
        "channels.layers.InMemoryChannelLayer",
        "django.core.cache.backends.locmem.LocMemCache",
        "zh-hans",
        "Asia/Shanghai",
    ]


def test_database_and_redis_urls_switch_to_the_services():
    result = run_settings(
        {
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/qingkong",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        },
        "[s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], "
        "s.CHANNEL_LAYERS['default']['BACKEND'], s.CACHES['default']['BACKEND']]",
    )
    assert json.loads(result.stdout) == [
        "django.db.backends.postgresql",
        "qingkong",
        "channels_redis.pubsub.RedisPubSubChannelLayer",
        "edu.cache.RedisCache",
    ]
