"""Shared fixtures: the personas every gate is tested with, and helpers to sign them in."""

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from hypothesis import settings as hypothesis_settings

from edu.models import Region, School, SchoolClass, User
from tests import factories

# CI runs the property tests on a fixed seed, so that a run is repeatable; a developer's runs explore new
# cases.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def pytest_configure(config):
    # The SQLite test database and the browser tests' screenshots live here; a fresh clone lacks it.
    (Path(__file__).resolve().parents[1] / "test-artifacts").mkdir(exist_ok=True)


@pytest.fixture(autouse=True)
def _fast_tests(settings):
    # Real password hashing costs ~0.3 s per user; tests check behaviour, not the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The statistics follow each event at once, in its own transaction's commit: tests read them right
    # after (tests/stats/test_deferred.py covers the refresh a moment later that the site uses).
    settings.STATS_REFRESH_DELAY = 0


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate-limit counters live in the cache (Redis in CI's second run): no test may inherit another's.
    cache.clear()
    yield
    cache.clear()


@dataclass
class World:
    """Province → city → counties A and B; a school with a class in each county; one persona per role."""

    province: Region
    city: Region
    county_a: Region
    county_b: Region
    school_a: School
    school_b: School
    class_a: SchoolClass
    class_b: SchoolClass
    student: User
    teacher_a: User
    teacher_b: User
    organiser_a: User
    organiser_b: User
    organiser_province: User
    volunteer: User
    admin: User


@pytest.fixture
def world(db) -> World:
    province = factories.region(code="430000", name="湖南省", name_en="Hunan Province", level=1)
    city = factories.region(code="430100", name="长沙市", name_en="Changsha", level=2, parent=province)
    county_a = factories.region(code="430104", name="岳麓区", name_en="Yuelu District", level=3, parent=city)
    county_b = factories.region(code="430105", name="开福区", name_en="Kaifu District", level=3, parent=city)
    school_a = factories.school(region=county_a, code="SA001", name="岳麓中学", name_en="Yuelu Middle School")
    school_b = factories.school(region=county_b, code="SB001", name="开福中学", name_en="Kaifu Middle School")
    class_a = factories.school_class(school=school_a, grade=7, name="1班")
    class_b = factories.school_class(school=school_b, grade=7, name="1班")
    return World(
        province=province,
        city=city,
        county_a=county_a,
        county_b=county_b,
        school_a=school_a,
        school_b=school_b,
        class_a=class_a,
        class_b=class_b,
        student=factories.user(username="student", is_student=True, school_class=class_a, nickname="小晴"),
        teacher_a=factories.user(
            username="teacher_a", is_teacher=True, is_school_admin=True, school=school_a
        ),
        teacher_b=factories.user(username="teacher_b", is_teacher=True, school=school_b),
        organiser_a=factories.user(username="organiser_a", is_organiser=True, region=county_a),
        organiser_b=factories.user(username="organiser_b", is_organiser=True, region=county_b),
        organiser_province=factories.user(username="organiser_p", is_organiser=True, region=province),
        volunteer=factories.user(username="volunteer", is_volunteer=True),
        admin=factories.user(username="admin", is_staff=True, is_superuser=True),
    )


@pytest.fixture
def login():
    """login(user) → a test client signed in as that user (None → a guest)."""

    def signed_in(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return signed_in
