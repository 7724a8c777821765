"""The second-classroom programme end to end in a real browser (issue #5): a school admin uploads the roster
on a desktop, checks the preview and confirms it, prints the claim slips; two students claim their accounts on
their phones (one in English, one in Chinese) with the username and code read from the slips, land signed in,
and one opens the lesson from the home page and reads it; the teacher's class page then shows who registered,
who finished the lesson and the figures, and the reminder sheet lists the students with something to do.

The data a region's office would have made beforehand — the school, its admin, a term the school is enrolled
in with a grade-7 lesson — is set up through the services.
"""

import io
import re

import openpyxl
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import lessons
from campaigns.models import Lesson, StudentProgress
from campaigns.services import enrollment_enroll
from edu.models import SchoolClass, Student
from tests import factories
from tests.browser.conftest import DESKTOP, PHONE
from tests.live_server import daphne_server

PASSWORD = "Qk-very-secret-42"
STUDENT_PASSWORD = "Sunny-river-2026"
ROSTER = [
    ["姓名", "学号", "年级", "班级", "性别", "出生日期"],
    ["王小明", "2025070301", "七年级", "3班", "男", "2013-03-05"],
    ["李思雨", "2025070302", "七年级", "3班", "女", "2013-09-18"],
    ["欧阳娜娜", "2025070303", "七年级", "3班", "女", ""],
]


@pytest.fixture
def server(transactional_db, settings, tmp_path):
    # Uploaded rosters wait in the media storage until confirmed: a temporary one, set before the fork.
    settings.MEDIA_ROOT = tmp_path / "media"
    with daphne_server() as url:
        yield url


def either(chinese: str, english: str) -> re.Pattern:
    """A button or link in Chinese — or in English while a new string waits for its translation."""
    return re.compile(rf"^\s*({re.escape(chinese)}|{re.escape(english)})\s*$")


def roster_file(path) -> None:
    workbook = openpyxl.Workbook()
    for row in ROSTER:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(buffer.getvalue())


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=login]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("input[name=password]")).to_have_count(0)


def claim(page, base: str, *, username: str, code: str, button: str) -> None:
    page.goto(f"{base}/accounts/claim/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=claim_code]").fill(code)
    page.locator("input[name=password1]").fill(STUDENT_PASSWORD)
    page.locator("input[name=password2]").fill(STUDENT_PASSWORD)
    page.get_by_role("button", name=button).click()


def test_a_school_registers_its_students_who_take_a_lesson(server, browser, shot, tmp_path):
    base = server
    province = factories.region(code="430000", name="湖南省", name_en="Hunan Province", level=1)
    city = factories.region(code="430100", name="长沙市", name_en="Changsha", level=2, parent=province)
    county = factories.region(code="430104", name="岳麓区", name_en="Yuelu District", level=3, parent=city)
    school = factories.school(region=county, code="SA001", name="岳麓中学", name_en="Yuelu Middle School")
    factories.user(
        username="admin_yuelu",
        password=PASSWORD,
        is_teacher=True,
        is_school_admin=True,
        school=school,
        first_name="陈老师",
    )
    office = factories.user(username="yuelu_office", is_organiser=True, region=county)
    term = factories.term(region=county, grades=(7, 8, 9), title="2026年秋季禁毒第二课堂")
    term.campaign.organisers.add(office)
    enrollment_enroll(term=term, school=school, by=office, now=timezone.now())
    lessons.lesson_save(
        lesson=Lesson(
            term=term,
            grade=7,
            title="认识毒品的危害",
            body="毒品是指鸦片、海洛因、甲基苯丙胺（冰毒）等。\n\n珍爱生命，远离毒品。",
            minutes=15,
        ),
        by=office,
    )
    upload = tmp_path / "七年级3班名单.xlsx"
    roster_file(upload)

    contexts = []

    def new_page(options: dict, language: str):
        context = browser.new_context(**options, locale="zh-CN" if language == "zh-hans" else "en-US")
        context.add_cookies([{"name": "qk_language", "value": language, "url": base}])
        contexts.append(context)
        return context.new_page()

    try:
        # --- the school admin uploads the roster, checks the preview and confirms --------------------------
        desk = new_page(DESKTOP, "zh-hans")
        sign_in(desk, base, "admin_yuelu")
        desk.goto(f"{base}/schools/{school.code}/roster/")
        desk.locator("input[type=file]").set_input_files(str(upload))
        desk.get_by_role("button", name=either("上传并预览", "Upload and preview")).click()
        expect(desk).to_have_url(re.compile(rf"/schools/{school.code}/roster/[0-9a-f]{{32}}/$"))
        for name in ("王小明", "李思雨", "欧阳娜娜"):
            expect(desk.locator("main")).to_contain_text(name)
        shot(desk, "second-classroom-roster-preview-zh-desktop")
        assert not Student.objects.exists()  # a preview imports nothing
        desk.get_by_role("button", name=either("导入名册", "Import the roster")).click()
        expect(desk).to_have_url(f"{base}/schools/{school.code}/roster/")
        assert Student.objects.filter(school=school).count() == 3
        school_class = SchoolClass.objects.get(school=school, grade=7, name="3班")

        # --- the claim slips: printed from the class page; a username and a code read from each ------------
        desk.goto(f"{base}/classes/{school_class.pk}/")
        desk.get_by_role("link", name=either("打印激活单", "Print claim slips")).first.click()
        desk.get_by_role("button", name=either("生成激活单", "Make the slips")).click()
        expect(desk.locator(".slip")).to_have_count(3)
        shot(desk, "second-classroom-claim-slips-zh-desktop")
        slips = {}
        for slip in desk.locator(".slip").all():
            name = slip.locator(".slip-name").inner_text().strip()
            username = slip.locator("dd.slip-mono:not(.slip-code)").inner_text().strip()
            code = slip.locator("dd.slip-code").inner_text().strip()
            slips[name] = (username, code)
        assert slips["王小明"][0] == "s2025070301"
        code_shape = re.compile(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}")
        assert all(code_shape.fullmatch(code) for _username, code in slips.values())

        # --- 王小明 claims his account on a phone, in English -----------------------------------------------
        en = new_page(PHONE, "en")
        en.goto(f"{base}/accounts/claim/")
        expect(en.get_by_role("heading", level=1)).to_have_text("Set up your account")
        shot(en, "second-classroom-claim-en-phone")
        username, code = slips["王小明"]
        claim(en, base, username=username, code=code.lower().replace("-", " "), button="Set my password")
        expect(en).to_have_url(f"{base}/")
        expect(en.get_by_role("link", name="认识毒品的危害")).to_be_visible()
        shot(en, "second-classroom-claimed-home-en-phone")

        # --- 李思雨 claims hers in Chinese, opens the lesson from the home page and reads it ---------------
        zh = new_page(PHONE, "zh-hans")
        username, code = slips["李思雨"]
        claim(zh, base, username=username, code=code, button=either("设置密码", "Set my password"))
        expect(zh).to_have_url(f"{base}/")
        path = zh.locator(".lesson-path")
        expect(path).to_contain_text("2026年秋季禁毒第二课堂")
        shot(zh, "second-classroom-home-zh-phone")
        path.get_by_role("link", name=either("开始第一课", "Start the first lesson")).click()
        expect(zh.get_by_role("heading", level=1)).to_have_text("认识毒品的危害")
        expect(zh.locator(".lesson-body")).to_contain_text("珍爱生命，远离毒品。")
        shot(zh, "second-classroom-lesson-zh-phone")
        zh.get_by_role("button", name=either("我已读完", "I have read it")).click()
        zh.goto(f"{base}/")
        expect(zh.locator(".lesson-path .path-list li.is-done")).to_have_count(1)
        li = Student.objects.get(real_name="李思雨").user
        progress = StudentProgress.objects.get(term=term, user=li)
        assert progress.registered and progress.completed_all and progress.school_class_id == school_class.pk

        # --- the teacher's class page: who registered, who finished, the figures ----------------------------
        desk.goto(f"{base}/classes/{school_class.pk}/")
        section = desk.locator(f"section.class-progress[data-term='{term.pk}']")
        expect(section).to_contain_text("2026年秋季禁毒第二课堂")
        expect(section.locator("[data-figure=registration] strong")).to_have_text("66.7%")
        expect(section.locator("[data-figure=participation] strong")).to_have_text("33.3%")
        unregistered = section.locator("[data-list=unregistered]")
        expect(unregistered.locator("tbody tr")).to_have_count(1)
        expect(unregistered).to_contain_text("欧阳娜娜")
        behind = section.locator("[data-list=behind]")
        expect(behind.locator("tbody tr")).to_have_count(1)
        expect(behind).to_contain_text("王小明")
        expect(behind).to_contain_text("0 / 1")
        expect(behind).not_to_contain_text("李思雨")  # registered and done: on neither list
        expect(desk.locator("table.roster-table tr", has_text="李思雨")).to_contain_text("✓")
        section.scroll_into_view_if_needed()
        shot(desk, "second-classroom-class-page-zh-desktop")
        section.screenshot(path=str(shot_dir() / "class-progress-section-zh.png"))

        # --- the reminder sheet -----------------------------------------------------------------------------
        section.get_by_role("link", name=re.compile("reminder sheet|提醒单")).click()
        expect(desk).to_have_url(f"{base}/classes/{school_class.pk}/reminders/?term={term.pk}")
        strips = desk.locator("article.reminder")
        expect(strips).to_have_count(2)
        expect(strips.nth(0)).to_contain_text("王小明")
        expect(strips.nth(1)).to_contain_text("欧阳娜娜")
        expect(strips.nth(1)).to_contain_text("/accounts/claim/")
        shot(desk, "second-classroom-reminders-zh-desktop")
        desk.screenshot(path=str(shot_dir() / "reminders-zh.png"), full_page=True)
        desk.emulate_media(media="print")
        expect(desk.locator(".no-print")).to_be_hidden()
        desk.screenshot(path=str(shot_dir() / "reminders-zh-print.png"), full_page=True)
        desk.emulate_media(media="screen")

        # --- the same pages in English ----------------------------------------------------------------------
        desk.context.add_cookies([{"name": "qk_language", "value": "en", "url": base}])
        desk.goto(f"{base}/classes/{school_class.pk}/")
        section = desk.locator(f"section.class-progress[data-term='{term.pk}']")
        expect(section).to_contain_text("registered: 2 of 3")
        expect(section).to_contain_text("finished every lesson: 1 of 3")
        section.screenshot(path=str(shot_dir() / "class-progress-section-en.png"))
        shot(desk, "second-classroom-class-page-en-desktop")
        section.get_by_role("link", name="Print reminder sheet").click()
        strips = desk.locator("article.reminder")
        expect(strips.nth(0)).to_contain_text("Lessons: 0 of 1 done.")
        expect(strips.nth(1)).to_contain_text("Ask your teacher for your claim slip")
        desk.screenshot(path=str(shot_dir() / "reminders-en.png"), full_page=True)
        shot(desk, "second-classroom-reminders-en-desktop")

        # --- and the class page on a teacher's phone: the section fits the screen -------------------------
        desk.set_viewport_size(PHONE["viewport"])
        desk.goto(f"{base}/classes/{school_class.pk}/")
        section = desk.locator(f"section.class-progress[data-term='{term.pk}']")
        width = desk.evaluate("document.documentElement.scrollWidth")
        # (What sticks out, should it fail.)
        wide = desk.evaluate(
            "[...document.querySelectorAll('main *')]"
            ".filter(e => e.getBoundingClientRect().right > 391).slice(0, 8)"
            ".map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"
        )
        assert width <= PHONE["viewport"]["width"], wide
        section.screenshot(path=str(shot_dir() / "class-progress-section-en-phone.png"))
    finally:
        for context in contexts:
            context.close()


def shot_dir():
    """Copies of the class page's section and the reminder sheet for review, beside the other screenshots."""
    from tests.browser.conftest import SCREENSHOTS

    folder = SCREENSHOTS / "second-classroom"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
