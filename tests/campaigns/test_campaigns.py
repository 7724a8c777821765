"""Campaigns: public list and detail, drafts for their editors, editing limited to the organiser's region."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from campaigns.models import Campaign
from tests import factories


def form_data(world, **fields):
    return {
        "title": "禁毒知识进校园",
        "kind": "other",
        "region": world.county_a.pk,
        "starts_on": "2026-11-01",
        "ends_on": "2026-12-01",
        "description": "宣传活动",
        "is_published": "on",
        **fields,
    }


def jpeg_bytes(size=(1200, 800)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def test_published_campaigns_are_public(world, login):
    campaign = factories.campaign(region=world.county_a, title="岳麓区6·26宣传")
    for persona in (None, world.student, world.organiser_b):
        client = login(persona)
        assert "岳麓区6·26宣传" in client.get("/campaigns/").content.decode()
        assert client.get(f"/campaigns/{campaign.pk}/").status_code == 200


def test_drafts_only_for_their_editors(world, login):
    draft = factories.campaign(region=world.county_a, title="草稿活动", is_published=False)
    assert login(world.organiser_a).get(f"/campaigns/{draft.pk}/").status_code == 200
    assert login(world.organiser_province).get(f"/campaigns/{draft.pk}/").status_code == 200
    for outsider in (None, world.organiser_b, world.teacher_a, world.student):
        client = login(outsider)
        assert client.get(f"/campaigns/{draft.pk}/").status_code == 404
        assert "草稿活动" not in client.get("/campaigns/").content.decode()


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("guest", 302),
        ("student", 403),
        ("teacher_a", 403),
        ("volunteer", 403),
        ("organiser_b", 403),
        ("organiser_a", 200),
        ("organiser_province", 200),
        ("admin", 200),
    ],
)
def test_edit_gate(world, login, persona, expected):
    campaign = factories.campaign(region=world.county_a)
    client = login(None if persona == "guest" else getattr(world, persona))
    assert client.get(f"/campaigns/{campaign.pk}/edit/").status_code == expected
    client.post(f"/campaigns/{campaign.pk}/edit/", form_data(world, title="改过的标题"))
    campaign.refresh_from_db()
    assert (campaign.title == "改过的标题") == (expected == 200)


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("guest", 302), ("student", 403), ("teacher_a", 403), ("volunteer", 403), ("organiser_a", 200)],
)
def test_create_gate(world, login, persona, expected):
    client = login(None if persona == "guest" else getattr(world, persona))
    assert client.get("/campaigns/new/").status_code == expected


def test_organiser_creates_in_own_region_and_becomes_organiser(world, login):
    client = login(world.organiser_a)
    response = client.post("/campaigns/new/", form_data(world))
    campaign = Campaign.objects.get(title="禁毒知识进校园")
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.region == world.county_a and campaign.created_by == world.organiser_a
    assert list(campaign.organisers.all()) == [world.organiser_a]


def test_organiser_cannot_create_in_another_region(world, login):
    response = login(world.organiser_a).post("/campaigns/new/", form_data(world, region=world.county_b.pk))
    assert response.status_code == 200
    assert not Campaign.objects.exists()
    assert "region" in response.context["form"].errors
    # Nor move their campaign up to the province.
    campaign = factories.campaign(region=world.county_a)
    login(world.organiser_a).post(
        f"/campaigns/{campaign.pk}/edit/", form_data(world, region=world.province.pk)
    )
    campaign.refresh_from_db()
    assert campaign.region == world.county_a


def test_end_before_start_is_a_clear_error(world, login):
    response = login(world.organiser_a).post(
        "/campaigns/new/", form_data(world, starts_on="2026-12-01", ends_on="2026-11-01")
    )
    assert response.status_code == 200 and "ends_on" in response.context["form"].errors
    assert not Campaign.objects.exists()


def test_cover_is_re_encoded(world, login):
    upload = SimpleUploadedFile("秘密 位置.jpg", jpeg_bytes((3000, 2000)), content_type="image/jpeg")
    login(world.organiser_a).post("/campaigns/new/", {**form_data(world), "cover": upload})
    campaign = Campaign.objects.get()
    assert campaign.cover.name.startswith("campaigns/covers/") and "秘密" not in campaign.cover.name
    with Image.open(campaign.cover.path) as stored:
        assert max(stored.size) == 1600 and stored.format == "JPEG"
        assert not stored.getexif()


def test_a_non_image_cover_is_refused(world, login):
    upload = SimpleUploadedFile("cover.jpg", b"<script>alert(1)</script>", content_type="image/jpeg")
    response = login(world.organiser_a).post("/campaigns/new/", {**form_data(world), "cover": upload})
    assert response.status_code == 200 and "cover" in response.context["form"].errors
    assert not Campaign.objects.exists()


def test_list_filters(world, client):
    today = dt.date.today()
    factories.campaign(
        region=world.province,
        title="过去的",
        starts_on=today - dt.timedelta(days=90),
        ends_on=today - dt.timedelta(days=60),
    )
    factories.campaign(region=world.province, title="进行中的", kind="day_626")
    page = client.get("/campaigns/", {"when": "past"}).content.decode()
    assert "过去的" in page and "进行中的" not in page
    page = client.get("/campaigns/", {"kind": "day_626"}).content.decode()
    assert "进行中的" in page and "过去的" not in page


def test_home_shows_campaigns_that_reach_the_user(world, login):
    factories.campaign(region=world.province, title="全省活动")
    factories.campaign(region=world.county_b, title="开福区活动")
    home = login(world.student).get("/").content.decode()  # a student of county A
    assert "全省活动" in home and "开福区活动" not in home
    home = login(world.organiser_province).get("/").content.decode()
    assert "全省活动" in home and "开福区活动" in home


def test_campaign_list_query_budget(world, client, django_assert_max_num_queries):
    for _ in range(20):
        factories.campaign(region=world.county_a)
    with django_assert_max_num_queries(6):
        assert client.get("/campaigns/").status_code == 200
