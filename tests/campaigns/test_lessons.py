"""Second-classroom lessons: the lesson page and its gates, safe bodies and video links, the student's path
on the home page, and the term content pages for organisers."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from campaigns import lessons
from campaigns.models import Enrollment, Lesson, LessonCompletion, TermExam
from quizzes.models import Quiz, QuizQuestion
from quizzes.services import attempt_answer, attempt_start, attempt_submit
from tests import factories
from tests.quizzes.conftest import make_question


def term_with_school(world, *, grades=(7, 8, 9)):
    """A term of county A with school A enrolled; school B is not."""
    term = factories.term(region=world.county_a, grades=grades)
    term.campaign.organisers.add(world.organiser_a)
    Enrollment.objects.create(
        term=term,
        school=world.school_a,
        status=Enrollment.Status.ENROLLED,
        invited_by=world.organiser_a,
        invited_at=timezone.now(),
    )
    return term


def make_quiz(world, term, *, title="课后小测", questions=2) -> Quiz:
    quiz = Quiz.objects.create(
        title=title,
        access=Quiz.Access.CAMPAIGN,
        campaign=term.campaign,
        owner_region=world.county_a,
        created_by=world.organiser_a,
        is_published=True,
        max_attempts=0,
        shuffle_questions=False,
        shuffle_options=False,
    )
    bank = [make_question(1000 + quiz.pk * 10 + n) for n in range(questions)]
    QuizQuestion.objects.bulk_create(
        QuizQuestion(quiz=quiz, question=q, position=i) for i, q in enumerate(bank)
    )
    return quiz


def take(quiz, user, *, right: int | None = None):
    """Sit the quiz: answer `right` questions correctly (all by default), the rest wrongly; submit."""
    now = timezone.now()
    attempt = attempt_start(quiz=quiz, user=user, now=now)
    items = list(attempt.items.select_related("version").order_by("position"))
    right = len(items) if right is None else right
    for item in items:
        correct = item.version.correct[0]
        choice = correct if item.position < right else (correct + 1) % len(item.version.options)
        attempt_answer(
            attempt_id=attempt.pk,
            owner=attempt_owner_q(user),
            position=item.position,
            selected=[item.option_order.index(choice)],
            now=now,
        )
    return attempt_submit(attempt=attempt, now=now)


def attempt_owner_q(user):
    from quizzes.access import AttemptOwner

    return AttemptOwner(user_id=user.pk)


def lesson(term, *, grade=7, position=None, **fields) -> Lesson:
    position = position or (Lesson.objects.filter(term=term, grade=grade).count() + 1)
    fields.setdefault("title", f"第{position}课")
    fields.setdefault("body", "毒品是指鸦片、海洛因、甲基苯丙胺（冰毒）等。")
    return Lesson.objects.create(term=term, grade=grade, position=position, **fields)


# --- the lesson page ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("guest", 302),
        ("student", 200),
        ("student_b", 404),  # a student of a school that is not enrolled
        ("student_grade8", 404),  # a student of another grade of the enrolled school
        ("teacher_a", 404),
        ("organiser_b", 404),
        ("organiser_a", 200),  # a preview for those who edit the campaign
        ("volunteer", 404),
    ],
)
def test_lesson_page_gate(world, login, name, expected):
    term = term_with_school(world)
    item = lesson(term)
    users = {
        "guest": None,
        "student_b": factories.user(is_student=True, school_class=world.class_b),
        "student_grade8": factories.user(
            is_student=True, school_class=factories.school_class(school=world.school_a, grade=8, name="2班")
        ),
    }
    user = users[name] if name in users else getattr(world, name)
    assert login(user).get(f"/campaigns/lessons/{item.pk}/").status_code == expected


def test_a_term_not_under_way_still_hides_its_lessons_from_other_schools(world, login):
    term = term_with_school(world)
    item = lesson(term)
    Enrollment.objects.filter(term=term).update(status=Enrollment.Status.INVITED)
    assert login(world.student).get(f"/campaigns/lessons/{item.pk}/").status_code == 404


def test_the_body_is_escaped_text_with_paragraphs(world, login):
    term = term_with_school(world)
    item = lesson(term, body='第一段<script>alert("x")</script>\n第二行\n\n<b>第二段</b>')
    html = login(world.student).get(f"/campaigns/lessons/{item.pk}/").content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<br>第二行" in html
    assert "<p>&lt;b&gt;第二段&lt;/b&gt;</p>" in html


def test_mark_as_read_records_the_lesson_once(world, login):
    term = term_with_school(world)
    item = lesson(term)
    client = login(world.student)
    assert (
        "I have read it"
        in client.get(f"/campaigns/lessons/{item.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )
    for _ in range(2):
        assert client.post(f"/campaigns/lessons/{item.pk}/done/").status_code == 302
    assert LessonCompletion.objects.filter(lesson=item, user=world.student).count() == 1
    assert world.student.term_progress.get(term=term).lessons_done == 1


def test_completion_needs_a_post_and_the_gate(world, login):
    term = term_with_school(world)
    item = lesson(term)
    assert login(world.student).get(f"/campaigns/lessons/{item.pk}/done/").status_code == 405
    outsider = factories.user(is_student=True, school_class=world.class_b)
    assert login(outsider).post(f"/campaigns/lessons/{item.pk}/done/").status_code == 404
    # An organiser previewing the lesson is not a student: nothing is recorded.
    assert login(world.organiser_a).post(f"/campaigns/lessons/{item.pk}/done/").status_code == 404
    assert not LessonCompletion.objects.exists()


def test_a_lesson_with_a_quiz_is_done_when_the_quiz_is_submitted(world, login):
    term = term_with_school(world)
    quiz = make_quiz(world, term)
    item = lesson(term, quiz=quiz)
    client = login(world.student)
    page = client.get(f"/campaigns/lessons/{item.pk}/").content.decode()
    assert f"/quizzes/{quiz.pk}/" in page
    # Reading alone is not enough for a lesson with a quiz.
    client.post(f"/campaigns/lessons/{item.pk}/done/")
    assert not LessonCompletion.objects.exists()
    take(quiz, world.student, right=0)  # any score finishes the lesson
    assert LessonCompletion.objects.filter(lesson=item, user=world.student).exists()
    progress = world.student.term_progress.get(term=term)
    assert (progress.lessons_done, progress.lessons_total, progress.completed_all) == (1, 1, True)


# --- video links -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://www.bilibili.com/video/BV1xx411c7mD",
        "https://evil.example.com/video.mp4",
        "https://www.bilibili.com.evil.example/video/BV1xx411c7mD",
        "https://user@www.bilibili.com/video/BV1xx411c7mD",
        "https://www.bilibili.com:8443/video/BV1xx411c7mD",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
    ],
)
def test_unsafe_video_links_are_refused(world, login, url):
    term = term_with_school(world)
    response = login(world.organiser_a).post(
        f"/campaigns/{term.campaign_id}/term/lessons/new/?grade=7",
        {"title": "视频课", "body": "", "video_url": url, "minutes": "10"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["video_url"]
    assert not Lesson.objects.exists()


@pytest.mark.parametrize(
    ("url", "embed"),
    [
        (
            "https://www.bilibili.com/video/BV1xx411c7mD",
            "https://player.bilibili.com/player.html?bvid=BV1xx411c7mD&autoplay=0",
        ),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "https://www.youtube.com/embed/dQw4w9WgXcQ"),
        ("https://youtu.be/dQw4w9WgXcQ", "https://www.youtube.com/embed/dQw4w9WgXcQ"),
        (
            "https://v.qq.com/x/page/x0012abcdef.html",
            "https://v.qq.com/txp/iframe/player.html?vid=x0012abcdef",
        ),
        ("https://www.ixigua.com/7012345678901234567", None),
        ("https://www.youtube.com/watch?v=%22onload%3D", None),
    ],
)
def test_allowed_video_links_and_their_players(url, embed):
    lessons.video_url_validate(url)
    assert lessons.video_embed_url(url) == embed


def test_the_lesson_page_shows_the_link_and_the_player(world, login):
    term = term_with_school(world)
    item = lesson(term, video_url="https://www.bilibili.com/video/BV1xx411c7mD")
    html = login(world.student).get(f"/campaigns/lessons/{item.pk}/").content.decode()
    assert 'href="https://www.bilibili.com/video/BV1xx411c7mD"' in html
    assert 'src="https://player.bilibili.com/player.html?bvid=BV1xx411c7mD&amp;autoplay=0"' in html


# --- the student's path on the home page --------------------------------------------------------------------


def test_the_home_page_shows_the_path_and_the_locked_exam(world, login):
    term = term_with_school(world)
    first, second = lesson(term, title="认识毒品"), lesson(term, title="学会拒绝")
    lesson(term, grade=8, title="八年级的课")
    TermExam.objects.create(term=term, grade=7, quiz=make_quiz(world, term, title="期末考试"))
    LessonCompletion.objects.create(lesson=first, user=world.student, completed_at=timezone.now())
    html = login(world.student).get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "认识毒品" in html and "学会拒绝" in html and "八年级的课" not in html
    assert "1 of 2 lessons done" in html
    assert f'href="/campaigns/lessons/{second.pk}/">Next lesson' in html.replace("\n", "")
    assert "opens once every lesson is done" in html


def test_the_home_page_has_no_path_for_a_school_not_enrolled(world, login):
    term_with_school(world)
    html = login(factories.user(is_student=True, school_class=world.class_b)).get("/").content.decode()
    assert "lesson-path" not in html


def test_path_and_lesson_query_budgets(world, login, django_assert_max_num_queries):
    term = term_with_school(world)
    items = [lesson(term, quiz=make_quiz(world, term, title=f"小测{n}") if n % 2 else None) for n in range(8)]
    TermExam.objects.create(term=term, grade=7, quiz=make_quiz(world, term, title="期末考试"))
    for item in items[:3]:
        LessonCompletion.objects.create(lesson=item, user=world.student, completed_at=timezone.now())
    client = login(world.student)
    client.get("/")  # the progress row is made on the first visit
    with django_assert_max_num_queries(22):
        assert client.get("/").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(f"/campaigns/lessons/{items[1].pk}/").status_code == 200


# --- term content (organisers) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("guest", 302),
        ("student", 403),
        ("teacher_a", 403),
        ("organiser_b", 403),
        ("organiser_a", 200),
        ("admin", 200),
    ],
)
def test_term_content_gate(world, login, name, expected):
    term = term_with_school(world)
    user = None if name == "guest" else getattr(world, name)
    assert login(user).get(f"/campaigns/{term.campaign_id}/term/lessons/").status_code == expected


def test_outsiders_cannot_change_lessons(world, login):
    term = term_with_school(world)
    item = lesson(term)
    quiz = make_quiz(world, term)
    for user in (world.organiser_b, world.teacher_a, world.student):
        client = login(user)
        assert (
            client.post(
                f"/campaigns/{term.campaign_id}/term/lessons/new/?grade=7", {"title": "x", "minutes": "5"}
            ).status_code
            == 403
        )
        assert client.get(f"/campaigns/lessons/{item.pk}/edit/").status_code == 403
        assert (
            client.post(f"/campaigns/lessons/{item.pk}/edit/", {"title": "改", "minutes": "5"}).status_code
            == 403
        )
        assert client.post(f"/campaigns/lessons/{item.pk}/move/", {"direction": "down"}).status_code == 403
        assert client.post(f"/campaigns/lessons/{item.pk}/delete/").status_code == 403
        assert (
            client.post(f"/campaigns/{term.campaign_id}/term/exams/7/", {"g7-quiz": quiz.pk}).status_code
            == 403
        )
    item.refresh_from_db()
    assert item.title == "第1课" and Lesson.objects.count() == 1 and not TermExam.objects.exists()
    assert login(None).post(f"/campaigns/lessons/{item.pk}/delete/").status_code == 302
    assert Lesson.objects.count() == 1


def png_upload() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "blue").save(out, format="PNG")
    return SimpleUploadedFile("photo with gps.png", out.getvalue(), content_type="image/png")


def test_an_organiser_creates_edits_reorders_and_deletes_lessons(world, login, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    term = term_with_school(world)
    client = login(world.organiser_a)
    base = f"/campaigns/{term.campaign_id}/term/lessons/"
    for title in ("认识毒品", "学会拒绝", "求助渠道"):
        response = client.post(
            f"{base}new/?grade=7", {"title": title, "body": "正文", "minutes": "12", "image": png_upload()}
        )
        assert response.status_code == 302, response.context and response.context["form"].errors
    first, second, third = Lesson.objects.filter(term=term, grade=7).order_by("position")
    assert [first.position, second.position, third.position] == [1, 2, 3]
    assert first.image.name.startswith("lessons/") and first.image.name.endswith(".jpg")
    client.post(f"/campaigns/lessons/{third.pk}/move/", {"direction": "up"})
    assert list(Lesson.objects.filter(term=term, grade=7).values_list("title", flat=True)) == [
        "认识毒品",
        "求助渠道",
        "学会拒绝",
    ]
    client.post(f"/campaigns/lessons/{first.pk}/move/", {"direction": "up"})  # already first: nothing moves
    assert Lesson.objects.get(pk=first.pk).position == 1
    client.post(
        f"/campaigns/lessons/{second.pk}/edit/", {"title": "学会说“不”", "body": "新正文", "minutes": "15"}
    )
    second.refresh_from_db()
    assert (second.title, second.minutes) == ("学会说“不”", 15)
    client.post(f"/campaigns/lessons/{first.pk}/delete/")
    assert Lesson.objects.filter(term=term).count() == 2
    page = client.get(base, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "求助渠道" in page and "2 lessons, 27 minutes in all" in page


def test_a_grade_outside_the_term_is_refused(world, login):
    term = term_with_school(world)
    client = login(world.organiser_a)
    assert client.get(f"/campaigns/{term.campaign_id}/term/lessons/new/?grade=3").status_code == 404
    assert client.get(f"/campaigns/{term.campaign_id}/term/lessons/new/?grade=x").status_code == 404
    assert client.post(f"/campaigns/{term.campaign_id}/term/exams/3/", {}).status_code == 404


def test_the_final_exam_is_chosen_from_the_quizzes_the_organiser_may_use(world, login):
    term = term_with_school(world)
    mine = make_quiz(world, term, title="期末考试")
    theirs = Quiz.objects.create(
        title="开福区的测验", access=Quiz.Access.LINK, owner_region=world.county_b, is_published=True
    )
    client = login(world.organiser_a)
    page = client.get(f"/campaigns/{term.campaign_id}/term/lessons/").content.decode()
    assert "期末考试" in page and "开福区的测验" not in page
    client.post(f"/campaigns/{term.campaign_id}/term/exams/7/", {"g7-quiz": theirs.pk})
    assert not TermExam.objects.exists()
    client.post(f"/campaigns/{term.campaign_id}/term/exams/7/", {"g7-quiz": mine.pk})
    assert TermExam.objects.get(term=term, grade=7).quiz == mine
    client.post(f"/campaigns/{term.campaign_id}/term/exams/7/", {"g7-quiz": ""})
    assert not TermExam.objects.exists()


def test_term_content_query_budget(world, login, django_assert_max_num_queries):
    term = term_with_school(world)
    for grade in (7, 8, 9):
        for _ in range(5):
            lesson(term, grade=grade, quiz=make_quiz(world, term, title=f"小测{grade}"))
        TermExam.objects.create(term=term, grade=grade, quiz=make_quiz(world, term, title=f"期末{grade}"))
    client = login(world.organiser_a)
    with django_assert_max_num_queries(14):
        assert client.get(f"/campaigns/{term.campaign_id}/term/lessons/").status_code == 200


def test_lesson_quizzes_and_exams_are_offered_by_the_path_not_among_open_quizzes(world):
    from quizzes.selectors import quizzes_open_for_user

    term = term_with_school(world)
    lesson_quiz = make_quiz(world, term, title="课后小测")
    exam = make_quiz(world, term, title="期末考试")
    other = make_quiz(world, term, title="知识竞赛练习")
    lesson(term, quiz=lesson_quiz)
    TermExam.objects.create(term=term, grade=7, quiz=exam)
    assert quizzes_open_for_user(user=world.student) == [other]
