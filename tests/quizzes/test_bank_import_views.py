"""Importing questions in the browser: upload, preview (questions or every problem), confirm; all or none."""

import io
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from quizzes.importing import ParsedQuestion
from quizzes.models import Question
from quizzes.services import category_for_path, question_create

HEADER = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "难度", "分类", "适用对象"]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def login(login):
    def signed_in(user):
        client = login(user)
        client.cookies["qk_language"] = "en"
        return client

    return signed_in


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "private"},
        },
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "private"


def stored_files(media: Path) -> list[Path]:
    folder = media / "imports"
    return sorted(folder.iterdir()) if folder.exists() else []


def row(n: int, **cells) -> list:
    values = {
        "type": "单选",
        "stem": f"第{n}题：哪一种是新型毒品？",
        "a": f"冰毒{n}",
        "b": f"鸦片{n}",
        "c": f"海洛因{n}",
        "d": f"吗啡{n}",
        "answer": "A",
        "difficulty": "2",
        "category": "毒品常识/毒品分类",
        "audience": "初中",
    } | cells
    return list(values.values())


def xlsx(*rows, header=HEADER) -> bytes:
    workbook = openpyxl.Workbook()
    for values in (header, *rows):
        workbook.active.append(list(values))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, data: bytes, name: str = "bank.xlsx", **extra):
    return client.post("/bank/import/", {"file": SimpleUploadedFile(name, data)}, **extra)


def preview_url(client, data: bytes, name: str = "bank.xlsx") -> str:
    response = upload(client, data, name)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response.url.startswith("/bank/import/")
    return response.url


# --- the happy path -------------------------------------------------------------------------------------


def test_upload_preview_confirm(world, login, media):
    client = login(world.teacher_a)
    url = preview_url(
        client,
        xlsx(
            row(1), row(2, type="多选", answer="AB"), row(3, type="判断", a="", b="", c="", d="", answer="错")
        ),
    )
    assert len(stored_files(media)) == 1
    response = client.get(url)
    html = response.content.decode()
    assert "3 questions are ready to import" in html
    assert "第1题：哪一种是新型毒品？" in html and "毒品常识 / 毒品分类" in html
    assert response.context["errors"] == []
    assert not Question.objects.exists()

    response = client.post(url, {"status": "draft", "confirm": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == "/bank/"
    assert "3 questions imported." in response.content.decode()
    questions = Question.objects.order_by("pk")
    assert [q.current_version.type for q in questions] == ["single", "multiple", "true_false"]
    assert {q.status for q in questions} == {"draft"}
    assert {q.owner_school for q in questions} == {world.school_a}
    assert questions[2].current_version.options == ["正确", "错误"]
    assert questions[0].category.path.count("/") == 2
    # The file is gone, and the preview with it.
    assert stored_files(media) == []
    assert client.get(url).status_code == 404


def test_ready_is_the_default_status(world, login):
    client = login(world.teacher_a)
    url = preview_url(client, xlsx(row(1)))
    client.post(url, {"status": "ready", "confirm": "1"})
    assert Question.objects.get().status == "ready"


def test_a_gb18030_csv(world, login):
    text = "题型,题干,选项A,选项B,答案,语言\n单选,下列哪项是毒品？,冰毒,面粉,A,中文\n"
    client = login(world.teacher_a)
    url = preview_url(client, text.encode("gb18030"), "题库.csv")
    response = client.get(url)
    assert response.context["errors"] == []
    assert "下列哪项是毒品？" in response.content.decode()
    client.post(url, {"status": "ready"})
    version = Question.objects.get().current_version
    assert version.stem == "下列哪项是毒品？" and version.options == ["冰毒", "面粉"]


def test_a_gift_file(world, login):
    gift = "::q1:: 国际禁毒日是哪一天？ {=6月26日 ~12月1日 ~3月3日}\n\n吸毒一次不会上瘾。{F}\n"
    client = login(world.teacher_a)
    url = preview_url(client, gift.encode(), "bank.gift")
    assert "2 questions are ready to import" in client.get(url).content.decode()
    client.post(url, {"status": "ready"})
    assert Question.objects.count() == 2


def test_the_preview_shows_the_first_50(world, login):
    client = login(world.teacher_a)
    url = preview_url(client, xlsx(*(row(n) for n in range(1, 61))))
    response = client.get(url)
    html = response.content.decode()
    assert len(response.context["preview"]) == 50
    assert "60 questions are ready to import" in html
    assert "The first 50 of 60 are shown." in html and "… and 10 more questions." in html
    assert "第50题" in html and "第51题" not in html
    client.post(url, {"status": "ready"})
    assert Question.objects.count() == 60


def test_upload_with_script_gets_json(world, login, media):
    client = login(world.teacher_a)
    response = upload(client, xlsx(row(1)), headers={"x-requested-with": "XMLHttpRequest"})
    assert response.status_code == 200
    assert response.json()["redirect"].startswith("/bank/import/")
    response = upload(client, b"hello", "notes.pdf", headers={"x-requested-with": "XMLHttpRequest"})
    assert response.status_code == 400
    assert "is not a question file" in response.json()["errors"][0]


def test_the_upload_page_works_without_script(world, login):
    html = login(world.teacher_a).get("/bank/import/").content.decode()
    assert 'enctype="multipart/form-data"' in html and 'type="file"' in html
    assert "js/bank_import.js" in html and "<progress" in html


# --- problems: every one reported, nothing imported -----------------------------------------------------


def test_bad_rows_are_all_reported_and_nothing_is_imported(world, login):
    client = login(world.teacher_a)
    url = preview_url(client, xlsx(row(1), row(2, answer="E"), row(3, stem=""), row(4, difficulty="超难")))
    response = client.get(url)
    errors = response.context["errors"]
    assert errors[0] == "row 3: the answer “E” is not one of the options A–D"
    assert "row 4: the stem is empty" in errors
    assert any(error.startswith("row 5: the difficulty") for error in errors)
    html = response.content.decode()
    assert "Nothing has been imported." in html and "Import 1 question" not in html
    response = client.post(url, {"status": "ready", "confirm": "1"})
    assert response.status_code == 200
    assert not Question.objects.exists()


def test_a_question_already_in_the_bank_is_reported_with_its_row(world, login):
    client = login(world.teacher_a)
    url = preview_url(client, xlsx(row(1), row(2)))
    client.post(url, {"status": "ready"})
    assert Question.objects.count() == 2
    existing = Question.objects.get(current_version__stem="第2题：哪一种是新型毒品？")
    url = preview_url(client, xlsx(row(3), row(2)))
    response = client.get(url)
    assert response.context["errors"] == [
        f"row 3: this question is already in the bank (question #{existing.pk})"
    ]
    client.post(url, {"status": "ready"})
    assert Question.objects.count() == 2


def test_the_bank_changing_between_preview_and_confirm_imports_nothing(world, login):
    client = login(world.teacher_a)
    url = preview_url(client, xlsx(row(1), row(2)))
    assert client.get(url).context["errors"] == []
    question_create(
        parsed=ParsedQuestion(
            type="single",
            stem="第2题：哪一种是新型毒品？",
            options=("冰毒2", "鸦片2", "海洛因2", "吗啡2"),
            correct=("A",),
        ),
        category=category_for_path(names=["其他"]),
        user=None,
    )
    response = client.post(url, {"status": "ready"})
    assert response.status_code == 200
    assert "this question is already in the bank" in response.content.decode()
    assert Question.objects.count() == 1


def test_a_corrupt_xlsx_is_a_clear_error(world, login):
    client = login(world.teacher_a)
    url = preview_url(client, b"PK\x03\x04 this is not really a workbook" * 20, "bank.xlsx")
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["errors"] == [
        "the Excel file could not be read (it may be damaged or not really an .xlsx workbook)"
    ]
    assert response.context["preview"] == []
    client.post(url, {"status": "ready"})
    assert not Question.objects.exists()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "notes.pdf",
            b"%PDF-1.4",
            "“notes.pdf” is not a question file: upload a .xlsx, .csv, .gift, .aiken or .txt file.",
        ),
        ("bank.xlsx", b"", "The submitted file is empty."),
    ],
)
def test_files_refused_at_upload(world, login, media, name, data, message):
    response = upload(login(world.teacher_a), data, name)
    assert response.status_code == 200
    assert message in response.content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert stored_files(media) == []


def test_a_file_too_large_is_refused(world, login, media, monkeypatch):
    monkeypatch.setattr("quizzes.bank_forms.DEFAULT_MAX_BYTES", 1024 * 1024)
    response = upload(login(world.teacher_a), b"x" * (1024 * 1024 + 1), "bank.csv")
    assert "The file is larger than 1 MB" in response.content.decode()
    assert stored_files(media) == []


def test_a_file_without_questions(world, login):
    client = login(world.teacher_a)
    url = preview_url(client, b"just some words\nand more words\n", "notes.txt")
    errors = client.get(url).context["errors"]
    assert errors and "neither GIFT nor Aiken" in errors[0]


# --- the upload belongs to the session that made it -----------------------------------------------------


def test_another_user_cannot_open_or_confirm_an_upload(world, login):
    url = preview_url(login(world.teacher_a), xlsx(row(1)))
    for persona in (world.teacher_b, world.organiser_a, world.admin):
        client = login(persona)
        assert client.get(url).status_code == 404
        assert client.post(url, {"status": "ready"}).status_code == 404
    assert login(world.student).get(url).status_code == 403
    assert login(None).get(url).status_code == 302
    assert not Question.objects.exists()


def test_discard_removes_the_file(world, login, media):
    client = login(world.teacher_a)
    url = preview_url(client, xlsx(row(1)))
    response = client.post(url, {"discard": "1"})
    assert response.status_code == 302 and response.url == "/bank/import/"
    assert stored_files(media) == []
    assert client.get(url).status_code == 404
    assert not Question.objects.exists()


def test_only_a_few_uploads_wait_per_session(world, login, media):
    client = login(world.teacher_a)
    urls = [preview_url(client, xlsx(row(n))) for n in range(7)]
    assert len(stored_files(media)) == 5
    assert client.get(urls[0]).status_code == 404
    assert client.get(urls[-1]).status_code == 200
