"""The site's URLs plus two bare views, the ceiling the real views are measured against.

Both go through the whole middleware stack (sessions, locale, CSRF, auth, ...) and touch no database:
`GET /bench/bare/` answers "ok"; `POST /bench/bare-post/` parses the same form body as an answer and
answers "ok" (CSRF-exempt, so it measures the request path rather than the token check);
`POST /bench/bare-auth/` is a signed-in POST that does nothing of its own: the session, the user and the
CSRF check that the answer endpoint pays too.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from edu.urls import urlpatterns as site_urlpatterns


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@csrf_exempt
def bare_post(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok" if "position" in request.POST else "no position")


@login_required
@require_POST
def bare_auth(request: HttpRequest) -> JsonResponse:
    """What every signed-in POST pays before its own work: session, user, CSRF check; no other query."""
    return JsonResponse({"ok": True, "user": request.user.pk})


urlpatterns = [
    path("bench/bare/", bare, name="bench_bare"),
    path("bench/bare-auth/", bare_auth, name="bench_bare_auth"),
    path("bench/bare-post/", bare_post, name="bench_bare_post"),
    *site_urlpatterns,
]
