"""A term's figures: rollups agree with a direct count, concurrent refreshes, the report pages and their
gates, sort orders and the Excel exports."""

import csv
import io
import random
import threading
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone

from campaigns import figures
from campaigns.models import Enrollment, SchoolTermFigures, StudentProgress
from edu.models import Student
from tests import factories

pytestmark = pytest.mark.django_db


def progress_for(term, student: Student, rng: random.Random, **fields) -> StudentProgress:
    user = student.user
    klass = user.school_class
    registered = fields.pop("registered", rng.random() < 0.8)
    done = rng.randint(0, 4) if registered else 0
    score = fields.pop("score", Decimal(rng.choice([40, 55, 60, 75, 90, 95, 100])) if done == 4 else None)
    return StudentProgress.objects.create(
        term=term,
        user=user,
        school=klass.school,
        school_class=klass,
        region_path=klass.school.region_path,
        grade=klass.grade,
        registered=registered,
        lessons_done=done,
        lessons_total=4,
        completed_all=done == 4,
        exam_score=score,
        exam_passed=score is not None and score >= 60,
        exam_full_marks=score == 100,
        exam_excellent=score is not None and score >= 90,
        **fields,
    )


@pytest.fixture
def term(world):
    term = factories.term(region=world.city, grades=(7, 8), target_registration_pct=90)
    now = timezone.now()
    for school in (world.school_a, world.school_b):
        Enrollment.objects.create(term=term, school=school, status=Enrollment.Status.ENROLLED, invited_at=now)
    return term


@pytest.fixture
def filled(world, term):
    """Three more schools, a few classes each, students with random progress; then the term refreshed."""
    rng = random.Random(7)
    schools = [world.school_a, world.school_b]
    for n in range(3):
        county = (world.county_a, world.county_b)[n % 2]
        school = factories.school(region=county, code=f"SX{n}", name=f"第{n + 1}中学")
        schools.append(school)
        Enrollment.objects.create(
            term=term, school=school, status=Enrollment.Status.ENROLLED, invited_at=timezone.now()
        )
    for school in schools:
        for grade in (7, 8, 9):
            klass = (
                world.class_a
                if school == world.school_a and grade == 7
                else world.class_b
                if school == world.school_b and grade == 7
                else factories.school_class(school=school, grade=grade, name=f"{grade}班")
            )
            for _ in range(rng.randint(0, 6)):
                student = factories.roster_student(school_class=klass)
                if grade in (7, 8) and rng.random() < 0.9:
                    progress_for(term, student, rng)
    # A school of the term's region enrolled with no roster: its classes' headcount counts.
    typed = factories.school(region=world.county_a, code="SH1", name="无名册小学")
    factories.school_class(school=typed, grade=7, name="1班", headcount=33)
    factories.school_class(school=typed, grade=9, name="1班", headcount=40)
    Enrollment.objects.create(
        term=term, school=typed, status=Enrollment.Status.ENROLLED, invited_at=timezone.now()
    )
    # Invited, not enrolled, no progress: not in the term's figures.
    invited = factories.school(region=world.county_b, code="SI1", name="受邀中学")
    Enrollment.objects.create(
        term=term, school=invited, status=Enrollment.Status.INVITED, invited_at=timezone.now()
    )
    assert figures.term_figures_refresh(term=term) == 6
    return term


def direct_counts(term, path_prefix: str) -> dict:
    rows = StudentProgress.objects.filter(term=term, region_path__startswith=path_prefix)
    return rows.aggregate(
        registered=Count("pk", filter=Q(registered=True)),
        participating=Count("pk", filter=Q(completed_all=True)),
        exam_taken=Count("exam_score"),
        exam_passed=Count("pk", filter=Q(exam_passed=True)),
        exam_full_marks=Count("pk", filter=Q(exam_full_marks=True)),
        exam_excellent=Count("pk", filter=Q(exam_excellent=True)),
        exam_score_sum=Sum("exam_score"),
    )


def test_rollups_agree_with_a_direct_count(world, filled):
    term = filled
    for school_figures in SchoolTermFigures.objects.filter(term=term):
        rows = StudentProgress.objects.filter(term=term, school=school_figures.school)
        expected = rows.aggregate(
            registered=Count("pk", filter=Q(registered=True)),
            participating=Count("pk", filter=Q(completed_all=True)),
            exam_taken=Count("exam_score"),
            exam_passed=Count("pk", filter=Q(exam_passed=True)),
        )
        for key, value in expected.items():
            assert getattr(school_figures, key) == value, (school_figures.school, key)
        roster = Student.objects.filter(
            school=school_figures.school, graduated_on__isnull=True, user__school_class__grade__in=[7, 8]
        ).count()
        if roster:
            assert school_figures.headcount == roster
    typed = SchoolTermFigures.objects.get(term=term, school__code="SH1")
    assert typed.headcount == 33  # grade 9 is not the term's
    assert not SchoolTermFigures.objects.filter(term=term, school__code="SI1").exists()

    for child in figures.figures_for_regions(term=term, parent_region=world.city):
        expected = direct_counts(term, child.region.path)
        assert child.registered == expected["registered"]
        assert child.participating == expected["participating"]
        assert child.exam_taken == expected["exam_taken"]
        assert child.exam_passed == expected["exam_passed"]
        assert child.exam_full_marks == expected["exam_full_marks"]
        assert child.exam_excellent == expected["exam_excellent"]
        assert child.exam_score_sum == (expected["exam_score_sum"] or 0)
        schools = SchoolTermFigures.objects.filter(term=term, region_path__startswith=child.region.path)
        assert child.schools == schools.count()
        assert child.participating_schools == schools.filter(participating__gt=0).count()
        assert child.headcount == sum(schools.values_list("headcount", flat=True))
    total = figures.figures_for_region(term=term, region=world.city)
    assert total.schools == 6
    assert total.participating == direct_counts(term, world.city.path)["participating"]


def test_refresh_after_a_change_and_a_withdrawal(world, filled):
    term = filled
    student = factories.roster_student(school_class=world.class_a)
    progress = progress_for(term, student, random.Random(1), registered=True)
    StudentProgress.objects.filter(pk=progress.pk).update(
        completed_all=True, lessons_done=4, exam_score=Decimal(100), exam_passed=True, exam_full_marks=True
    )
    before = SchoolTermFigures.objects.get(term=term, school=world.school_a)
    figures.school_figures_refresh(term=term, school=world.school_a)
    after = SchoolTermFigures.objects.get(term=term, school=world.school_a)
    assert after.headcount == before.headcount + 1
    assert after.exam_full_marks == before.exam_full_marks + 1
    # A school no longer enrolled and without progress leaves the figures.
    typed = SchoolTermFigures.objects.get(term=term, school__code="SH1").school
    Enrollment.objects.filter(term=term, school=typed).update(status=Enrollment.Status.DECLINED)
    figures.school_figures_refresh(term=term, school=typed)
    assert not SchoolTermFigures.objects.filter(term=term, school=typed).exists()


def test_an_older_refresh_never_overwrites_a_newer_one(world, term):
    now = timezone.now()
    figures.school_figures_refresh(term=term, school=world.school_a, now=now)
    student = factories.roster_student(school_class=world.class_a)
    progress_for(term, student, random.Random(2), registered=True)
    figures.school_figures_refresh(term=term, school=world.school_a, now=now - timezone.timedelta(seconds=5))
    assert SchoolTermFigures.objects.get(term=term, school=world.school_a).registered == 0
    figures.school_figures_refresh(term=term, school=world.school_a)
    assert SchoolTermFigures.objects.get(term=term, school=world.school_a).registered == 1


def test_participation_definitions(world, term):
    """A participating student completed every lesson; a participating school has one."""
    rng = random.Random(3)
    a = factories.roster_student(school_class=world.class_a)
    b = factories.roster_student(school_class=world.class_a)
    progress_for(term, a, rng, registered=True)
    StudentProgress.objects.filter(user=a.user).update(completed_all=True, lessons_done=4)
    progress_for(term, b, rng, registered=True)
    StudentProgress.objects.filter(user=b.user).update(completed_all=False, lessons_done=3, exam_score=None)
    figures.term_figures_refresh(term=term)
    rows = {row.region.pk: row for row in figures.figures_for_regions(term=term, parent_region=world.city)}
    county_a, county_b = rows[world.county_a.pk], rows[world.county_b.pk]
    assert (county_a.schools, county_a.participating_schools) == (1, 1)
    assert (county_a.headcount, county_a.participating) == (2, 1)
    assert county_a.student_participation_rate == Decimal("50.0")
    assert county_a.school_participation_rate == Decimal("100.0")
    # School B is enrolled but nobody took part: counted among the schools, not the participating ones.
    # Its class has no roster: the headcount typed in for the class counts.
    assert (county_b.schools, county_b.participating_schools) == (1, 0)
    assert county_b.headcount == world.class_b.headcount > 0
    assert county_b.school_participation_rate == Decimal("0.0")
    assert county_b.student_participation_rate == Decimal("0.0")
    assert county_b.pass_rate is None


def test_rates_are_decimals_from_counts():
    counts = figures.Counts(
        schools=3,
        participating_schools=2,
        headcount=7,
        registered=6,
        participating=3,
        exam_taken=3,
        exam_passed=2,
        exam_full_marks=1,
        exam_excellent=1,
        exam_score_sum=Decimal("250.5"),
    )
    assert counts.school_participation_rate == Decimal("66.7")
    assert counts.student_participation_rate == Decimal("42.9")
    assert counts.registration_rate == Decimal("85.7")
    assert counts.pass_rate == Decimal("66.7")
    assert counts.average_score == Decimal("83.5")
    assert figures.Counts().pass_rate is None


def test_refresh_command(filled):
    out = io.StringIO()
    call_command("refresh_term_figures", "--term", str(filled.campaign_id), stdout=out)
    assert out.getvalue().strip() == "6 schools refreshed"
    out = io.StringIO()
    call_command("refresh_term_figures", stdout=out)
    assert "6 schools refreshed" in out.getvalue()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_are_safe(world, term):
    """Eight threads refresh the same school and the whole term at once: one row per school, no error."""
    rng = random.Random(4)
    for _ in range(30):
        progress_for(term, factories.roster_student(school_class=world.class_a), rng)
    errors = []
    barrier = threading.Barrier(8)

    def refresh(n: int) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                if n % 2:
                    figures.term_figures_refresh(term=term)
                else:
                    figures.school_figures_refresh(term=term, school=world.school_a)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=refresh, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert SchoolTermFigures.objects.filter(term=term).count() == 2
    row = SchoolTermFigures.objects.get(term=term, school=world.school_a)
    assert row.registered == StudentProgress.objects.filter(term=term, registered=True).count()
    assert row.headcount == 30


# --- pages -------------------------------------------------------------------------------------------------


def region_url(term, region) -> str:
    return reverse("term_figures_region", args=[term.campaign_id, region.pk])


def school_url(term, school) -> str:
    return reverse("term_figures_school", args=[term.campaign_id, school.code])


def below_url(term, region=None) -> str:
    url = reverse("term_figures_below", args=[term.campaign_id])
    return f"{url}?region={region.pk}" if region is not None else url


def labels(response) -> list[str]:
    return [row.label for row in response.context["rows"]]


def test_the_province_organiser_sees_every_sub_region(world, filled, login):
    response = login(world.organiser_province).get(reverse("term_figures", args=[filled.campaign_id]))
    assert response.status_code == 200
    assert labels(response) == [world.county_a.display_name, world.county_b.display_name]
    assert response.context["total"].cells[1]["value"] == 6  # total schools
    assert region_url(filled, world.county_a) in response.content.decode()
    # Drill down: the county's schools, then a school's classes.
    county = login(world.organiser_province).get(region_url(filled, world.county_a))
    assert county.status_code == 200
    assert world.school_a.display_name in labels(county)
    assert world.school_b.display_name not in labels(county)
    school = login(world.organiser_province).get(school_url(filled, world.school_a))
    assert school.status_code == 200
    assert world.class_a.label in labels(school)


def test_a_county_organiser_sees_only_their_county(world, filled, login):
    client = login(world.organiser_a)
    root = client.get(reverse("term_figures", args=[filled.campaign_id]))
    assert root.status_code == 200
    assert root.context["region"] == world.county_a
    assert world.school_b.display_name not in labels(root)
    assert client.get(region_url(filled, world.county_b)).status_code == 404
    assert client.get(region_url(filled, world.city)).status_code == 404
    assert client.get(school_url(filled, world.school_b)).status_code == 404
    assert client.get(below_url(filled, world.county_b)).status_code == 404
    assert client.get(region_url(filled, world.county_b) + "?format=xlsx").status_code == 404
    below = client.get(below_url(filled))
    assert below.status_code == 200
    assert all(school.region_path.startswith(world.county_a.path) for school in below.context["page"])


def test_a_teacher_sees_only_their_school(world, filled, login):
    client = login(world.teacher_a)
    root = client.get(reverse("term_figures", args=[filled.campaign_id]))
    assert root.status_code == 302 and root.url == school_url(filled, world.school_a)
    assert client.get(school_url(filled, world.school_a)).status_code == 200
    assert client.get(school_url(filled, world.school_b)).status_code == 404
    assert client.get(region_url(filled, world.county_a)).status_code == 403
    assert client.get(below_url(filled)).status_code == 403


@pytest.mark.parametrize("name", ["student", "volunteer"])
def test_students_and_volunteers_are_refused(world, filled, login, name):
    client = login(getattr(world, name))
    for url in (
        reverse("term_figures", args=[filled.campaign_id]),
        region_url(filled, world.county_a),
        school_url(filled, world.school_a),
        below_url(filled),
    ):
        assert client.get(url).status_code == 403, url


def test_guests_are_sent_to_sign_in(world, filled, login):
    for url in (
        reverse("term_figures", args=[filled.campaign_id]),
        region_url(filled, world.county_a),
        school_url(filled, world.school_a),
        below_url(filled),
    ):
        response = login(None).get(url)
        assert response.status_code == 302 and "login" in response.url


def test_an_organiser_outside_the_term_is_refused(world, filled, login):
    elsewhere = factories.region(code="440000", name="广东省", level=1)
    outsider = factories.user(is_organiser=True, region=elsewhere)
    assert login(outsider).get(reverse("term_figures", args=[filled.campaign_id])).status_code == 403
    assert login(outsider).get(region_url(filled, world.county_a)).status_code == 403
    # A term that does not exist, or a campaign without a term: not found.
    campaign = factories.campaign(region=world.city)
    assert login(world.organiser_province).get(reverse("term_figures", args=[campaign.pk])).status_code == 404


def test_region_rows_sort_by_any_column(world, filled, login):
    client = login(world.organiser_province)
    rows = figures.figures_for_regions(term=filled, parent_region=world.city)
    for key in figures.REGION_ORDERS:
        for prefix in ("", "-"):
            response = client.get(
                reverse("term_figures", args=[filled.campaign_id]) + f"?order={prefix}{key}"
            )
            assert response.status_code == 200
            expected = [
                row.region.display_name for row in figures.sort_region_figures(rows, f"{prefix}{key}")
            ]
            assert labels(response) == expected
    by_students = sorted(rows, key=lambda row: row.headcount, reverse=True)
    response = client.get(reverse("term_figures", args=[filled.campaign_id]) + "?order=-students")
    assert labels(response) == [row.region.display_name for row in by_students]
    # An unknown order is the default, not an error.
    assert client.get(reverse("term_figures", args=[filled.campaign_id]) + "?order=;drop").status_code == 200


def test_school_rows_sort_in_the_database(world, filled, login):
    client = login(world.organiser_province)
    for key in figures.SCHOOL_ORDERS:
        response = client.get(region_url(filled, world.county_a) + f"?order=-{key}")
        assert response.status_code == 200
    response = client.get(region_url(filled, world.county_a) + "?order=-students")
    counts = [row.cells[0]["value"] for row in response.context["rows"]]
    assert counts == sorted(counts, reverse=True)
    response = client.get(region_url(filled, world.county_a) + "?order=student_rate")
    rates = [row.cells[4]["value"] for row in response.context["rows"]]
    present = [rate for rate in rates if rate is not None]
    assert present == sorted(present) and rates[: len(present)] == present  # no rate: last
    classes = client.get(school_url(filled, world.school_a) + "?order=-students")
    counts = [row.cells[0]["value"] for row in classes.context["rows"]]
    assert counts == sorted(counts, reverse=True)


def test_below_targets_lists_the_schools_under_a_target(world, filled, login):
    term = filled
    response = login(world.organiser_province).get(below_url(term))
    listed = {figure.school.code for figure in response.context["page"]}
    for row in SchoolTermFigures.objects.filter(term=term):
        below = (
            row.headcount == 0
            or row.registered * 100 < row.headcount * term.target_registration_pct
            or row.participating * 100 < row.headcount * term.target_participation_pct
        )
        assert (row.school.code in listed) == below
    assert listed  # random progress never reaches 90 % participation everywhere


def xlsx_rows(response) -> list[list]:
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_exports_have_the_report_columns(world, filled, login):
    client = login(world.organiser_province)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    sheet = xlsx_rows(client.get(reverse("term_figures", args=[filled.campaign_id]) + "?format=xlsx"))
    assert sheet[0] == [
        "Region",
        "Participating schools",
        "Total schools",
        "School participation rate",
        "Participating students",
        "Total students",
        "Student participation rate",
        "Pass rate",
        "Full-mark rate",
        "Excellence rate",
        "Average score",
    ]
    assert [row[0] for row in sheet[1:]] == [
        world.county_a.display_name,
        world.county_b.display_name,
        "Total",
    ]
    assert sheet[-1][2] == 6
    county = xlsx_rows(client.get(region_url(filled, world.county_a) + "?format=xlsx"))
    assert county[0][:4] == ["School", "Total students", "Registered", "Registration rate"]
    school = xlsx_rows(client.get(school_url(filled, world.school_a) + "?format=xlsx"))
    assert school[0][0] == "Class" and school[-1][0] == "Whole school"
    below = xlsx_rows(client.get(below_url(filled, world.city) + "&format=xlsx"))
    assert below[0][:2] == ["School", "County / district"]
    assert (
        len(below) - 1
        == login(world.organiser_province).get(below_url(filled)).context["page"].paginator.count
    )


def test_the_pages_speak_chinese(world, filled, login):
    client = login(world.organiser_province)
    response = client.get(reverse("term_figures", args=[filled.campaign_id]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200


def test_query_budgets_do_not_grow_with_schools(world, filled, login, django_assert_max_num_queries):
    client = login(world.organiser_province)
    urls = [
        reverse("term_figures", args=[filled.campaign_id]),
        region_url(filled, world.county_a),
        school_url(filled, world.school_a),
        below_url(filled),
    ]
    budgets = {urls[0]: 9, urls[1]: 9, urls[2]: 9, urls[3]: 9}
    for url, budget in budgets.items():
        with django_assert_max_num_queries(budget):
            assert client.get(url).status_code == 200
    rng = random.Random(9)
    for n in range(25):
        school = factories.school(region=world.county_a, code=f"SM{n}", name=f"加测{n}")
        klass = factories.school_class(school=school, grade=7, name="1班")
        for _ in range(3):
            progress_for(filled, factories.roster_student(school_class=klass), rng)
    figures.term_figures_refresh(term=filled)
    for url, budget in budgets.items():
        with django_assert_max_num_queries(budget):
            assert client.get(url).status_code == 200


def test_the_learning_side_keeps_the_figures_fresh(world, term, django_capture_on_commit_callbacks):
    """End to end with the lessons' services: completing the last lesson refreshes the school's row."""
    from campaigns import lessons
    from campaigns.models import Lesson

    lesson = Lesson.objects.create(term=term, grade=7, position=1, title="认识毒品", body="…", minutes=10)
    student = factories.roster_student(school_class=world.class_a)
    with django_capture_on_commit_callbacks(execute=True):
        lessons.progress_ensure_for_school(term=term, school=world.school_a)
    row = SchoolTermFigures.objects.get(term=term, school=world.school_a)
    assert (row.headcount, row.participating) == (1, 0)
    with django_capture_on_commit_callbacks(execute=True):
        lessons.lesson_complete(lesson=lesson, user=student.user, now=timezone.now())
    row.refresh_from_db()
    assert row.participating == 1


def test_each_table_exports_to_csv_as_shown(world, filled, login):
    """The CSV holds what the Excel file holds (UTF-8 with a BOM, so that Excel shows the Chinese)."""
    client = login(world.organiser_province)
    for url, joiner in (
        (reverse("term_figures", args=[filled.campaign_id]), "?"),
        (region_url(filled, world.county_a), "?"),
        (school_url(filled, world.school_a), "?"),
        (below_url(filled, world.city), "&"),
    ):
        excel = xlsx_rows(client.get(f"{url}{joiner}format=xlsx"))
        response = client.get(f"{url}{joiner}format=csv")
        assert response["Content-Type"].startswith("text/csv")
        assert response.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert len(rows) == len(excel)
        for row, excel_row in zip(rows, excel, strict=True):
            for text, value in zip(row, excel_row, strict=True):
                if isinstance(value, int | float):
                    assert float(text) == value
                else:
                    assert text == ("" if value is None else value)
