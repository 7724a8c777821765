"""The organisers' statistics pages end to end in a real browser (issue #7): a province organiser on a
desktop, in Chinese, opens the dashboard from the main navigation, reads the figure cards and the charts,
walks down the table from the province to a city, a county and a school, switches to the month and back,
puts the lagging regions first, downloads the county's CSV and reads it back, and prints the weekly report
to an A4 PDF; a county organiser on a phone, in English, sees only their county; a teacher's /stats/ is
their school's page. Every page is then photographed in both languages at phone and desktop size.

The world — a province, a city with two counties, three schools, two classes of roster students who claimed
their accounts, a second-classroom term — is made through the services, and so are the events: practice and
a campaign's knowledge survey (phase "before") taken through the quiz services this week and last week. The
rollups follow from the on-commit receivers; `rebuild` and `surveys_rebuild` run afterwards all the same, as
`refresh_stats` would.
"""

import csv
import datetime as dt
import io
import os
import re
import shutil
import time
from pathlib import Path

import pypdf
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from campaigns.services import enrollment_enroll
from edu.rosters import claim_codes_issue, student_claim
from quizzes import services as quiz_services
from quizzes.access import AttemptOwner
from quizzes.models import Question, Quiz, QuizQuestion
from quizzes.starter import starter_bank_load
from stats import rollups, surveys
from tests import factories
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS

PASSWORD = "Qk-very-secret-42"
STUDENT_PASSWORD = "Sunny-river-2026"
# Copies of the screenshots for review elsewhere, when asked for: QK_SHOTS_COPY=/tmp/qk_shots.
SHOTS_COPY = os.environ.get("QK_SHOTS_COPY", "")
QUESTIONS = 5


def zh(msgid: str) -> re.Pattern:
    """A button or link's name in Chinese: its translation, or the English while one is not merged yet."""
    return re.compile(rf"^\s*{re.escape(translated(msgid, 'zh-hans'))}\s*$")


def translated(msgid: str, language: str) -> str:
    """The text the server shows for `msgid` (the same catalogues: the server is forked from this process)."""
    with translation.override(language):
        return gettext(msgid)


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=login]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("input[name=password]")).to_have_count(0)


def away_from_midnight() -> None:
    """The test compares "this week" on the pages with the events it made: it must not straddle a local
    midnight (Sunday's would move the week). Within two minutes of one, wait until it has passed."""
    now = timezone.localtime()
    midnight = timezone.make_aware(dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time.min))
    if midnight - now < dt.timedelta(minutes=2):
        time.sleep((midnight - now).total_seconds() + 1)


# --- the world ---------------------------------------------------------------------------------------------


def take(quiz: Quiz, user, *, right: int, when: dt.datetime) -> None:
    """The quiz taken through the services at `when`: the first `right` questions right, the others wrong."""
    attempt = quiz_services.attempt_start(quiz=quiz, user=user, now=when - dt.timedelta(minutes=5))
    for item in attempt.items.select_related("version").order_by("position"):
        shown = item.option_order
        correct = [shown.index(index) for index in item.version.correct]
        wrong = [position for position in range(len(shown)) if position not in correct]
        quiz_services.attempt_answer(
            attempt_id=attempt.pk,
            owner=AttemptOwner(user_id=user.pk),
            position=item.position,
            selected=correct if item.position < right else wrong[:1],
            now=when - dt.timedelta(minutes=1),
        )
    quiz_services.attempt_submit(attempt=attempt, now=when)


def fixed_quiz(*, title: str, questions, **fields) -> Quiz:
    quiz = Quiz.objects.create(
        title=title,
        selection=Quiz.Selection.FIXED,
        shuffle_questions=False,
        is_published=True,
        review=Quiz.Review.AFTER_SUBMIT,
        **fields,
    )
    QuizQuestion.objects.bulk_create(
        QuizQuestion(quiz=quiz, question=question, position=i) for i, question in enumerate(questions)
    )
    return quiz


def build_world():
    """Returns the places, the users and what the pages should count."""
    now = timezone.now()
    province = factories.region(code="430000", name="湖南省", name_en="Hunan Province", level=1)
    city = factories.region(code="430100", name="长沙市", name_en="Changsha", level=2, parent=province)
    furong = factories.region(code="430102", name="芙蓉区", name_en="Furong District", level=3, parent=city)
    yuelu = factories.region(code="430104", name="岳麓区", name_en="Yuelu District", level=3, parent=city)
    yuelu_school = factories.school(
        region=yuelu, code="SA001", name="岳麓中学", name_en="Yuelu Middle School"
    )
    # Nobody there takes part: "lagging first" puts it (and so Yuelu District, one school in two) first.
    lushan = factories.school(region=yuelu, code="SA002", name="麓山中学", name_en="Lushan Middle School")
    furong_school = factories.school(
        region=furong, code="SB001", name="芙蓉中学", name_en="Furong Middle School"
    )
    office = factories.user(username="hunan_office", password=PASSWORD, is_organiser=True, region=province)
    factories.user(username="yuelu_office", password=PASSWORD, is_organiser=True, region=yuelu)
    factories.user(
        username="teacher_yuelu", password=PASSWORD, is_teacher=True, school=yuelu_school, first_name="陈老师"
    )

    term = factories.term(region=province, grades=(7, 8, 9), title="2026年秋季禁毒第二课堂")
    term.campaign.organisers.add(office)
    for school in (yuelu_school, lushan, furong_school):
        enrollment_enroll(term=term, school=school, by=office, now=now)

    class_yuelu = factories.school_class(school=yuelu_school, grade=7, name="1班")
    class_furong = factories.school_class(school=furong_school, grade=7, name="2班")
    roster = [
        factories.roster_student(school_class=class_yuelu, real_name=name, student_number=number)
        for name, number in (("王小明", "2025070101"), ("李思雨", "2025070102"), ("欧阳娜娜", "2025070103"))
    ] + [
        factories.roster_student(school_class=class_furong, real_name=name, student_number=number)
        for name, number in (("张伟", "2025070201"), ("刘洋", "2025070202"))
    ]
    students = []
    for student, code in claim_codes_issue(students=roster, by=office, now=now):
        students.append(
            student_claim(username=student.user.username, claim_code=code, password=STUDENT_PASSWORD, now=now)
        )
    yuelu_students, furong_students = students[:3], students[3:]

    questions = list(
        Question.objects.filter(
            language="zh-hans",
            status=Question.Status.READY,
            current_version__type__in=["single", "true_false"],
        ).order_by("category_path", "pk")[:QUESTIONS]
    )
    assert len(questions) == QUESTIONS
    practice = fixed_quiz(
        title="禁毒知识小测验",
        questions=questions,
        access=Quiz.Access.CAMPAIGN,
        campaign=term.campaign,
        owner_region=province,
        max_attempts=0,  # as often as they like
    )
    survey = fixed_quiz(
        title="禁毒知识知晓率问卷（课程开始前）",
        questions=questions,
        access=Quiz.Access.CAMPAIGN,
        campaign=term.campaign,
        owner_region=province,
        survey_phase="before",
        max_attempts=1,
    )

    # This week: minutes ago, but never before Monday's midnight; last week: a week ago, so the previous
    # period's same days hold it.
    monday = timezone.make_aware(dt.datetime.combine(rollups.week_start(timezone.localdate()), dt.time.min))

    def this_week(minutes: int) -> dt.datetime:
        return max(now - dt.timedelta(minutes=minutes), monday + dt.timedelta(seconds=10))

    last_week = now - dt.timedelta(days=7)
    take(practice, yuelu_students[0], right=1, when=last_week)
    for i, (user, right) in enumerate(zip(yuelu_students, (5, 3, 2), strict=True)):
        take(survey, user, right=right, when=this_week(30 - i))
        take(practice, user, right=right, when=this_week(20 - i))
    for i, user in enumerate(furong_students):
        take(practice, user, right=4, when=this_week(10 - i))

    today = timezone.localdate()
    rollups.rebuild(start=today - dt.timedelta(days=40), end=today)
    surveys.surveys_rebuild()
    return {
        "province": province,
        "city": city,
        "yuelu": yuelu,
        "furong": furong,
        "school": yuelu_school,
        "lushan": lushan,
        "attempts_this_week": 3 + 3 + 2,  # survey and practice in Yuelu, practice in Furong
        "attempts_this_month": 8 + (timezone.localtime(last_week).month == timezone.localtime(now).month),
        "yuelu_attempts": 6,
        "awareness": "66.7%",  # (5 + 3 + 2) of 15 points in the survey's first attempts
    }


def copy_for_review(path: Path) -> None:
    if SHOTS_COPY:
        Path(SHOTS_COPY).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(SHOTS_COPY) / f"statsbrowser_{path.name.removeprefix('stats-')}")


# --- the test ----------------------------------------------------------------------------------------------


def card(page, msgid: str, language: str):
    label = translated(msgid, language)
    return page.locator(".stats-figure").filter(
        has=page.locator(".stats-figure-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    )


def heading(page):
    return page.get_by_role("heading", level=1)


def assert_fits_the_phone(page) -> None:
    """Nothing sticks out sideways at 390 px (wide tables and charts scroll inside their own boxes)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        "[...document.querySelectorAll('main *')]"
        ".filter(e => e.getBoundingClientRect().right > 391).slice(0, 8)"
        ".map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"
    )
    assert width <= PHONE["viewport"]["width"], (page.url, wide)


def test_organisers_read_the_statistics(live_server_url, browser, shot, tmp_path):
    base = live_server_url
    away_from_midnight()
    starter_bank_load()
    world = build_world()
    province, city, yuelu, furong, school = (
        world[k] for k in ("province", "city", "yuelu", "furong", "school")
    )

    contexts = []

    def new_page(options: dict, language: str):
        context = browser.new_context(
            **options, locale="zh-CN" if language == "zh-hans" else "en-US", accept_downloads=True
        )
        context.add_cookies([{"name": "qk_language", "value": language, "url": base}])
        contexts.append(context)
        return context.new_page()

    try:
        # --- the province organiser, desktop, Chinese: the dashboard from the main navigation ------------
        desk = new_page(DESKTOP, "zh-hans")
        sign_in(desk, base, "hunan_office")
        desk.locator("nav.main-nav").get_by_role("link", name=zh("Statistics")).click()
        expect(desk).to_have_url(f"{base}/stats/")
        expect(heading(desk)).to_contain_text("湖南省")
        attempts = card(desk, "Quiz attempts", "zh-hans")
        expect(attempts.locator(".stats-figure-value")).to_have_text(str(world["attempts_this_week"]))
        # Last week's one attempt on the same days: +7, +700%.
        expect(attempts.locator(".stats-change")).to_have_class(re.compile(r"\bstats-change-up\b"))
        expect(attempts.locator(".stats-change-amount")).to_have_text(
            f"+{world['attempts_this_week'] - 1} (+700.0%)"
        )
        awareness = card(desk, "Awareness rate", "zh-hans")
        expect(awareness.locator(".stats-figure-value")).to_have_text(world["awareness"])
        expect(card(desk, "Schools taking part", "zh-hans").locator(".stats-figure-value")).to_have_text("2")
        # The charts: SVG images with their title as the accessible name.
        charts = desk.locator(".stats-chart svg[role=img]")
        expect(charts).to_have_count(4)
        for svg in charts.all():
            assert svg.get_attribute("aria-label")
        expect(desk.get_by_role("img", name=translated("Quiz attempts per week", "zh-hans"))).to_be_visible()
        # The term's report with the national report's columns.
        term_link = desk.locator(".figures-links a[href*='/term/figures/']")
        expect(term_link).to_contain_text("2026年秋季禁毒第二课堂")
        term_link.click()
        expect(desk).to_have_url(re.compile(rf"/campaigns/\d+/term/figures/regions/{province.pk}/$"))
        expect(desk.locator("table.figures-table")).to_contain_text("长沙市")
        desk.go_back()
        table = desk.locator("table.figures-table")
        expect(table.locator("tbody tr")).to_have_count(1)

        # --- down the table: the city, a county, a school ------------------------------------------------
        table.get_by_role("link", name="长沙市").click()
        expect(desk).to_have_url(re.compile(rf"/stats/regions/{city.pk}/\?"))
        expect(heading(desk)).to_contain_text("长沙市")
        rows = desk.locator("table.figures-table tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text("芙蓉区")  # by division code
        expect(rows.nth(1)).to_contain_text("岳麓区")

        # The month and back to the week.
        kinds = desk.locator(".stats-period-kinds")
        kinds.get_by_role("link", name=zh("Month")).click()
        expect(desk).to_have_url(re.compile(r"period=month"))
        expect(kinds.locator("[aria-current=true]")).to_have_text(zh("Month"))
        expect(card(desk, "Quiz attempts", "zh-hans").locator(".stats-figure-value")).to_have_text(
            str(world["attempts_this_month"])
        )
        expect(heading(desk)).to_contain_text("长沙市")
        kinds.get_by_role("link", name=zh("Week")).click()
        expect(desk).to_have_url(re.compile(r"period=week"))
        expect(kinds.locator("[aria-current=true]")).to_have_text(zh("Week"))

        # Sorted by a column: largest first, then the other way round.
        attempts_header = desk.locator("table.figures-table thead th").filter(
            has_text=translated("Quiz attempts", "zh-hans")
        )
        attempts_header.get_by_role("link").click()
        expect(desk).to_have_url(re.compile(r"order=-attempts"))
        expect(attempts_header).to_have_attribute("aria-sort", "descending")
        expect(rows.nth(0)).to_contain_text("岳麓区")
        attempts_header.get_by_role("link").click()
        expect(attempts_header).to_have_attribute("aria-sort", "ascending")
        expect(rows.nth(0)).to_contain_text("芙蓉区")

        # Lagging first: Yuelu District (one school of two taking part) before Furong (one of one).
        desk.get_by_role("link", name=zh("Lagging first")).click()
        expect(desk).to_have_url(re.compile(r"order=school_rate"))
        expect(rows.nth(0)).to_contain_text("岳麓区")
        expect(rows.nth(1)).to_contain_text("芙蓉区")

        rows.get_by_role("link", name="岳麓区").click()
        expect(desk).to_have_url(re.compile(rf"/stats/regions/{yuelu.pk}/\?"))
        expect(heading(desk)).to_contain_text("岳麓区")
        expect(rows).to_have_count(2)  # its schools
        expect(desk.locator(".breadcrumbs")).to_contain_text("长沙市")

        # The county's CSV, downloaded and read back: a BOM for Excel, the school's row.
        with desk.expect_download() as download_info:
            desk.locator("main a[href$='format=csv']").click()  # "CSV", "Export to CSV", …
        download = download_info.value
        assert download.suggested_filename.startswith("statistics-430104-week-")
        assert download.suggested_filename.endswith(".csv")
        csv_path = tmp_path / download.suggested_filename
        download.save_as(csv_path)
        raw = csv_path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        table_rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        by_name = {row[0]: row for row in table_rows[1:]}
        assert set(by_name) == {"岳麓中学", "麓山中学"}
        assert by_name["岳麓中学"][2] == str(world["yuelu_attempts"])
        assert by_name["麓山中学"][2] == "0"

        rows.get_by_role("link", name="岳麓中学").click()
        expect(desk).to_have_url(re.compile(rf"/stats/schools/{school.code}/\?"))
        expect(heading(desk)).to_contain_text("岳麓中学")
        expect(card(desk, "Quiz attempts", "zh-hans").locator(".stats-figure-value")).to_have_text(
            str(world["yuelu_attempts"])
        )

        # --- the weekly report, printed to A4 --------------------------------------------------------------
        desk.goto(f"{base}/stats/regions/{yuelu.pk}/")
        desk.get_by_role("link", name=zh("Weekly report")).click()
        expect(desk).to_have_url(f"{base}/stats/weekly/?region={yuelu.pk}")
        expect(heading(desk)).to_contain_text("岳麓区")
        print_button = desk.get_by_role("button", name=zh("Print"))
        expect(print_button).to_be_visible()
        desk.emulate_media(media="print")
        expect(print_button).to_be_hidden()
        expect(desk.locator("header.site-header")).to_be_hidden()
        # Printed as the Print button would: the print styles, the page size and margins of the CSS.
        pdf = desk.pdf(format="A4", prefer_css_page_size=True, print_background=True)
        # For review: the paper's layout, at the width inside A4's margins (186 mm, about 703 px).
        desk.set_viewport_size({"width": 703, "height": 1000})
        desk.screenshot(path=str(SCREENSHOTS / "stats-weekly-zh-print.png"), full_page=True)
        desk.set_viewport_size(DESKTOP["viewport"])
        desk.emulate_media(media="screen")
        (SCREENSHOTS / "stats-weekly-zh.pdf").parent.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / "stats-weekly-zh.pdf").write_bytes(pdf)
        reader = pypdf.PdfReader(io.BytesIO(pdf))
        assert 1 <= len(reader.pages) <= 3, len(reader.pages)
        text = "".join(page.extract_text() for page in reader.pages)
        assert "岳麓区" in text
        assert "岳麓中学" in text

        # --- the county organiser on a phone, in English: only their county --------------------------------
        en = new_page(PHONE, "en")
        sign_in(en, base, "yuelu_office")
        en.goto(f"{base}/stats/")
        expect(heading(en)).to_have_text("Statistics: Yuelu District")
        en_rows = en.locator("table.figures-table tbody tr")
        expect(en_rows).to_have_count(2)
        expect(en_rows.nth(0)).to_contain_text("Yuelu Middle School")
        expect(en.locator("main")).not_to_contain_text("Furong")
        expect(en.locator(".breadcrumbs")).not_to_contain_text("Changsha")  # nothing above their reach
        expect(card(en, "Quiz attempts", "en").locator(".stats-figure-value")).to_have_text(
            str(world["yuelu_attempts"])
        )
        assert_fits_the_phone(en)
        shot(en, "stats-county-organiser-en-phone")
        en.locator(".figures-links a[href*='/term/figures/']").click()
        expect(en).to_have_url(re.compile(rf"/term/figures/regions/{yuelu.pk}/$"))
        expect(en.locator("table.figures-table")).to_contain_text("Yuelu Middle School")
        for url in (
            f"/stats/regions/{furong.pk}/",
            f"/stats/regions/{city.pk}/",
            f"/stats/regions/{province.pk}/",
            "/stats/schools/SB001/",
            f"/stats/weekly/?region={furong.pk}",
        ):
            response = en.goto(f"{base}{url}")
            assert response.status == 404, url

        # --- a teacher: /stats/ is their school's page ------------------------------------------------------
        teacher = new_page(PHONE, "zh-hans")
        sign_in(teacher, base, "teacher_yuelu")
        teacher.goto(f"{base}/stats/")
        expect(teacher).to_have_url(re.compile(rf"/stats/schools/{school.code}/"))
        expect(heading(teacher)).to_contain_text("岳麓中学")
        expect(teacher.locator("table.figures-table")).to_have_count(0)
        shot(teacher, "stats-teacher-zh-phone")
        teacher.get_by_role("link", name=zh("Weekly report")).click()
        expect(teacher).to_have_url(f"{base}/stats/weekly/?school={school.code}")
        expect(heading(teacher)).to_contain_text("岳麓中学")
        teacher.go_back()
        teacher.locator(".figures-links a[href*='/term/figures/']").click()
        expect(teacher).to_have_url(re.compile(rf"/term/figures/schools/{school.code}/$"))
        expect(teacher.locator("table.figures-table")).to_contain_text("1班")

        # --- every page in both languages, at phone and desktop size ----------------------------------------
        pages = {
            "province": "/stats/",
            "city": f"/stats/regions/{city.pk}/",
            "county": f"/stats/regions/{yuelu.pk}/",
            "school": f"/stats/schools/{school.code}/",
            "weekly": f"/stats/weekly/?region={yuelu.pk}",
        }
        for language, short in (("zh-hans", "zh"), ("en", "en")):
            for size, options in (("phone", PHONE), ("desktop", DESKTOP)):
                page = new_page(options, language)
                sign_in(page, base, "hunan_office")
                for name, url in pages.items():
                    page.goto(f"{base}{url}")
                    expect(heading(page)).to_be_visible()
                    expect(page.locator(".stats-chart svg[role=img]").first).to_be_visible()
                    if size == "phone":
                        assert_fits_the_phone(page)
                    copy_for_review(shot(page, f"stats-{name}-{short}-{size}"))
                page.context.close()
                contexts.remove(page.context)
        for extra in (
            "county-organiser-en-phone.png",
            "teacher-zh-phone.png",
            "weekly-zh-print.png",
            "weekly-zh.pdf",
        ):
            copy_for_review(SCREENSHOTS / f"stats-{extra}")
    finally:
        for context in contexts:
            context.close()
