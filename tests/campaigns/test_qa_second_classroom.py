"""Exploratory testing of the term pages: a campaign number beyond any id is not found, never a 500."""

import pytest

from tests import factories

TOO_BIG = "99999999999999999999999"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", f"/campaigns/{TOO_BIG}/term/"),
        ("get", f"/campaigns/{TOO_BIG}/term/lessons/"),
        ("get", f"/campaigns/{TOO_BIG}/term/lessons/new/?grade=7"),
        ("get", f"/campaigns/{TOO_BIG}/term/figures/"),
        ("get", f"/campaigns/{TOO_BIG}/term/figures/below-targets/"),
        ("post", f"/campaigns/{TOO_BIG}/term/enroll/"),
        ("post", f"/campaigns/{TOO_BIG}/term/exams/7/"),
    ],
)
def test_a_campaign_number_beyond_any_id_is_not_found(world, login, method, url):
    factories.term(region=world.province)
    response = getattr(login(world.organiser_province), method)(url)
    assert response.status_code == 404
