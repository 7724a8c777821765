"""The statistics pages: who sees what (a test per role and page), the figures they show, exports, and a
query budget per page."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from quizzes.models import Attempt, Quiz
from stats import rollups
from tests import factories
from tests.volunteers.conftest import local_at


@pytest.fixture
def data(world):
    """Attempts in both counties this week and last week, then the rollups rebuilt."""
    today = timezone.localdate()
    quiz = Quiz.objects.create(
        title="练习", access="school", target_school=world.school_a, owner_school=world.school_a
    )
    for school, class_, scores in (
        (world.school_a, world.class_a, [8, 6, 10]),
        (world.school_b, world.class_b, [4]),
    ):
        for score in scores:
            Attempt.objects.create(
                quiz=quiz,
                user=None,
                guest_key=f"{school.code}{score}",
                school=school,
                school_class=class_,
                started_at=local_at(today, 0),
                submitted_at=local_at(today, 0, 30),
                score=Decimal(score),
                max_score=Decimal(10),
                passed=score >= 6,
            )
    Attempt.objects.create(
        quiz=quiz,
        guest_key="lastweek",
        school=world.school_a,
        school_class=world.class_a,
        started_at=local_at(today - dt.timedelta(days=7), 0),
        submitted_at=local_at(today - dt.timedelta(days=7), 0, 30),
        score=Decimal(5),
        max_score=Decimal(10),
        passed=False,
    )
    rollups.rebuild(start=today - dt.timedelta(days=40), end=today)
    return world


PAGES = {
    "dashboard": lambda w: reverse("stats_dashboard"),
    "city": lambda w: reverse("stats_region", args=[w.city.pk]),
    "county_a": lambda w: reverse("stats_region", args=[w.county_a.pk]),
    "county_b": lambda w: reverse("stats_region", args=[w.county_b.pk]),
    "school_a": lambda w: reverse("stats_school", args=[w.school_a.code]),
    "school_b": lambda w: reverse("stats_school", args=[w.school_b.code]),
    "weekly": lambda w: reverse("stats_weekly"),
    "weekly_b": lambda w: reverse("stats_weekly") + f"?region={w.county_b.pk}",
    "weekly_school_b": lambda w: reverse("stats_weekly") + f"?school={w.school_b.code}",
}

# Who may open what: 200, 302 (sent on to their own page), 403 or 404.
EXPECTED = {
    "organiser_province": dict.fromkeys(PAGES, 200),
    "admin": dict.fromkeys(PAGES, 200),
    "organiser_a": {
        "dashboard": 200,
        "city": 404,
        "county_a": 200,
        "county_b": 404,
        "school_a": 200,
        "school_b": 404,
        "weekly": 200,
        "weekly_b": 404,
        "weekly_school_b": 404,
    },
    "teacher_a": {
        "dashboard": 302,
        "city": 403,
        "county_a": 403,
        "county_b": 403,
        "school_a": 200,
        "school_b": 404,
        "weekly": 200,
        "weekly_b": 200,
        "weekly_school_b": 404,
    },
    "student": dict.fromkeys(PAGES, 403),
    "volunteer": dict.fromkeys(PAGES, 403),
}


@pytest.mark.parametrize("persona", list(EXPECTED))
def test_each_role_sees_only_its_own_region_or_school(data, login, persona):
    client = login(getattr(data, persona))
    for page, url in PAGES.items():
        response = client.get(url(data))
        assert response.status_code == EXPECTED[persona][page], (persona, page)


def test_a_guest_is_sent_to_sign_in(data, login):
    for url in PAGES.values():
        response = login(None).get(url(data))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_dashboard_shows_the_periods_figures_and_the_change(data, login):
    response = login(data.organiser_province).get(reverse("stats_dashboard"), {"period": "week"})
    cards = {card.key: card for card in response.context["cards"]}
    attempts = cards["attempts"]
    assert attempts.value == "4"
    # Last week's same days: 1 attempt (if today's weekday is reached last week too).
    assert attempts.direction == "up"
    assert cards["average_score"].value == "70.0%"  # (80 + 60 + 100 + 40) / 4
    assert cards["pass_rate"].value == "75.0%"
    assert cards["schools"].value == "2"
    rows = response.context["rows"]
    assert [row.label for row in rows] == ["长沙市"]


def test_a_county_lists_its_schools_and_exports_them(data, login):
    client = login(data.organiser_a)
    url = reverse("stats_region", args=[data.county_a.pk])
    response = client.get(url)
    assert [row.label for row in response.context["rows"]] == ["岳麓中学"]
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(url, {"format": "xlsx"}).content))
    sheet = list(workbook.active.values)
    assert sheet[1][0] == "岳麓中学" and sheet[1][2] == 3
    text = client.get(url, {"format": "csv"}).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][0] == "岳麓中学" and rows[1][2] == "3"


def test_bad_query_strings_never_fail(data, login):
    client = login(data.organiser_province)
    for query in (
        {"period": "year"},
        {"on": "2026-13-40"},
        {"on": "9999-01-01"},
        {"order": "-nope"},
        {"region": "x"},
    ):
        assert client.get(reverse("stats_dashboard"), query).status_code == 200
        assert client.get(reverse("stats_weekly"), query).status_code == 200
    assert client.get(reverse("stats_region", args=[99999999999999999999])).status_code == 404
    assert client.get(reverse("stats_school", args=["NOPE"])).status_code == 404


@pytest.mark.parametrize("page", ["dashboard", "city", "county_a", "school_a", "weekly"])
def test_query_budget(data, login, django_assert_max_num_queries, page):
    client = login(data.organiser_province)
    client.get(PAGES[page](data))  # warm the session
    with django_assert_max_num_queries(16):
        assert client.get(PAGES[page](data)).status_code == 200


def test_query_counts_do_not_grow_with_schools_or_regions(data, login):
    """Every page reads sums and counts: the number of queries is the same with one school or twenty."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(data.organiser_province)
    pages = [PAGES[name](data) for name in ("dashboard", "city", "county_a", "weekly")]

    def counts():
        result = []
        for url in pages:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            result.append(len(queries))
        return result

    client.get(pages[0])
    before = counts()
    for n in range(20):
        county = factories.region(code=f"4301{50 + n}", name=f"新区{n}", level=3, parent=data.city)
        factories.school(region=data.county_a if n % 2 else county, code=f"SX{n:03d}", name=f"新学校{n}")
    assert counts() == before


def test_schools_placed_on_a_city_itself_have_their_own_row(data, login):
    """A school directly under the city (not in a county) is counted in a row of its own, which lists it."""
    today = timezone.localdate()
    school = factories.school(region=data.city, code="SC001", name="市直属中学")
    quiz = Quiz.objects.create(title="市测验", access="school", target_school=school, owner_school=school)
    Attempt.objects.create(
        quiz=quiz,
        guest_key="city",
        school=school,
        started_at=local_at(today, 0),
        submitted_at=local_at(today, 0, 30),
        score=Decimal(9),
        max_score=Decimal(10),
        passed=True,
    )
    rollups.rebuild(start=today, end=today)
    client = login(data.organiser_province)
    response = client.get(reverse("stats_region", args=[data.city.pk]))
    [direct] = [row for row in response.context["rows"] if "directly=1" in row.link]
    assert "长沙市" in direct.label
    assert direct.cells[0]["value"] == 1 and direct.cells[3]["value"] == 1  # taking part, attempts
    listed = client.get(direct.link)
    assert [row.label for row in listed.context["rows"]] == ["市直属中学"]
    # The counties' rows do not count it.
    assert sum(row.cells[3]["value"] for row in response.context["rows"]) == 5


def test_a_schools_export_holds_the_figures_as_numbers(data, login):
    """This period, the same days of the previous one and the change, as numbers (a spreadsheet sums them)."""
    client = login(data.teacher_a)
    url = reverse("stats_school", args=[data.school_a.code])
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(url, {"format": "xlsx"}).content))
    rows = list(workbook.active.values)
    assert len(rows[0]) == 4
    attempts = next(row for row in rows if row[0] in ("Quiz attempts", "答题人次"))
    assert attempts[1:] == (3, 0, 3) or attempts[1] == 3
    text = client.get(url, {"format": "csv"}).content.decode("utf-8-sig")
    assert "'+" not in text


def test_the_monthly_chart_rounds_hours_as_the_card_does():
    """3 minutes are 0.05 h: the card and the chart both show 0.1 (half up, not half to even)."""
    from stats.selectors import Figures, monthly_hours, period_for

    period = period_for(kind="month", on=dt.date(2026, 11, 15), today=dt.date(2026, 11, 22))
    chart = monthly_hours(period=period, series={dt.date(2026, 11, 3): (0, 0, 3)})
    assert (
        chart[-1]
        == (dt.date(2026, 11, 1), Figures(volunteer_minutes=3).hours)
        == (dt.date(2026, 11, 1), Decimal("0.1"))
    )
    assert [start for start, _ in chart][:2] == [dt.date(2025, 12, 1), dt.date(2026, 1, 1)] and len(
        chart
    ) == 12
