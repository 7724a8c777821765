"""A campaign's knowledge survey before and after: the SurveyFigures refresh agrees with a direct count, the
report's figures for a hand-computed example, its gates per role, sorting, exports, query budgets and bad
input; and the quiz form's survey field."""

import csv
import io
import random
import threading
from collections import defaultdict
from decimal import Decimal

import openpyxl
import pytest
from django.db import close_old_connections, connection
from django.urls import reverse
from django.utils import timezone

from quizzes.forms import QuizForm
from quizzes.models import Attempt, Quiz
from stats import surveys
from stats.models import SurveyFigures
from tests import factories

pytestmark = pytest.mark.django_db

BEFORE, AFTER = Quiz.SurveyPhase.BEFORE, Quiz.SurveyPhase.AFTER


def make_survey(campaign, phase, *, title="", **fields) -> Quiz:
    return Quiz.objects.create(
        title=title or f"知识调查（{phase}）",
        campaign=campaign,
        survey_phase=phase,
        access=Quiz.Access.LINK,
        is_published=True,
        **fields,
    )


def answer(quiz, *, score, max_score=10, user=None, guest_key="", number=1, school=None, submitted=True):
    """An attempt as the services leave it: submitted with its score, or still open."""
    now = timezone.now()
    return Attempt.objects.create(
        quiz=quiz,
        user=user,
        guest_key=guest_key,
        number=number,
        school=school,
        started_at=now,
        submitted_at=now if submitted else None,
        score=Decimal(score) if submitted else None,
        max_score=Decimal(max_score),
    )


def person(school=None):
    return factories.user(is_student=school is not None)


# --- the refresh ---------------------------------------------------------------------------------------


def direct_count(quizzes) -> dict:
    """{(quiz, region, school): (respondents, score, max)} straight from the attempts, by the definitions."""
    expected = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for quiz in quizzes:
        for attempt in Attempt.objects.filter(quiz=quiz).select_related("school"):
            if attempt.number != 1 or attempt.submitted_at is None:
                continue
            school_id = attempt.school_id or quiz.owner_school_id or 0
            if school_id:
                region_id = attempt.school.region_id if attempt.school_id else quiz.owner_school.region_id
            else:
                region_id = quiz.owner_region_id or quiz.campaign.region_id
            unit = expected[(quiz.pk, region_id, school_id)]
            unit[0] += 1
            unit[1] += attempt.score
            unit[2] += attempt.max_score
    return {key: tuple(value) for key, value in expected.items()}


def stored(quizzes) -> dict:
    return {
        (row.quiz_id, row.region_id, row.school_id): (row.respondents, row.score, row.max_score)
        for row in SurveyFigures.objects.filter(quiz__in=quizzes)
    }


@pytest.fixture
def random_surveys(world):
    """A city's campaign with three surveys (one owned by a school, one by county B), five schools in three
    regions, guests, open first attempts and second attempts that must not count, and a quiz that is no
    survey."""
    rng = random.Random(11)
    campaign = factories.campaign(region=world.city)
    city_school = factories.school(region=world.city, code="SC001", name="市直属中学")
    schools = [
        world.school_a,
        world.school_b,
        factories.school(region=world.county_a, code="SA002", name="岳麓二中"),
        factories.school(region=world.county_b, code="SB002", name="开福二中"),
        city_school,
    ]
    quizzes = [
        make_survey(campaign, BEFORE),
        make_survey(campaign, AFTER, owner_region=world.county_b),
        make_survey(campaign, BEFORE, title="学校问卷", owner_school=schools[2]),
    ]
    plain = Quiz.objects.create(title="练习", campaign=campaign, access=Quiz.Access.LINK)
    for quiz in [*quizzes, plain]:
        for n in range(rng.randint(25, 40)):
            school = rng.choice([*schools, None, None])
            guest = school is None and rng.random() < 0.7
            user = None if guest else person(school)
            owner = {"guest_key": f"g{quiz.pk}-{n}"} if guest else {"user": user}
            top = rng.choice([5, 10])
            first_submitted = rng.random() < 0.9
            answer(
                quiz,
                score=rng.randint(0, top),
                max_score=top,
                school=school,
                submitted=first_submitted,
                **owner,
            )
            if first_submitted and rng.random() < 0.4:
                # A second go after seeing the answers: full marks, never counted.
                answer(quiz, score=top, max_score=top, school=school, number=2, **owner)
    return campaign, quizzes, plain


def test_the_refresh_agrees_with_a_direct_count(world, random_surveys):
    campaign, quizzes, plain = random_surveys
    assert surveys.surveys_rebuild() == 3
    expected = direct_count(quizzes)
    assert stored(quizzes) == expected
    assert not SurveyFigures.objects.filter(quiz=plain).exists()
    # The school-owned survey counts attempts without a school at its owner; county B's, its guests at B.
    assert any(key[0] == quizzes[2].pk and key[2] == quizzes[2].owner_school_id for key in expected)
    assert any(key[0] == quizzes[1].pk and key[1] == world.county_b.pk and key[2] == 0 for key in expected)
    assert any(key[0] == quizzes[0].pk and key[1] == world.city.pk and key[2] == 0 for key in expected)
    # Rebuilding again changes nothing.
    surveys.surveys_rebuild(quizzes=quizzes)
    assert stored(quizzes) == expected


def test_a_partial_refresh_touches_only_its_units(world, random_surveys):
    campaign, quizzes, _ = random_surveys
    quiz = quizzes[0]
    surveys.survey_refresh(quiz=quiz)
    other = {key: value for key, value in stored([quiz]).items() if key[2] != world.school_a.pk}
    late = person(world.school_a)
    answer(quiz, score=7, user=late, school=world.school_a)
    answer(quiz, score=1, guest_key="late-guest")
    assert surveys.survey_refresh(quiz=quiz, school_ids=[world.school_a.pk]) == 1
    now = stored([quiz])
    assert (
        now[(quiz.pk, world.county_a.pk, world.school_a.pk)]
        == direct_count([quiz])[(quiz.pk, world.county_a.pk, world.school_a.pk)]
    )
    # The guest is in the unit "not in a school", which this refresh left alone.
    assert {key: value for key, value in now.items() if key[2] != world.school_a.pk} == other
    surveys.survey_refresh(quiz=quiz, school_ids=[0])
    assert stored([quiz]) == direct_count([quiz])


def test_a_unit_without_respondents_leaves_and_an_older_refresh_never_wins(world):
    campaign = factories.campaign(region=world.city)
    quiz = make_survey(campaign, BEFORE)
    answer(quiz, score=4, user=person(world.school_a), school=world.school_a)
    now = timezone.now()
    surveys.survey_refresh(quiz=quiz, now=now)
    assert stored([quiz]) == {(quiz.pk, world.county_a.pk, world.school_a.pk): (1, Decimal(4), Decimal(10))}
    answer(quiz, score=6, user=person(world.school_a), school=world.school_a)
    surveys.survey_refresh(quiz=quiz, now=now - timezone.timedelta(seconds=5))
    assert SurveyFigures.objects.get(quiz=quiz).respondents == 1  # the older snapshot did not overwrite
    surveys.survey_refresh(quiz=quiz)
    assert SurveyFigures.objects.get(quiz=quiz).respondents == 2
    Attempt.objects.filter(quiz=quiz).delete()
    surveys.survey_refresh(quiz=quiz, school_ids=[world.school_a.pk])
    assert not SurveyFigures.objects.filter(quiz=quiz).exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_are_safe(world):
    """Eight threads refresh one school's unit and the whole survey at once, while attempts keep coming: one
    row per unit, no error, and a last refresh agrees with the direct count."""
    campaign = factories.campaign(region=world.city)
    quiz = make_survey(campaign, BEFORE)
    for n in range(20):
        answer(quiz, score=n % 10, user=person(world.school_a), school=world.school_a)
        answer(quiz, score=n % 7, guest_key=f"g{n}")
    errors = []
    barrier = threading.Barrier(8)

    def refresh(n: int) -> None:
        try:
            barrier.wait()
            for k in range(5):
                if n == 0:
                    answer(quiz, score=k, user=person(world.school_b), school=world.school_b)
                if n % 2:
                    surveys.survey_refresh(quiz=quiz)
                else:
                    surveys.survey_refresh(quiz=quiz, school_ids=[world.school_a.pk, world.school_b.pk])
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
    surveys.survey_refresh(quiz=quiz)
    assert stored([quiz]) == direct_count([quiz])
    assert SurveyFigures.objects.filter(quiz=quiz).count() == 3


def test_rebuild_drops_quizzes_that_are_no_longer_surveys(world):
    campaign = factories.campaign(region=world.city)
    quiz = make_survey(campaign, BEFORE)
    answer(quiz, score=4, guest_key="g1")
    surveys.surveys_rebuild()
    assert SurveyFigures.objects.filter(quiz=quiz).count() == 1
    Quiz.objects.filter(pk=quiz.pk).update(survey_phase="")
    surveys.surveys_rebuild()
    assert not SurveyFigures.objects.filter(quiz=quiz).exists()


def test_on_attempt_submitted_is_free_for_other_quizzes(world, django_assert_num_queries):
    campaign = factories.campaign(region=world.city)
    plain = Quiz.objects.create(title="练习", campaign=campaign, access=Quiz.Access.LINK)
    survey = make_survey(campaign, AFTER)
    done = Attempt.objects.select_related("quiz").get(pk=answer(plain, score=3, guest_key="g").pk)
    with django_assert_num_queries(0):
        surveys.on_attempt_submitted(done)
    again = answer(survey, score=9, guest_key="g2", number=2)
    with django_assert_num_queries(0):
        surveys.on_attempt_submitted(again)  # a second attempt never changes the figures
    first = Attempt.objects.select_related("quiz").get(
        pk=answer(survey, score=9, user=person(world.school_b), school=world.school_b).pk
    )
    surveys.on_attempt_submitted(first)
    assert stored([survey]) == {
        (survey.pk, world.county_b.pk, world.school_b.pk): (1, Decimal(9), Decimal(10))
    }
    guest = Attempt.objects.select_related("quiz").get(pk=answer(survey, score=5, guest_key="g3").pk)
    surveys.on_attempt_submitted(guest)
    assert stored([survey])[(survey.pk, world.city.pk, 0)] == (1, Decimal(5), Decimal(10))


def test_the_quiz_services_feed_the_survey(world, django_capture_on_commit_callbacks):
    """End to end with the quiz services: a student's first attempt at a survey reaches the figures."""
    from quizzes import services
    from quizzes.models import QuizQuestion
    from tests.quizzes.conftest import make_question

    campaign = factories.campaign(region=world.city)
    quiz = make_survey(campaign, BEFORE, shuffle_options=False)
    QuizQuestion.objects.bulk_create(
        QuizQuestion(quiz=quiz, question=make_question(n), position=n) for n in range(2)
    )
    attempt = services.attempt_start(quiz=quiz, user=world.student, now=timezone.now())
    submitted = services.attempt_submit(attempt=attempt, now=timezone.now())
    surveys.on_attempt_submitted(submitted)
    row = SurveyFigures.objects.get(quiz=quiz)
    assert (row.school_id, row.region_id, row.respondents, row.max_score) == (
        world.school_a.pk,
        world.county_a.pk,
        1,
        Decimal(2),
    )


# --- the report's figures --------------------------------------------------------------------------------


@pytest.fixture
def example(world):
    """Hand-computed: two surveys before, one after.

    School A (county A): before 6/10, 8/10 (survey 1) and 3/5 (survey 2) → 17/25 = 68.0 %, 3 respondents;
    after 9/10, 10/10 → 95.0 %, 2 respondents; change +27.0.
    School B (county B): before 5/10 → 50.0 %, 1 respondent; nobody after.
    A guest after, counted at the campaign's region (the city): 7/10.
    The city: before 22/35 = 62.9 %, 4 respondents; after 26/30 = 86.7 %, 3; change +23.8.
    """
    campaign = factories.campaign(region=world.city, title="6·26 禁毒宣传月")
    before_1 = make_survey(campaign, BEFORE, title="活动前问卷一")
    before_2 = make_survey(campaign, BEFORE, title="活动前问卷二")
    after = make_survey(campaign, AFTER, title="活动后问卷")
    a1, a2, a3 = (person(world.school_a) for _ in range(3))
    b1 = person(world.school_b)
    answer(before_1, score=6, user=a1, school=world.school_a)
    answer(before_1, score=8, user=a2, school=world.school_a)
    answer(before_1, score=10, user=a2, school=world.school_a, number=2)  # not counted
    answer(before_2, score=3, max_score=5, user=a3, school=world.school_a)
    answer(after, score=9, user=a1, school=world.school_a)
    answer(after, score=10, user=a2, school=world.school_a)
    answer(after, score=2, user=a3, school=world.school_a, submitted=False)  # not submitted
    answer(before_1, score=5, user=b1, school=world.school_b)
    answer(after, score=7, guest_key="guest-1")
    Quiz.objects.create(title="练习", campaign=campaign, access=Quiz.Access.LINK)  # no survey
    surveys.surveys_rebuild()
    return campaign


def report_url(campaign) -> str:
    return reverse("survey_report", args=[campaign.pk])


def region_url(campaign, region) -> str:
    return reverse("survey_report_region", args=[campaign.pk, region.pk])


def school_url(campaign, school) -> str:
    return reverse("survey_report_school", args=[campaign.pk, school.code])


def values(row) -> list:
    return [cell["value"] for cell in row.cells]


def test_the_hand_computed_example(world, example):
    found = surveys.campaign_surveys(campaign=example)
    assert [quiz.title for quiz in found.before] == ["活动前问卷一", "活动前问卷二"]
    children = {
        row.region.pk: row for row in surveys.surveys_for_regions(surveys=found, parent_region=world.city)
    }
    county_a, county_b = children[world.county_a.pk], children[world.county_b.pk]
    assert (county_a.before_respondents, county_a.before_rate) == (3, Decimal("68.0"))
    assert (county_a.after_respondents, county_a.after_rate, county_a.change) == (
        2,
        Decimal("95.0"),
        Decimal("27.0"),
    )
    assert (county_b.before_respondents, county_b.before_rate) == (1, Decimal("50.0"))
    assert (county_b.after_respondents, county_b.after_rate, county_b.change) == (0, None, None)
    totals = surveys.survey_total(surveys=found, region=world.city)
    total = totals.total
    assert (total.before_respondents, total.before_rate) == (4, Decimal("62.9"))
    assert (total.after_respondents, total.after_rate, total.change) == (3, Decimal("86.7"), Decimal("23.8"))
    assert (totals.direct.before_respondents, totals.direct.after_respondents) == (0, 1)
    assert totals.direct.after_rate == Decimal("70.0")


def test_the_region_pages_show_the_example(world, example, login):
    client = login(world.organiser_province)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.get(report_url(example))
    assert response.status_code == 200
    assert response.context["region"] == world.city  # the campaign's region: the province organiser's part
    rows = response.context["rows"]
    assert [row.label for row in rows] == ["Yuelu District", "Kaifu District", "Directly under Changsha"]
    assert values(rows[0]) == [3, Decimal("68.0"), 2, Decimal("95.0"), Decimal("27.0")]
    assert values(rows[1]) == [1, Decimal("50.0"), 0, None, None]
    assert values(rows[2]) == [0, None, 1, Decimal("70.0"), None]
    assert values(response.context["total"]) == [4, Decimal("62.9"), 3, Decimal("86.7"), Decimal("23.8")]
    page = response.content.decode()
    assert "+27.0" in page and "+23.8" in page and region_url(example, world.county_a) in page
    assert "活动前问卷二" in page  # the surveys counted are named
    county = client.get(region_url(example, world.county_a))
    assert [row.label for row in county.context["rows"]] == ["Yuelu Middle School"]
    assert school_url(example, world.school_a) in county.content.decode()
    school = client.get(school_url(example, world.school_a))
    assert school.status_code == 200
    assert values(school.context["rows"][0]) == [3, Decimal("68.0"), 2, Decimal("95.0"), Decimal("27.0")]
    # Breadcrumbs lead back up.
    assert region_url(example, world.city) in school.content.decode()


def test_the_guests_of_a_county_row(world, login):
    campaign = factories.campaign(region=world.county_a)
    quiz = make_survey(campaign, BEFORE)
    answer(quiz, score=4, guest_key="g1")
    answer(quiz, score=6, user=person(world.school_a), school=world.school_a)
    surveys.surveys_rebuild()
    response = login(world.organiser_a).get(report_url(campaign), HTTP_ACCEPT_LANGUAGE="en")
    assert [row.label for row in response.context["rows"]] == ["Yuelu Middle School", "Not in a school"]
    assert values(response.context["total"])[:2] == [2, Decimal("50.0")]


def test_rows_sort_by_any_column(world, example, login):
    client = login(world.organiser_province)
    for key in surveys.ORDERS:
        for prefix in ("", "-"):
            response = client.get(report_url(example) + f"?order={prefix}{key}")
            assert response.status_code == 200
    response = client.get(report_url(example) + "?order=-before_rate", HTTP_ACCEPT_LANGUAGE="en")
    assert [row.label for row in response.context["rows"]][:2] == ["Yuelu District", "Kaifu District"]
    response = client.get(report_url(example) + "?order=before_rate", HTTP_ACCEPT_LANGUAGE="en")
    assert [row.label for row in response.context["rows"]][:2] == ["Kaifu District", "Yuelu District"]
    # No value: always last, whichever way round.
    response = client.get(report_url(example) + "?order=-change", HTTP_ACCEPT_LANGUAGE="en")
    labels = [row.label for row in response.context["rows"]]
    assert labels[0] == "Yuelu District"


def test_a_campaign_without_a_survey_says_how_to_make_one(world, login):
    campaign = factories.campaign(region=world.city)
    response = login(world.organiser_province).get(report_url(campaign), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert "no knowledge survey yet" in page
    assert "Knowledge survey before the campaign" in page and reverse("quiz_create") in page
    teacher = login(world.teacher_a).get(school_url(campaign, world.school_a), HTTP_ACCEPT_LANGUAGE="en")
    assert teacher.status_code == 200 and "no knowledge survey yet" in teacher.content.decode()
    # The export of an empty report is an empty table, not an error.
    assert login(world.organiser_province).get(report_url(campaign) + "?format=csv").status_code == 200


# --- gates -----------------------------------------------------------------------------------------------


def test_the_province_organiser_sees_everything(world, example, login):
    client = login(world.organiser_province)
    for url in (
        report_url(example),
        region_url(example, world.city),
        region_url(example, world.county_a),
        region_url(example, world.county_b),
        school_url(example, world.school_a),
        school_url(example, world.school_b),
    ):
        assert client.get(url).status_code == 200, url
    # The province itself is above the campaign's region: not part of the report.
    assert client.get(region_url(example, world.province)).status_code == 404


def test_a_county_organiser_sees_only_their_county(world, example, login):
    client = login(world.organiser_a)
    root = client.get(report_url(example))
    assert root.status_code == 200 and root.context["region"] == world.county_a
    assert [row.label for row in root.context["rows"]] == [world.school_a.display_name]
    for url in (
        region_url(example, world.county_b),
        region_url(example, world.city),
        school_url(example, world.school_b),
        region_url(example, world.county_b) + "?format=xlsx",
        school_url(example, world.school_b) + "?format=csv",
    ):
        assert client.get(url).status_code == 404, url
    assert client.get(school_url(example, world.school_a)).status_code == 200


def test_a_teacher_sees_only_their_school(world, example, login):
    client = login(world.teacher_a)
    root = client.get(report_url(example))
    assert root.status_code == 302 and root.url == school_url(example, world.school_a)
    assert client.get(school_url(example, world.school_a)).status_code == 200
    assert client.get(school_url(example, world.school_b)).status_code == 404
    assert client.get(region_url(example, world.county_a)).status_code == 403
    assert client.get(region_url(example, world.county_a) + "?format=xlsx").status_code == 403


@pytest.mark.parametrize("name", ["student", "volunteer"])
def test_students_and_volunteers_are_refused(world, example, login, name):
    client = login(getattr(world, name))
    for url in (
        report_url(example),
        region_url(example, world.county_a),
        school_url(example, world.school_a),
    ):
        assert client.get(url).status_code == 403, url
        assert client.get(url + "?format=csv").status_code == 403, url


def test_guests_are_sent_to_sign_in(world, example, login):
    for url in (
        report_url(example),
        region_url(example, world.county_a),
        school_url(example, world.school_a),
    ):
        response = login(None).get(url + "?format=xlsx")
        assert response.status_code == 302 and "login" in response.url


def test_outsiders_and_hidden_campaigns(world, example, login):
    elsewhere = factories.region(code="440000", name="广东省", level=1)
    outsider = factories.user(is_organiser=True, region=elsewhere)
    assert login(outsider).get(report_url(example)).status_code == 403
    teacher = factories.user(is_teacher=True, school=factories.school(region=elsewhere))
    assert login(teacher).get(report_url(example)).status_code == 403
    # A draft of another region is not found, nor a campaign that does not exist.
    draft = factories.campaign(region=world.county_b, is_published=False)
    assert login(world.organiser_a).get(report_url(draft)).status_code == 404
    assert login(world.organiser_a).get(reverse("survey_report", args=[10**9])).status_code == 404


# --- exports, budgets and bad input ----------------------------------------------------------------------


def test_the_exports_hold_the_table(world, example, login):
    client = login(world.organiser_province)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.get(report_url(example) + "?format=xlsx&order=-change")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = [
        list(row)
        for row in openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)
    ]
    assert sheet[0] == [
        "Region",
        "Respondents before",
        "Awareness before",
        "Respondents after",
        "Awareness after",
        "Change (points)",
    ]
    assert sheet[1] == ["Yuelu District", 3, 68.0, 2, 95.0, 27.0]
    assert sheet[-1] == ["Total", 4, 62.9, 3, 86.7, 23.8]
    assert len(sheet) == 5

    response = client.get(region_url(example, world.county_a) + "?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    assert ".csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "School"
    assert rows[1] == ["Yuelu Middle School", "3", "68.0", "2", "95.0", "27.0"]
    assert rows[-1][0] == "Total"

    zh = login(world.organiser_province).get(region_url(example, world.county_b) + "?format=csv")
    rows = list(csv.reader(io.StringIO(zh.content.decode("utf-8-sig"))))
    assert rows[1] == ["开福中学", "1", "50.0", "0", "", ""]

    school = client.get(school_url(example, world.school_a) + "?format=xlsx")
    sheet = [
        list(row)
        for row in openpyxl.load_workbook(io.BytesIO(school.content)).active.iter_rows(values_only=True)
    ]
    assert sheet[1] == ["Yuelu Middle School", 3, 68.0, 2, 95.0, 27.0]


def test_a_name_is_never_a_formula_but_a_fall_stays_a_number(world, login):
    campaign = factories.campaign(region=world.county_a)
    before, after = make_survey(campaign, BEFORE), make_survey(campaign, AFTER)
    school = factories.school(region=world.county_a, code="SF1", name="=HYPERLINK(1)")
    someone = person(school)
    answer(before, score=8, user=someone, school=school)
    answer(after, score=6, user=someone, school=school)
    surveys.surveys_rebuild()
    response = login(world.organiser_a).get(report_url(campaign) + "?format=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1] == ["'=HYPERLINK(1)", "1", "80.0", "1", "60.0", "-20.0"]
    page = login(world.organiser_a).get(report_url(campaign)).content.decode()
    assert 'class="num down">-20.0' in page


def test_query_budgets_do_not_grow_with_schools(world, example, login, django_assert_max_num_queries):
    organiser = login(world.organiser_province)
    teacher = login(world.teacher_a)
    pages = [
        (organiser, report_url(example), 12),
        (organiser, region_url(example, world.county_a), 12),
        (organiser, region_url(example, world.county_a) + "?format=xlsx", 12),
        (organiser, school_url(example, world.school_a), 12),
        (teacher, school_url(example, world.school_a), 12),
    ]
    for client, url, budget in pages:
        with django_assert_max_num_queries(budget):
            assert client.get(url).status_code == 200, url
    quiz = surveys.campaign_surveys(campaign=example).before[0]
    for n in range(20):
        school = factories.school(
            region=(world.county_a, world.county_b)[n % 2], code=f"SQ{n}", name=f"加测{n}"
        )
        for _ in range(2):
            answer(quiz, score=n % 10, user=person(school), school=school)
    surveys.surveys_rebuild()
    for client, url, budget in pages:
        with django_assert_max_num_queries(budget):
            assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    "suffix",
    [
        "regions/999999/",
        f"regions/{2**70}/",
        "schools/NO-SUCH/",
        "schools/%E4%B8%AD/",
    ],
)
def test_unknown_regions_and_schools_are_not_found(world, example, login, suffix):
    response = login(world.organiser_province).get(report_url(example) + suffix)
    assert response.status_code == 404


@pytest.mark.parametrize("query", ["?order=garbage", "?order=-", "?order=;drop", "?format=pdf"])
def test_bad_queries_are_ignored(world, example, login, query):
    client = login(world.organiser_province)
    for url in (
        report_url(example),
        region_url(example, world.county_a),
        school_url(example, world.school_a),
    ):
        response = client.get(url + query)
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/html")


def test_a_nul_character_is_a_bad_request(world, example, login):
    response = login(world.organiser_province).get(report_url(example) + "?order=%00")
    assert response.status_code == 400


def test_an_oversized_campaign_number_is_not_found(world, login):
    assert login(world.organiser_province).get(f"/stats/surveys/campaign/{2**70}/").status_code == 404


def test_the_pages_speak_chinese(world, example, login):
    response = login(world.organiser_province).get(report_url(example), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "岳麓区" in response.content.decode()


# --- the quiz form ---------------------------------------------------------------------------------------


def quiz_data(**fields) -> dict:
    return {
        "title": "知识调查",
        "language": "zh-hans",
        "access": "link",
        "selection": "random",
        "max_attempts": "1",
        "grading": "first",
        "pass_mark": "60",
        "review": "after_submit",
        **fields,
    }


def test_a_survey_needs_a_campaign(world):
    form = QuizForm(data=quiz_data(survey_phase="before"), user=world.organiser_a)
    assert not form.is_valid()
    assert "survey_phase" in form.errors
    campaign = factories.campaign(region=world.county_a)
    form = QuizForm(data=quiz_data(survey_phase="after", campaign=campaign.pk), user=world.organiser_a)
    assert form.is_valid(), form.errors
    assert form.save().survey_phase == AFTER
    assert QuizForm(data=quiz_data(), user=world.organiser_a).is_valid()


def test_an_answered_quiz_cannot_become_a_survey_or_stop_being_one(world):
    """The statistics counted its answers as what it was then."""
    campaign = factories.campaign(region=world.county_a)
    form = QuizForm(data=quiz_data(campaign=campaign.pk), user=world.organiser_a)
    quiz = form.save()
    again = QuizForm(
        data=quiz_data(campaign=campaign.pk, survey_phase="before"), instance=quiz, user=world.organiser_a
    )
    assert again.is_valid(), again.errors  # nobody has answered yet
    Attempt.objects.create(
        quiz=quiz, guest_key="g", started_at=timezone.now(), submitted_at=timezone.now(), score=1, max_score=1
    )
    for phase in ("", "after"):
        changed = QuizForm(
            data=quiz_data(campaign=campaign.pk, survey_phase=phase), instance=quiz, user=world.organiser_a
        )
        assert not changed.is_valid() and "survey_phase" in changed.errors
    same = QuizForm(
        data=quiz_data(campaign=campaign.pk, survey_phase="before"), instance=quiz, user=world.organiser_a
    )
    assert same.is_valid(), same.errors
