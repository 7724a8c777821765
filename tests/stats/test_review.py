"""An adversarial review of the statistics (issue #7): bad input, scope leaks, and rollups that disagree with
a direct count in edge cases (a corrected hour record, a re-issued claim code, a school moved to another
region)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from quizzes.models import Attempt, Quiz
from stats import rollups
from tests.volunteers.conftest import local_at


@pytest.fixture
def data(world):
    today = timezone.localdate()
    quiz = Quiz.objects.create(
        title="练习", access="school", target_school=world.school_a, owner_school=world.school_a
    )
    for school, class_ in ((world.school_a, world.class_a), (world.school_b, world.class_b)):
        Attempt.objects.create(
            quiz=quiz,
            guest_key=f"{school.code}",
            school=school,
            school_class=class_,
            started_at=local_at(today, 0),
            submitted_at=local_at(today, 0, 30),
            score=Decimal(7),
            max_score=Decimal(10),
            passed=True,
        )
    rollups.rebuild(start=today - dt.timedelta(days=40), end=today)
    return world


BAD_VALUES = [
    "",
    "9" * 40,
    "-1",
    "0",
    "２０２６-１１-２２",
    "2026-02-30",
    "2026-13-01",
    "0001-01-01",
    "9999-12-31",
    "2026W471",
    "20261122",
    "2026-11-22T00:00",
    "🙂",
    "\x00",
    "%00",
    "' OR 1=1 --",
    "<script>",
    "-",
    "--name",
    "name",
    "-school_rate",
]
PARAMS = ["period", "on", "order", "format", "region", "school"]


@pytest.mark.parametrize("user", ["organiser_province", "organiser_a", "teacher_a", "admin"])
def test_bad_query_strings_never_fail(data, login, user):
    client = login(getattr(data, user))
    paths = [
        reverse("stats_dashboard"),
        reverse("stats_region", args=[data.county_a.pk]),
        reverse("stats_school", args=[data.school_a.code]),
        reverse("stats_weekly"),
    ]
    failures = []
    for path in paths:
        for name in PARAMS:
            for value in BAD_VALUES:
                for query in ({name: value}, {name: [value, value]}):
                    response = client.get(path, query)
                    if response.status_code >= 500:
                        failures.append((path, name, value))
    assert failures == []


@pytest.mark.parametrize(
    "path",
    [
        "/stats/regions/99999999999999999999999/",
        "/stats/regions/9223372036854775808/",
        "/stats/schools/%F0%9F%99%82/",
        "/stats/schools/" + "x" * 300 + "/",
        "/stats/surveys/campaign/99999999999999999999999/",
        "/stats/surveys/campaign/1/regions/99999999999999999999999/",
        "/stats/surveys/campaign/99999999999999999999999/schools/SA001/",
    ],
)
@pytest.mark.parametrize("user", ["organiser_province", "teacher_a", "admin"])
def test_huge_and_odd_path_values_are_not_found(data, login, user, path):
    assert login(getattr(data, user)).get(path).status_code in (302, 403, 404)
