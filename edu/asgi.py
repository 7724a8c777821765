"""ASGI entry point: HTTP through Django, WebSockets through Channels behind an origin check and auth."""

import contextvars
import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edu.settings")
# Django must be set up before the routing imports consumers (and through them, models).
django.setup(set_prefix=False)

from edu.handlers import SynchronousASGIHandler, skip_twisted_form_parsing  # noqa: E402

skip_twisted_form_parsing()  # daphne's requests leave POST bodies to Django (edu/handlers.py)
django_asgi_app = SynchronousASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from edu.routing import websocket_urlpatterns as core_routes  # noqa: E402
from quizzes.routing import websocket_urlpatterns as live_routes  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(core_routes + live_routes))),
    }
)


def _populate_url_resolver() -> None:
    """Build the URL resolver's reverse lookups now, for every language, rather than at the first reverse():
    Django guards its building only within a thread, so under the first burst of requests every request
    thread built them at once (a submission's reverse() took a tenth of the server's time in the first
    seconds after a start, bench/quiz_answers.py).

    The building runs in a context of its own. Each resolver marks itself as populating in a context-local
    (asgiref.local.Local), and translation.override leaves its own behind: set in the process's main
    context, the 35 of them were copied into every request's context, and asgiref moves each one to the
    thread at every crossing between the event loop and a request's thread, a sixth of the CPU of a bare
    GET on daphne (py-spy)."""
    contextvars.copy_context().run(_build_reverse_lookups)


def _build_reverse_lookups() -> None:
    from django.conf import settings
    from django.urls import get_resolver
    from django.utils import translation

    resolver = get_resolver()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            resolver.reverse_dict  # noqa: B018 - built on first access, for the active language


_populate_url_resolver()

# What starting made (modules, URL patterns, settings, …) lives as long as the process: frozen out of the
# collector's reach, so that a full collection no longer walks all of it. Without this, the request that
# happens to trigger one pays some 60 ms more (bench/dashboard.py: a county's figures table, p95 130 ms
# against a p50 of 50).
gc.collect()
gc.freeze()
