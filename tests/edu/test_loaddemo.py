"""loaddemo: believable, idempotent, and refused on a production site."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from campaigns.models import Campaign
from edu.models import Region, School, SchoolClass, User


@pytest.fixture(autouse=True)
def _debug(settings):
    settings.DEBUG = True  # pytest-django runs with DEBUG off, where loaddemo refuses


@pytest.mark.django_db
def test_demo_is_idempotent():
    call_command("loaddemo", stdout=None)
    counts = [
        Region.objects.count(),
        School.objects.count(),
        SchoolClass.objects.count(),
        User.objects.count(),
        Campaign.objects.count(),
    ]
    call_command("loaddemo")
    assert counts == [
        Region.objects.count(),
        School.objects.count(),
        SchoolClass.objects.count(),
        User.objects.count(),
        Campaign.objects.count(),
    ]
    assert 25 <= counts[1] <= 40
    assert Region.objects.filter(level=1).count() == 1
    assert Campaign.objects.filter(ends_on__gte=timezone.localdate()).exists()


@pytest.mark.django_db
def test_demo_accounts_sign_in(client):
    call_command("loaddemo")
    for username in (
        "admin",
        "province",
        "changsha",
        "yuelu",
        "kaifu",
        "teacher",
        "teacher2",
        "student",
        "volunteer",
    ):
        assert client.login(username=username, password="qingkong-demo"), username
        assert client.get("/").status_code == 200
        client.logout()


@pytest.mark.django_db
def test_refused_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("loaddemo")
