"""A student takes a timed random quiz on a phone, reloads midway, finishes and reads the explanations."""

import re

from playwright.sync_api import expect

from quizzes.models import Category, Quiz, QuizRule
from quizzes.starter import starter_bank_load
from tests import factories


def sign_in(page, base, username, password):
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=login]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("main form button[type=submit]").click()


def test_timed_random_quiz_with_a_reload(live_server_url, phone, shot):
    starter_bank_load()
    province = factories.region(code="430000", name="湖南省", level=1)
    county = factories.region(code="430104", name="岳麓区", level=2, parent=province)
    school = factories.school(region=county, name="岳麓区第一初级中学")
    klass = factories.school_class(school=school, grade=7, name="1班")
    factories.user(
        username="xiaoqing",
        password="Qk-very-secret-42",
        is_student=True,
        school_class=klass,
        nickname="小晴",
    )
    quiz = Quiz.objects.create(
        title="禁毒知识小测验",
        access=Quiz.Access.CLASS,
        target_class=klass,
        selection=Quiz.Selection.RANDOM,
        time_limit_minutes=10,
        max_attempts=2,
        is_published=True,
        review=Quiz.Review.AFTER_SUBMIT,
    )
    for slug in ("identification", "refusal", "help"):
        QuizRule.objects.create(quiz=quiz, category=Category.objects.get(slug=slug), count=2)

    page = phone
    # Every answer the script saves, and the submission, go the token lane (quizzes/access.py) and are
    # accepted there.
    answers, submissions = [], []
    page.on(
        "response",
        lambda response: (
            (answers if response.url.endswith("/answer/") else submissions).append(
                (response.request.headers.get("x-answer-token", ""), response.status)
            )
            if response.url.endswith(("/answer/", "/submit/"))
            else None
        ),
    )
    sign_in(page, live_server_url, "xiaoqing", "Qk-very-secret-42")
    page.get_by_role("link", name="禁毒知识小测验").click()
    page.get_by_role("button", name="开始").click()
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^(9|10):\d\d$"))
    expect(page.get_by_text("第 1 题，共 6 题")).to_be_visible()

    # Question 1: tapping an option saves it at once; question 2 through the "Next" button.
    page.locator(".option").first.click()
    expect(page.locator("#save-state")).to_have_text("答案已保存。")
    page.get_by_role("button", name="下一题 →").click()
    page.locator(".option").nth(1).click()
    expect(page.locator("#save-state")).to_have_text("答案已保存。")
    shot(page, "quiz-question-zh-phone")

    # A reload (or a lost connection) loses nothing: the page comes back at the first unanswered question.
    page.goto(page.url.split("?")[0])
    expect(page.get_by_text("第 3 题，共 6 题")).to_be_visible()
    expect(page.locator(".dot.done")).to_have_count(2)
    page.locator(".dot").first.click()
    expect(page.locator(".option input:checked")).to_have_count(1)

    for number in range(3, 7):
        page.locator(".dot").nth(number - 1).click()
        page.locator(".option").first.click()
        expect(page.locator("#save-state")).to_have_text("答案已保存。")
    page.reload()
    expect(page.locator(".dot.done")).to_have_count(6)
    script_saves = [(token, status) for token, status in answers if status == 200]
    assert len(script_saves) >= 6 and all(token.count(":") == 2 for token, _ in script_saves), answers
    assert all(status in (200, 302) for _, status in answers), answers
    page.get_by_role("button", name="提交答案").click()

    expect(page.locator(".score-big")).to_be_visible()
    [(submit_token, submit_status)] = submissions
    assert submit_token.count(":") == 2 and submit_status == 200
    expect(page.locator(".explanation")).to_have_count(6)
    expect(page.locator(".review-item").first).to_contain_text("为什么")
    shot(page, "quiz-review-zh-phone")

    page.get_by_role("button", name="English").click()
    expect(page.locator(".review-item").first).to_contain_text("Why")
    expect(page.get_by_text("right answer").first).to_be_visible()
    shot(page, "quiz-review-en-phone")
