"""The region tree: materialized paths make "everything under my region" one indexed query."""

import pytest
from django.db import IntegrityError
from django.utils import timezone

from edu.models import Region, School
from edu.selectors import ancestor_paths
from tests import factories


def test_paths_follow_the_tree(world):
    assert world.province.path == "430000/"
    assert world.county_a.path == "430000/430100/430104/"
    assert world.school_a.region_path == world.county_a.path


def test_subtree_is_one_query(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        codes = sorted(Region.objects.filter(path__startswith=world.city.path).values_list("code", flat=True))
    assert codes == ["430100", "430104", "430105"]
    with django_assert_num_queries(1):
        schools = set(
            School.objects.filter(region_path__startswith=world.province.path).values_list("code", flat=True)
        )
    assert schools == {"SA001", "SB001"}
    assert list(School.objects.filter(region_path__startswith=world.county_b.path)) == [world.school_b]


def test_sibling_codes_do_not_leak_into_each_other(db):
    # "4301/" must not match "43011/": the trailing slash closes each code.
    province = factories.region(code="43", level=1)
    first = factories.region(code="4301", level=2, parent=province)
    factories.region(code="43011", level=2, parent=province)
    assert list(Region.objects.filter(path__startswith=first.path)) == [first]


def test_moving_a_region_moves_its_subtree_and_schools(world):
    other_city = factories.region(code="430200", name="株洲市", level=2, parent=world.province)
    world.county_b.parent = other_city
    world.county_b.save()
    world.school_b.refresh_from_db()
    assert world.school_b.region_path == "430000/430200/430105/"
    assert world.school_a.region_path == "430000/430100/430104/"


def test_moving_a_region_moves_every_copy_of_its_path(world):
    """Volunteers, term figures and statistics keep region paths for prefix queries: they move too."""
    import datetime as dt

    from django.apps import apps

    from stats.models import RegionDay
    from tests.volunteers.conftest import make_profile

    volunteer = make_profile(region=world.county_b)
    RegionDay.objects.create(
        day=dt.date(2026, 11, 2),
        region=world.county_b,
        region_path=world.county_b.path,
        attempts=3,
        refreshed_at=timezone.now(),
    )
    kept = {model for model in apps.get_models() if any(f.name == "region_path" for f in model._meta.fields)}
    assert {"School", "VolunteerProfile", "SchoolTermFigures", "RegionDay", "ActiveMark"} <= {
        model.__name__ for model in kept
    }
    other_city = factories.region(code="430200", name="株洲市", level=2, parent=world.province)
    world.county_b.parent = other_city
    world.county_b.save()
    volunteer.refresh_from_db()
    assert volunteer.region_path == "430000/430200/430105/"
    assert RegionDay.objects.get().region_path == "430000/430200/430105/"


def test_only_provinces_are_roots(db):
    with pytest.raises(IntegrityError):
        Region.objects.create(code="999999", name="孤岛", level=3)


def test_ancestor_paths():
    assert ancestor_paths("430000/430100/430104/") == ["430000/", "430000/430100/", "430000/430100/430104/"]
    assert ancestor_paths("") == []


def test_names_follow_the_language(world):
    from django.utils import translation

    with translation.override("en"):
        assert world.county_a.display_name == "Yuelu District"
        assert world.class_a.label == "Grade 7, Class 1"
    with translation.override("zh-hans"):
        assert world.county_a.display_name == "岳麓区"
        assert world.class_a.label == "七年级1班"
