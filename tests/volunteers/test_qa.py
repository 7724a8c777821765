"""Bugs found by exploratory testing of the volunteer pages (qa2): each test failed before its fix."""

import pytest

from tests.volunteers.test_views_organiser import MANAGE, backfill_data, create_data
from volunteers.models import Activity, HourRecord

FAR_DATES = [("0001-01-01T00:00", "0001-01-01T01:00"), ("9999-12-31T22:00", "9999-12-31T23:59")]


@pytest.mark.parametrize(("start", "end"), FAR_DATES)
def test_backfill_with_a_year_out_of_range_is_a_form_error(vworld, login, start, end):
    response = login(vworld.organiser).post(
        f"{MANAGE}/hours/new/", backfill_data(vworld, started_at=start, ended_at=end)
    )
    assert response.status_code == 200
    assert "started_at" in response.context["form"].errors
    assert not HourRecord.objects.exists()


@pytest.mark.parametrize(("start", "end"), FAR_DATES)
def test_shift_with_a_year_out_of_range_is_a_form_error(vworld, login, start, end):
    before = Activity.objects.count()
    response = login(vworld.organiser).post(
        f"{MANAGE}/activities/new/",
        create_data(vworld, **{"shifts-0-starts_at": start, "shifts-0-ends_at": end}),
    )
    assert response.status_code == 200
    assert Activity.objects.count() == before


@pytest.mark.parametrize(("start", "end"), FAR_DATES)
def test_signup_window_with_a_year_out_of_range_is_a_form_error(vworld, login, start, end):
    response = login(vworld.organiser).post(
        f"{MANAGE}/activities/new/",
        create_data(vworld, signup_opens_at=start, signup_closes_at=end),
    )
    assert response.status_code == 200
    assert "signup_opens_at" in response.context["form"].errors


def test_hour_queue_filter_with_a_year_out_of_range_is_not_a_server_error(vworld, login):
    client = login(vworld.organiser)
    query = {"date_from": "0001-01-01", "date_to": "0001-01-02"}
    assert client.get(f"{MANAGE}/hours/", query).status_code == 200
    assert client.get(f"{MANAGE}/hours/export/", query).status_code < 500


@pytest.mark.parametrize("value", [str(10**30), "²", "١٢"])
def test_approve_ignores_ids_that_are_not_record_ids(vworld, login, value):
    response = login(vworld.organiser).post(f"{MANAGE}/hours/approve/", {"records": [value]})
    assert response.status_code == 302


def test_the_sections_address_leads_to_the_activities(client, db):
    response = client.get("/volunteers/")
    assert response.status_code == 302 and response["Location"] == "/volunteers/activities/"
