"""The question bank pages: who may see and edit, the list's filters, detail, create and edit, export."""

import io
import uuid
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from PIL import Image

from quizzes.importing import ParsedQuestion, parse_file
from quizzes.models import Attempt, AttemptItem, Category, Question, QuestionVersion, Quiz
from quizzes.services import category_for_path, question_create


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def login(login):
    """The personas' clients, reading the site in English."""

    def signed_in(user):
        client = login(user)
        client.cookies["qk_language"] = "en"
        return client

    return signed_in


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def bank_question(
    n: int,
    *,
    owner=None,
    status=Question.Status.READY,
    category=("法律",),
    kind="single",
    language="zh-hans",
    difficulty=2,
    audience=("junior",),
    stem: str | None = None,
) -> Question:
    if kind == "true_false":
        options, correct = ("正确", "错误"), ("B",)
    elif kind == "multiple":
        options, correct = (f"甲{n}", f"乙{n}", f"丙{n}", f"丁{n}"), ("A", "C")
    else:
        options, correct = (f"甲{n}", f"乙{n}", f"丙{n}", f"丁{n}"), ("B",)
    parsed = ParsedQuestion(
        type=kind,
        stem=stem or f"第{n}题：下列哪一项正确？",
        options=options,
        correct=correct,
        explanation=f"解析{n}",
        difficulty=difficulty,
        audience=audience,
        language=language,
        source="测试",
    )
    return question_create(
        parsed=parsed, category=category_for_path(names=category), user=owner, status=status
    )


def answer(
    version: QuestionVersion, *, item_score, total, max_score=4, selected=(1,), submitted=True
) -> AttemptItem:
    """One attempt that showed this version, written straight to the database as if a student had sat it."""
    quiz = Quiz.objects.get_or_create(title="统计测验", defaults={"access": Quiz.Access.LINK})[0]
    attempt = Attempt.objects.create(
        quiz=quiz,
        guest_key=uuid.uuid4().hex,
        submitted_at=timezone.now() if submitted else None,
        score=Decimal(str(total)) if submitted else None,
        max_score=Decimal(max_score),
    )
    return AttemptItem.objects.create(
        attempt=attempt,
        position=0,
        version=version,
        option_order=list(range(len(version.options))),
        selected=list(selected) if selected is not None else None,
        answered_at=timezone.now() if selected else None,
        score=Decimal(str(item_score)) if selected is not None else None,
    )


def form_data(category: Category, **fields) -> dict:
    data = {
        "type": "single",
        "stem": "“摇头丸”属于哪一类毒品？",
        "option_0": "新型毒品",
        "option_1": "传统毒品",
        "option_2": "不是毒品",
        "correct_0": "on",
        "explanation": "摇头丸是以MDMA为主要成分的新型毒品。",
        "difficulty": "2",
        "category": str(category.pk),
        "audience": ["junior", "senior"],
        "tags": "新型毒品，摇头丸, MDMA",
        "language": "zh-hans",
        "source": "禁毒法",
        "status": "ready",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def jpeg_upload(name="photo.jpg") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


# --- who may come in ------------------------------------------------------------------------------------

PAGES = [
    "/bank/",
    "/bank/{pk}/",
    "/bank/new/",
    "/bank/{pk}/edit/",
    "/bank/import/",
    "/bank/export/?format=csv",
    "/bank/template/?format=csv&language=en",
]


@pytest.mark.parametrize("page", PAGES)
def test_guests_are_sent_to_sign_in(world, login, page):
    question = bank_question(1)
    response = login(None).get(page.format(pk=question.pk))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("persona", ["student", "volunteer"])
def test_students_and_volunteers_are_refused(world, login, page, persona):
    question = bank_question(1)
    response = login(getattr(world, persona)).get(page.format(pk=question.pk))
    assert response.status_code == 403


def test_staff_see_the_shared_ready_bank(world, login):
    question = bank_question(1)
    for persona in (
        world.teacher_a,
        world.teacher_b,
        world.organiser_a,
        world.organiser_province,
        world.admin,
    ):
        client = login(persona)
        assert client.get("/bank/").status_code == 200
        assert client.get(f"/bank/{question.pk}/").status_code == 200


def test_teacher_of_another_school_cannot_see_or_edit_a_draft(world, login):
    draft = bank_question(1, owner=world.teacher_a, status=Question.Status.DRAFT)
    ready = bank_question(2, owner=world.teacher_a)
    other = login(world.teacher_b)
    assert draft.current_version.stem not in other.get("/bank/").content.decode()
    assert other.get(f"/bank/{draft.pk}/").status_code == 404
    assert other.get(f"/bank/{draft.pk}/edit/").status_code == 404
    assert other.post(f"/bank/{draft.pk}/edit/", {}).status_code == 404
    # A ready question is shared: another school's teacher sees it but may not change it.
    assert other.get(f"/bank/{ready.pk}/").status_code == 200
    assert "/edit/" not in other.get(f"/bank/{ready.pk}/").content.decode()
    assert other.get(f"/bank/{ready.pk}/edit/").status_code == 403
    assert other.post(f"/bank/{ready.pk}/edit/", form_data(ready.category)).status_code == 403
    own = login(world.teacher_a)
    assert own.get(f"/bank/{draft.pk}/").status_code == 200
    assert own.get(f"/bank/{draft.pk}/edit/").status_code == 200


def test_organiser_of_another_county_cannot_see_that_countys_drafts(world, login):
    draft = bank_question(1, owner=world.organiser_a, status=Question.Status.DRAFT)
    assert draft.owner_region == world.county_a
    outsider = login(world.organiser_b)
    assert outsider.get(f"/bank/{draft.pk}/").status_code == 404
    assert outsider.get(f"/bank/{draft.pk}/edit/").status_code == 404
    assert draft.current_version.stem not in outsider.get("/bank/").content.decode()
    # The province above the county sees and edits what its counties keep.
    province = login(world.organiser_province)
    assert province.get(f"/bank/{draft.pk}/").status_code == 200
    assert province.get(f"/bank/{draft.pk}/edit/").status_code == 200


def test_a_missing_question_is_not_found(world, login):
    assert login(world.admin).get("/bank/999999/").status_code == 404


# --- the list -------------------------------------------------------------------------------------------


def listed(client, query: str = "") -> set[str]:
    response = client.get(f"/bank/{query}")
    assert response.status_code == 200
    return {question.current_version.stem for question in response.context["page"].object_list}


def test_list_filters(world, login):
    law = category_for_path(names=["法律"])
    criminal = category_for_path(names=["法律", "刑法"])
    harms = category_for_path(names=["危害"])
    bank_question(1, stem="law-root")
    bank_question(2, category=("法律", "刑法"), stem="law-criminal", difficulty=4)
    bank_question(3, category=("危害",), stem="harms-multi", kind="multiple", audience=("primary",))
    bank_question(4, category=("危害",), stem="Harms in English", language="en", audience=())
    bank_question(5, stem="law-draft", status=Question.Status.DRAFT, owner=world.teacher_a, kind="true_false")
    client = login(world.teacher_a)
    assert listed(client) == {"law-root", "law-criminal", "harms-multi", "Harms in English", "law-draft"}
    assert listed(client, f"?category={law.pk}") == {"law-root", "law-criminal", "law-draft"}
    assert listed(client, f"?category={criminal.pk}") == {"law-criminal"}
    assert listed(client, f"?category={harms.pk}") == {"harms-multi", "Harms in English"}
    assert listed(client, "?q=CRIMINAL") == {"law-criminal"}
    assert listed(client, "?language=en") == {"Harms in English"}
    assert listed(client, "?status=draft") == {"law-draft"}
    assert listed(client, "?difficulty=4") == {"law-criminal"}
    # An empty audience is everyone's, so it matches any audience.
    assert listed(client, "?audience=primary") == {"harms-multi", "Harms in English"}
    assert listed(client, "?type=multiple") == {"harms-multi"}
    assert listed(client, "?type=true_false") == {"law-draft"}
    assert listed(client, f"?category={law.pk}&type=single&difficulty=2") == {"law-root"}
    # Nonsense filters are ignored rather than failing.
    assert len(listed(client, "?category=abc&language=xx&status=gone&difficulty=9&type=essay")) == 5


def test_list_shows_columns_and_actions(world, login):
    bank_question(1, stem="一" * 200)
    html = login(world.teacher_a).get("/bank/").content.decode()
    assert "一" * 89 + "…" in html
    for text in (
        "Single choice",
        "法律",
        "Ready",
        "简体中文",
        "New question",
        "Import",
        "Export",
        "Download template",
    ):
        assert text in html
    assert "/bank/export/?format=xlsx" in html
    assert "/bank/template/?format=xlsx&amp;language=zh-hans" in html


def test_list_paginates_by_25_and_keeps_filters(world, login):
    for n in range(30):
        bank_question(n, difficulty=3)
    client = login(world.teacher_a)
    response = client.get("/bank/?difficulty=3")
    assert len(response.context["page"].object_list) == 25
    assert "difficulty=3&amp;page=2" in response.content.decode()
    assert len(client.get("/bank/?difficulty=3&page=2").context["page"].object_list) == 5


def test_list_flags_questions_whose_statistics_look_wrong(world, login):
    hard = bank_question(1, stem="everyone gets this wrong")
    fine = bank_question(2, stem="a fair question")
    for i in range(12):
        answer(hard.current_version, item_score=0, total=1 + i % 3, selected=(0,))
        answer(
            fine.current_version, item_score=i % 2, total=1 + i % 2 + i % 3, selected=(1,) if i % 2 else (0,)
        )
    response = login(world.teacher_a).get("/bank/")
    flagged = {q.current_version.stem: q.item_problems for q in response.context["page"].object_list}
    assert flagged["everyone gets this wrong"] == ["too hard"]
    assert flagged["a fair question"] == []
    assert 'class="flag"' in response.content.decode()


def test_list_query_budget(world, login, django_assert_max_num_queries):
    for n in range(45):
        question = bank_question(n, category=("法律", "刑法") if n % 2 else ("危害",), owner=world.teacher_a)
        answer(question.current_version, item_score=1, total=3)
    client = login(world.teacher_a)
    client.get("/bank/")  # warm the session
    # Session, user, count, page, item-statistics sums for the page, categories for the filter: 6.
    with django_assert_max_num_queries(8):
        response = client.get("/bank/?q=题")
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 25


# --- the detail -----------------------------------------------------------------------------------------


def test_detail_shows_the_question_versions_translation_and_statistics(world, login):
    zh = bank_question(1, stem="吸毒一次不会成瘾。", kind="true_false")
    en = question_create(
        parsed=ParsedQuestion(
            type="true_false",
            stem="One try cannot make you addicted.",
            options=("True", "False"),
            correct=("B",),
            language="en",
        ),
        category=zh.category,
        user=None,
        status=Question.Status.READY,
        translation_group=zh.translation_group,
    )
    for i in range(20):
        answer(zh.current_version, item_score=1, total=2 + i % 3, selected=(1,))
    answer(zh.current_version, item_score=0, total=0, selected=None)
    response = login(world.teacher_a).get(f"/bank/{zh.pk}/")
    html = response.content.decode()
    assert "吸毒一次不会成瘾。" in html
    assert "✓ correct" in html
    assert "解析1" in html and "测试" in html
    assert f"/bank/{en.pk}/" in html and "One try cannot make you addicted." in html
    assert "Add a translation" not in html
    [entry] = response.context["history"]
    assert entry["stats"].responses == 21
    assert entry["stats"].unanswered == 1
    assert "95%" in html  # facility 20/21
    assert "Too easy" in html
    assert 'style="width: 95%"' in html  # option B's share bar
    assert "Edit" not in html  # a starter-bank question belongs to no school


def test_detail_says_when_discrimination_is_undefined(world, login):
    question = bank_question(1)
    for total in (1, 2, 3):
        answer(question.current_version, item_score=1, total=total)
    html = login(world.teacher_a).get(f"/bank/{question.pk}/").content.decode()
    # Everyone got it right: discrimination is undefined, not zero; and three answers are too few to judge.
    assert "not defined" in html
    assert "Few responses: fewer than 10 submitted answers" in html


def test_detail_offers_a_translation_when_there_is_none(world, login):
    question = bank_question(1)
    html = login(world.teacher_a).get(f"/bank/{question.pk}/").content.decode()
    assert f"/bank/new/?translation_of={question.pk}" in html
    assert "No submitted answers yet." in html


def test_detail_query_budget(world, login, django_assert_max_num_queries):
    question = bank_question(1, owner=world.teacher_a)
    client = login(world.teacher_a)
    for n in range(2, 6):
        question.refresh_from_db()
        for _ in range(3):
            answer(question.current_version, item_score=1, total=3)
        client.post(f"/bank/{question.pk}/edit/", form_data(question.category, stem=f"第{n}版"))
    assert question.versions.count() == 5
    client.get(f"/bank/{question.pk}/")
    # However many versions and answers: session, user, question, translations, versions, answers,
    # category trail, owner school, edit right — 9.
    with django_assert_max_num_queries(11):
        response = client.get(f"/bank/{question.pk}/")
    assert len(response.context["history"]) == 5


# --- create ---------------------------------------------------------------------------------------------


def test_teacher_creates_a_question_for_their_school(world, login):
    category = category_for_path(names=["毒品常识"])
    response = login(world.teacher_a).post("/bank/new/", form_data(category))
    question = Question.objects.get()
    assert response.status_code == 302 and response.url == f"/bank/{question.pk}/"
    version = question.current_version
    assert version.number == 1 and version.created_by == world.teacher_a
    assert version.options == ["新型毒品", "传统毒品", "不是毒品"]
    assert version.correct == [0]
    assert question.owner_school == world.school_a and question.created_by == world.teacher_a
    assert question.audience_list == ["junior", "senior"]
    assert question.tag_list == ["新型毒品", "摇头丸", "MDMA"]
    assert question.status == "ready" and question.difficulty == 2 and question.category == category


def test_organiser_creates_a_question_for_their_region(world, login):
    category = category_for_path(names=["毒品常识"])
    login(world.organiser_a).post("/bank/new/", form_data(category, status="draft"))
    question = Question.objects.get()
    assert question.owner_region == world.county_a and question.owner_school is None


def test_multiple_choice_with_partial_credit_and_eight_options(world, login):
    category = category_for_path(names=["毒品常识"])
    options = {f"option_{i}": f"选项{i}" for i in range(8)}
    data = form_data(
        category, type="multiple", partial_credit="on", correct_3="on", correct_7="on", **options
    )
    login(world.teacher_a).post("/bank/new/", data)
    version = Question.objects.get().current_version
    assert len(version.options) == 8
    assert version.correct == [0, 3, 7]
    assert version.partial_credit is True


def test_partial_credit_is_dropped_for_single_choice(world, login):
    category = category_for_path(names=["毒品常识"])
    login(world.teacher_a).post("/bank/new/", form_data(category, partial_credit="on"))
    assert Question.objects.get().current_version.partial_credit is False


def test_true_false_with_empty_options_gets_the_usual_ones(world, login):
    category = category_for_path(names=["毒品常识"])
    data = form_data(category, type="true_false", option_0="", option_1="", option_2="", correct_0=None)
    data["correct_1"] = "on"
    response = login(world.teacher_a).post("/bank/new/", data)
    assert response.status_code == 302
    version = Question.objects.get().current_version
    assert version.options == ["正确", "错误"] and version.correct == [1]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"correct_1": "on"}, "a single-choice question has exactly one correct answer"),
        ({"correct_0": None}, "A single-choice question has exactly one correct answer, not “”"),
        ({"type": "multiple"}, "A multiple-choice question needs at least two correct answers"),
        ({"option_1": "", "option_2": ""}, "A single-choice question needs at least two options (found 1)"),
        ({"option_1": ""}, "Options must be consecutive: B is empty but C is filled"),
        ({"option_2": "新型毒品"}, "Options A and C are the same"),
        ({"correct_5": "on", "correct_0": None}, "Option F is marked correct but has no text."),
        ({"stem": "长" * 2001}, "The stem is longer than 2,000 characters"),
        ({"tags": "标" * 51}, "A tag is longer than 50 characters"),
    ],
)
def test_the_importers_rules_apply(world, login, changes, message):
    category = category_for_path(names=["毒品常识"])
    response = login(world.teacher_a).post("/bank/new/", form_data(category, **changes))
    assert response.status_code == 200
    assert message.casefold() in response.content.decode().replace("&quot;", '"').casefold()
    assert not Question.objects.exists()


def test_required_fields(world, login):
    response = login(world.teacher_a).post("/bank/new/", {})
    assert response.status_code == 200
    for field in ("type", "stem", "category", "language", "status", "difficulty"):
        assert field in response.context["form"].errors
    assert not Question.objects.exists()


def test_a_duplicate_is_refused_and_named(world, login):
    category = category_for_path(names=["毒品常识"])
    existing = bank_question(1, stem="“摇头丸”属于哪一类毒品？")
    existing.current_version.options = [
        "传统毒品",
        "不是毒品",
        "新型毒品",
    ]  # the same options in another order
    existing.current_version.save()
    existing.fingerprint = ParsedQuestion(
        type="single",
        stem="“摇头丸”属于哪一类毒品？",
        options=("传统毒品", "不是毒品", "新型毒品"),
        correct=("C",),
    ).fingerprint()
    existing.save()
    response = login(world.teacher_a).post("/bank/new/", form_data(category))
    html = response.content.decode()
    assert f"question #{existing.pk}" in html
    assert f'href="/bank/{existing.pk}/"' in html
    assert Question.objects.count() == 1


def test_the_image_is_reencoded_and_a_non_image_refused(world, login):
    category = category_for_path(names=["毒品常识"])
    client = login(world.teacher_a)
    bad = SimpleUploadedFile("photo.jpg", b"not an image at all", content_type="image/jpeg")
    response = client.post("/bank/new/", {**form_data(category), "image": bad})
    assert "This file is not an image we can read." in response.content.decode()
    assert not Question.objects.exists()
    client.post("/bank/new/", {**form_data(category), "image": jpeg_upload()})
    image = Question.objects.get().current_version.image
    assert image.name.startswith("questions/") and image.name.endswith(".jpg")
    assert "photo" not in image.name


def test_a_translation_shares_the_group(world, login):
    original = bank_question(1, kind="multiple", difficulty=4)
    client = login(world.teacher_a)
    form = client.get(f"/bank/new/?translation_of={original.pk}").context["form"]
    assert form.initial["language"] == "en" and form.initial["type"] == "multiple"
    assert form.initial["correct_0"] and form.initial["correct_2"] and form.initial["difficulty"] == 4
    data = form_data(
        original.category,
        type="multiple",
        language="en",
        stem="Which are right?",
        option_0="a",
        option_1="b",
        option_2="c",
        correct_2="on",
        audience=["junior"],
    )
    response = client.post(f"/bank/new/?translation_of={original.pk}", data)
    translation_ = Question.objects.exclude(pk=original.pk).get()
    assert response.url == f"/bank/{translation_.pk}/"
    assert translation_.translation_group == original.translation_group
    assert translation_.language == "en"


def test_a_translation_of_an_invisible_question_is_not_found(world, login):
    draft = bank_question(1, owner=world.teacher_a, status=Question.Status.DRAFT)
    assert login(world.teacher_b).get(f"/bank/new/?translation_of={draft.pk}").status_code == 404


# --- edit -----------------------------------------------------------------------------------------------


def test_edit_form_starts_from_the_current_version(world, login):
    question = bank_question(1, owner=world.teacher_a, kind="multiple")
    form = login(world.teacher_a).get(f"/bank/{question.pk}/edit/").context["form"]
    assert form["stem"].value() == question.current_version.stem
    assert form["option_3"].value() == "丁1"
    assert form["correct_0"].value() and not form["correct_1"].value() and form["correct_2"].value()
    assert form["audience"].value() == ["junior"]


def test_editing_an_unanswered_version_changes_it_in_place(world, login):
    question = bank_question(1, owner=world.teacher_a)
    response = login(world.teacher_a).post(
        f"/bank/{question.pk}/edit/", form_data(question.category, stem="改过的题干", status="draft")
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.versions.count() == 1
    assert question.current_version.stem == "改过的题干"
    assert question.status == "draft"


def test_editing_an_answered_version_makes_a_new_version(world, login):
    question = bank_question(1, owner=world.teacher_a)
    first = question.current_version
    answer(first, item_score=1, total=3)
    client = login(world.teacher_a)
    assert "has been answered in quizzes" in client.get(f"/bank/{question.pk}/edit/").content.decode()
    response = client.post(
        f"/bank/{question.pk}/edit/", form_data(question.category, stem="新的题干"), follow=True
    )
    question.refresh_from_db()
    assert question.versions.count() == 2
    assert question.current_version.number == 2 and question.current_version.stem == "新的题干"
    assert question.current_version.created_by == world.teacher_a
    first.refresh_from_db()
    assert first.stem == "第1题：下列哪一项正确？" and first.options == ["甲1", "乙1", "丙1", "丁1"]
    assert "Saved as version 2" in response.content.decode()


def test_changing_only_the_metadata_of_an_answered_question_keeps_its_version(world, login):
    question = bank_question(1, owner=world.teacher_a)
    answer(question.current_version, item_score=1, total=3)
    data = form_data(
        question.category,
        stem=question.current_version.stem,
        option_0="甲1",
        option_1="乙1",
        option_2="丙1",
        option_3="丁1",
        correct_0=None,
        correct_1="on",
        explanation="解析1",
        source="测试",
        difficulty="5",
    )
    login(world.teacher_a).post(f"/bank/{question.pk}/edit/", data)
    question.refresh_from_db()
    assert question.versions.count() == 1 and question.difficulty == 5


def test_editing_into_a_duplicate_of_another_question_is_refused(world, login):
    other = bank_question(2)
    question = bank_question(1, owner=world.teacher_a)
    data = form_data(
        question.category,
        stem=other.current_version.stem,
        option_0="甲2",
        option_1="乙2",
        option_2="丙2",
        option_3="丁2",
    )
    response = login(world.teacher_a).post(f"/bank/{question.pk}/edit/", data)
    assert f"question #{other.pk}" in response.content.decode()
    question.refresh_from_db()
    assert question.current_version.stem == "第1题：下列哪一项正确？"


def test_the_image_can_be_removed(world, login):
    question = bank_question(1, owner=world.teacher_a)
    client = login(world.teacher_a)
    data = form_data(question.category)
    client.post(f"/bank/{question.pk}/edit/", {**data, "image": jpeg_upload()})
    question.refresh_from_db()
    assert question.current_version.image
    assert "remove_image" in client.get(f"/bank/{question.pk}/edit/").context["form"].fields
    client.post(f"/bank/{question.pk}/edit/", {**data, "remove_image": "on"})
    question.refresh_from_db()
    assert not question.current_version.image


# --- export and template --------------------------------------------------------------------------------


def test_export_the_filtered_bank(world, login):
    bank_question(1, category=("法律", "刑法"))
    bank_question(2, category=("危害",), language="en", stem="An English question")
    client = login(world.teacher_a)
    response = client.get("/bank/export/?format=xlsx&language=zh-hans")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert response["Content-Disposition"].startswith('attachment; filename="qingkong-questions-')
    assert response["Content-Disposition"].endswith('.xlsx"')
    result = parse_file(response.content, "export.xlsx")
    assert result.errors == []
    [parsed] = result.questions
    assert parsed.stem == "第1题：下列哪一项正确？" and parsed.category == ("法律", "刑法")
    assert parsed.correct == ("B",) and parsed.audience == ("junior",)
    csv = client.get("/bank/export/?format=csv")
    assert csv["Content-Type"] == "text/csv; charset=utf-8"
    assert csv["Content-Disposition"].endswith('.csv"')
    assert csv.content.startswith("\ufeff".encode())
    assert len(parse_file(csv.content, "export.csv").questions) == 2


def test_export_leaves_out_what_the_user_cannot_see(world, login):
    bank_question(1, owner=world.teacher_a, status=Question.Status.DRAFT)
    bank_question(2)
    response = login(world.teacher_b).get("/bank/export/?format=csv")
    assert [q.stem for q in parse_file(response.content, "x.csv").questions] == ["第2题：下列哪一项正确？"]


def test_export_refuses_an_unknown_format(world, login):
    assert login(world.teacher_a).get("/bank/export/?format=pdf").status_code == 400


@pytest.mark.parametrize(("language", "first_header"), [("zh-hans", "题型"), ("en", "type")])
@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_template_download(world, login, language, first_header, file_format):
    response = login(world.teacher_a).get(f"/bank/template/?format={file_format}&language={language}")
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="qingkong-question-template-{language}.{file_format}"'
    )
    result = parse_file(response.content, f"template.{file_format}")
    assert result.errors == [] and len(result.questions) == 5
    if file_format == "csv":
        assert response.content.decode("utf-8-sig").startswith(first_header)


def test_template_refuses_unknown_values(world, login):
    client = login(world.teacher_a)
    assert client.get("/bank/template/?format=ods").status_code == 400
    assert client.get("/bank/template/?format=csv&language=fr").status_code == 400
