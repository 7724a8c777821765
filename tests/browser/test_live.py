"""A live contest played to the podium: a teacher's projector and three phones (a signed-in student and two
guests), over real WebSockets. One player reloads in the middle of a question and comes back into it with
their answer and their score; the podium shows the right order, in Chinese and in English."""

import re

from playwright.sync_api import expect

from quizzes.live.services import contest_create
from quizzes.models import LivePlayer, Quiz, QuizQuestion
from tests import factories
from tests.browser.conftest import PHONE
from tests.quizzes.conftest import make_question

PASSWORD = "Qk-very-secret-42"
PROJECTOR = {"viewport": {"width": 1920, "height": 1080}}


def sign_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=login]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".user-menu")).to_be_visible()


def host_phase(host, phase):
    """Wait until the projector shows `phase` and its controls are ready for the next command."""
    expect(host.locator("#live-host")).to_have_attribute("data-phase", phase)
    expect(host.locator("#live-host")).not_to_have_attribute("data-busy", "1")


def screen(page, name):
    expect(page.locator("#live-play")).to_have_attribute("data-screen", name)


def tap(page, index):
    page.locator(".lv-option").nth(index).click()


def received(page, question, *, last=False):
    expect(page.locator("#live-play")).to_have_attribute("data-confirmed", str(question))
    if not last:
        # After the last player's answer the question closes at once, and the reveal may already be up.
        expect(page.locator("#lv-q-status")).to_be_visible()


def score_of(page) -> int:
    return int(re.sub(r"\D", "", page.locator("#lv-score").inner_text()) or 0)


def test_live_contest_to_the_podium(live_server_url, browser, shot):
    base = live_server_url
    province = factories.region(code="430000", name="湖南省", level=1)
    county = factories.region(code="430104", name="岳麓区", level=2, parent=province)
    school = factories.school(region=county, name="岳麓区第一初级中学")
    klass = factories.school_class(school=school, grade=7, name="1班")
    teacher = factories.user(username="laoshi", password=PASSWORD, is_teacher=True, school=school)
    factories.user(
        username="xiaoqing", password=PASSWORD, is_student=True, school_class=klass, nickname="小晴"
    )
    quiz = Quiz.objects.create(
        title="禁毒知识擂台",
        access=Quiz.Access.CLASS,
        target_class=klass,
        owner_school=school,
        created_by=teacher,
        is_published=True,
        shuffle_questions=False,
        shuffle_options=False,
    )
    questions = [
        make_question(1, correct=("B",)),
        make_question(2, kind="multiple", correct=("A", "C")),
        make_question(3, kind="true_false", correct=("A",)),
    ]
    QuizQuestion.objects.bulk_create(
        QuizQuestion(quiz=quiz, question=q, position=i) for i, q in enumerate(questions)
    )
    # Long enough never to close on its own during the test: the host drives it, or everyone answers.
    contest = contest_create(quiz=quiz, host=teacher, seconds_per_question=30, allow_guests=True)

    contexts = []

    def new_page(options, **extra):
        context = browser.new_context(**options, locale="zh-CN", **extra)
        contexts.append(context)
        return context.new_page()

    try:
        # --- the projector's lobby ------------------------------------------------------------------
        host = new_page(PROJECTOR)
        sign_in(host, base, "laoshi")
        host.goto(f"{base}/live/{contest.pk}/host/")
        host_phase(host, "lobby")
        expect(host.locator("#lh-pin")).to_have_text(contest.pin)
        expect(host.locator(".lh-qr svg")).to_be_visible()
        expect(host.get_by_role("button", name="开始")).to_be_visible()

        # --- three players join: a signed-in student and two guests (one of them reads English) ------
        student = new_page(PHONE)
        sign_in(student, base, "xiaoqing")
        student.goto(f"{base}/live/join/?pin={contest.pin}")
        expect(student.locator("input[name=nickname]")).to_have_count(0)
        student.locator("main form button[type=submit]").click()
        screen(student, "lobby")
        expect(student.locator("#lv-lobby-name")).to_have_text("小晴")
        expect(student).to_have_url(re.compile(rf"/live/{contest.pk}/play/$"))

        guests = {}
        for nickname, language in (("阿明", "zh-hans"), ("小雨", "en")):
            page = new_page(PHONE)
            page.context.add_cookies([{"name": "qk_language", "value": language, "url": base}])
            page.goto(f"{base}/live/join/?pin={contest.pin}")
            page.locator("input[name=nickname]").fill(nickname)
            page.locator("main form button[type=submit]").click()
            screen(page, "lobby")
            expect(page.locator("#lv-lobby-name")).to_have_text(nickname)
            guests[nickname] = page
        aming, xiaoyu = guests["阿明"], guests["小雨"]
        expect(xiaoyu.get_by_text("You're in!")).to_be_visible()
        expect(student.locator("#lv-lobby-count")).to_contain_text("3")

        # A fourth player is removed by the host: their phone says so and stops reconnecting.
        extra = new_page(PHONE)
        extra.goto(f"{base}/live/join/?pin={contest.pin}")
        extra.locator("input[name=nickname]").fill("路人甲")
        extra.locator("main form button[type=submit]").click()
        screen(extra, "lobby")
        expect(host.locator(".lh-chip")).to_have_count(4)
        host.get_by_role("button", name="移出 路人甲").click()
        screen(extra, "kicked")
        expect(extra.locator("#live-play")).to_have_attribute("data-connection", "stopped")
        shot(extra, "live-player-kicked-zh")

        expect(host.locator(".lh-chip")).to_have_count(3)
        for nickname in ("小晴", "阿明", "小雨"):
            expect(host.locator(".lh-chips")).to_contain_text(nickname)
        expect(host.locator("#lh-lobby-count")).to_have_text("3")
        shot(host, "live-host-lobby-zh")
        shot(student, "live-player-lobby-zh")

        # --- question 1 (single choice, B): everyone answers, so it closes by itself ----------------
        host.locator("#lh-start-big").click()
        host_phase(host, "question")
        expect(host.locator("#lh-q-stem")).to_have_text("第1题：哪一项正确？")
        expect(host.locator(".lh-tile")).to_have_count(4)
        for page in (student, aming, xiaoyu):
            screen(page, "question")
            expect(page.locator(".lv-option")).to_have_count(4)
        expect(student.locator("#lv-q-progress")).to_have_text("第 1 题，共 3 题")
        expect(xiaoyu.locator("#lv-q-progress")).to_have_text("Question 1 of 3")
        shot(student, "live-player-question-zh")
        shot(xiaoyu, "live-player-question-en")

        tap(student, 1)
        received(student, 0)
        expect(student.locator(".lv-option").nth(1)).to_have_class(re.compile("is-picked"))
        expect(host.locator("#lh-q-answered")).to_have_text("1")
        shot(host, "live-host-question-zh")
        shot(student, "live-player-answered-zh")
        tap(aming, 1)
        received(aming, 0)
        tap(xiaoyu, 0)
        received(xiaoyu, 0, last=True)

        host_phase(host, "reveal")
        expect(host.locator(".lh-col")).to_have_count(4)
        expect(host.locator(".lh-col.is-correct")).to_have_count(1)
        expect(host.locator(".lh-col").nth(1).locator(".lh-col-count")).to_have_text("2")
        expect(host.locator("#lh-r-explanation")).to_contain_text("解析1")
        for page, verdict in ((student, "right"), (aming, "right"), (xiaoyu, "wrong")):
            screen(page, "reveal")
            expect(page.locator("#live-play")).to_have_attribute("data-verdict", verdict)
        expect(student.locator("#lv-r-points")).to_have_text(re.compile(r"^\+\d"))
        expect(student.locator("#lv-r-rank")).to_have_text(re.compile("第 1 名"))
        expect(xiaoyu.locator("#lv-r-points")).to_have_text("+0")
        shot(host, "live-host-reveal-zh")
        shot(student, "live-player-reveal-zh")
        shot(xiaoyu, "live-player-reveal-en")

        host.keyboard.press("ArrowRight")  # reveal → leaderboard, by keyboard
        host_phase(host, "leaderboard")
        expect(host.locator(".lh-row")).to_have_count(3)
        screen(student, "leaderboard")
        expect(student.locator("#lv-lb-you")).to_contain_text("1")
        host.get_by_role("button", name="下一题").click()

        # --- question 2 (multiple, A+C): a reload in the middle; one player never answers ------------
        host_phase(host, "question")
        screen(student, "question")
        tap(student, 0)
        tap(student, 2)
        expect(student.locator(".lv-option[aria-pressed=true]")).to_have_count(2)
        student.locator("#lv-q-submit").click()
        received(student, 1)

        # Pause and resume with the P key: the phones freeze and come back into the question.
        host.keyboard.press("p")
        host_phase(host, "paused")
        expect(host.get_by_role("button", name="继续")).to_be_visible()
        expect(student.locator("#lv-paused")).to_be_visible()
        expect(aming.locator("#lv-paused")).to_be_visible()
        shot(host, "live-host-paused-zh")
        host.keyboard.press("p")
        host_phase(host, "question")
        expect(aming.locator("#lv-paused")).to_be_hidden()
        received(student, 1)
        screen(aming, "question")
        tap(aming, 0)
        tap(aming, 2)
        aming.locator("#lv-q-submit").click()
        received(aming, 1)
        score_before = score_of(aming)
        assert score_before > 0

        aming.reload()
        screen(aming, "question")
        expect(aming.locator("#live-play")).to_have_attribute("data-question", "1")
        received(aming, 1)  # welcome.answered: the answer is kept, and shown as received
        expect(aming.locator(".lv-option").first).to_be_disabled()
        # The time left comes from the server: less than the full 30 s, and still running.
        seconds_left = int(aming.locator("#lv-q-timer").inner_text())
        assert 0 < seconds_left <= 30
        bar = aming.locator("#lv-q-timebar").evaluate("node => parseFloat(node.style.width)")
        assert 0 < bar < 100
        expect(aming.locator("#lv-score")).to_contain_text(f"{score_before:,}")
        shot(aming, "live-player-after-reload-zh")

        expect(host.locator("#lh-q-answered")).to_have_text("2")
        host.get_by_role("button", name="公布答案").click()  # 小雨 has not answered: close it now
        host_phase(host, "reveal")
        expect(host.locator(".lh-col.is-correct")).to_have_count(2)
        expect(aming.locator("#live-play")).to_have_attribute("data-verdict", "right")
        expect(xiaoyu.locator("#live-play")).to_have_attribute("data-verdict", "none")
        host.keyboard.press("Space")
        host_phase(host, "leaderboard")
        shot(host, "live-host-leaderboard-zh")
        host.keyboard.press("Space")

        # --- question 3 (true or false, A) ----------------------------------------------------------
        host_phase(host, "question")
        for page, option in ((student, 0), (aming, 1), (xiaoyu, 0)):
            screen(page, "question")
            expect(page.locator(".lv-option")).to_have_count(2)
            tap(page, option)
            received(page, 2, last=page is xiaoyu)
        host_phase(host, "reveal")
        host.keyboard.press("ArrowRight")
        host_phase(host, "leaderboard")
        expect(host.locator("#lh-next")).to_have_text("揭晓领奖台")
        host.locator("#lh-next").click()

        # --- the podium ----------------------------------------------------------------------------
        host_phase(host, "finished")
        expect(host.locator("#lh-f-podium .lv-step-name")).to_have_text(["小晴", "阿明", "小雨"])
        expect(host.locator("#lh-results")).to_be_visible()
        for page in (student, aming, xiaoyu):
            screen(page, "finished")
            expect(page.locator("#lv-f-podium .lv-step-name")).to_have_text(["小晴", "阿明", "小雨"])
        expect(student.locator("#lv-f-you")).to_contain_text("第 1 名")
        expect(xiaoyu.locator("#lv-f-you")).to_contain_text("You finished #3 of 3")
        ranks = dict(LivePlayer.objects.filter(contest=contest, kicked=False).values_list("nickname", "rank"))
        assert ranks == {"小晴": 1, "阿明": 2, "小雨": 3}
        shot(host, "live-host-podium-zh")
        shot(student, "live-player-podium-zh")
        shot(xiaoyu, "live-player-podium-en")

        # The projector in English, after a reload: it comes back to the podium.
        host.get_by_role("button", name="English").click()
        host_phase(host, "finished")
        expect(host.get_by_role("heading", name="Podium")).to_be_visible()
        expect(host.locator("#lh-f-podium .lv-step-name")).to_have_text(["小晴", "阿明", "小雨"])
        shot(host, "live-host-podium-en")
    finally:
        for context in contexts:
            context.close()
