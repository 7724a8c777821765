"""edu.middleware.SynchronousStackMiddleware: under ASGI the middleware run synchronously, in one thread."""

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient
from django.utils.deprecation import MiddlewareMixin


def test_it_is_the_innermost_middleware():
    assert settings.MIDDLEWARE[-1] == "edu.middleware.SynchronousStackMiddleware"


@pytest.mark.django_db(transaction=True)
def test_an_asgi_request_runs_no_middleware_asynchronously(monkeypatch):
    run_async = []
    original = MiddlewareMixin.__acall__

    async def recording(self, request):
        run_async.append(type(self).__name__)
        return await original(self, request)

    monkeypatch.setattr(MiddlewareMixin, "__acall__", recording)
    response = async_to_sync(AsyncClient().get)("/accounts/login/")
    assert response.status_code == 200
    assert run_async == []
    # Without it, Django's own middleware would each run as a coroutine, hopping to a thread per hook.
    monkeypatch.setattr(settings, "MIDDLEWARE", settings.MIDDLEWARE[:-1])
    async_to_sync(AsyncClient().get)("/accounts/login/")
    assert "SessionMiddleware" in run_async


@pytest.mark.parametrize(
    "url",
    ["/stats/schools/%00/", "/schools/SA%00/", "/stats/weekly/?school=%00", "/campaigns/?q=a%00b"],
)
def test_a_nul_character_is_a_bad_request(world, login, url):
    """On PostgreSQL a NUL in a lookup would be a DataError (500): every page refuses it first."""
    response = login(world.organiser_province).get(url)
    assert response.status_code == 400
