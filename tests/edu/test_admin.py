"""Django admin: every model has a working changelist with search; only staff get in."""

import pytest

PAGES = ["edu/region", "edu/school", "edu/schoolclass", "edu/user", "campaigns/campaign"]


@pytest.mark.parametrize("page", PAGES)
def test_changelists_with_search(world, login, page):
    client = login(world.admin)
    assert client.get(f"/admin/{page}/").status_code == 200
    assert client.get(f"/admin/{page}/", {"q": "岳麓"}).status_code == 200
    assert client.get(f"/admin/{page}/add/").status_code == 200


@pytest.mark.parametrize("persona", ["organiser_province", "teacher_a", "student"])
def test_admin_is_for_staff_only(world, login, persona):
    response = login(getattr(world, persona)).get("/admin/edu/user/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
