"""The site's URLs plus two bare views, the ceiling the real views are measured against.

Both go through the whole middleware stack (sessions, locale, CSRF, auth, ...) and touch no database:
`GET /bench/bare/` answers "ok"; `POST /bench/bare-post/` parses the same form body as an answer and
answers "ok" (CSRF-exempt, so it measures the request path rather than the token check).
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from edu.urls import urlpatterns as site_urlpatterns


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@csrf_exempt
def bare_post(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok" if "position" in request.POST else "no position")


urlpatterns = [
    path("bench/bare/", bare, name="bench_bare"),
    path("bench/bare-post/", bare_post, name="bench_bare_post"),
    *site_urlpatterns,
]
