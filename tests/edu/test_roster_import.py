"""Roster import: the service, the upload → preview → confirm pages, the template and `import_roster`."""

import io
import re
from datetime import date

import openpyxl
import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from edu import rosters
from edu.models import School, SchoolClass, Student, User
from edu.roster_parsing import ParsedStudent, parse_roster
from tests import factories

HEADER = ["姓名", "学号", "年级", "班级", "性别", "出生日期"]


def xlsx(rows, header=HEADER) -> bytes:
    workbook = openpyxl.Workbook()
    for row in [header, *rows] if header else rows:
        workbook.active.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


ROWS = [
    ["王小明", "2025001", "七年级", "1班", "男", "2013-03-05"],
    ["李思雨", "2025002", "初一", "(1)班", "女", ""],
    ["欧阳娜娜", "2025003", "7", "2班", "", ""],
    ["买买提·艾力", "2025004", "八年级", "3班", "男", ""],
]


def parsed(rows=ROWS) -> list[ParsedStudent]:
    result = parse_roster(xlsx(rows), "名单.xlsx", today=date(2026, 11, 22))
    assert result.errors == []
    return result.students


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    # Uploaded rosters wait in the private storage until confirmed or discarded: never the real one in tests.
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "private"},
        },
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "private"


@pytest.fixture
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def login_en(login):
    """login(), with the pages in English (the language cookie)."""

    def signed_in(user):
        client = login(user)
        client.cookies["qk_language"] = "en"
        return client

    return signed_in


# --- the service -------------------------------------------------------------------------------------------


def test_import_creates_accounts_records_and_missing_classes(world):
    result = rosters.roster_import(
        school=world.school_a, students=parsed(), by=world.teacher_a, now=timezone.now()
    )
    assert result.ok and len(result.created) == 4
    assert result.new_classes == ["七年级2班", "八年级3班"]  # 七年级1班 exists
    students = {s.student_number: s for s in Student.objects.select_related("user__school_class")}
    assert set(students) == {"2025001", "2025002", "2025003", "2025004"}
    ming = students["2025001"]
    assert ming.real_name == "王小明" and ming.gender == "M" and ming.birth_date == date(2013, 3, 5)
    assert ming.school == world.school_a and ming.user.school_class == world.class_a
    assert ming.user.username == "s2025001" and ming.user.is_student
    assert not ming.user.has_usable_password() and ming.claimed_at is None
    # Nicknames are the given name's initial and a digit: never the real name.
    assert {s.user.nickname for s in students.values()} == {"小1", "思2", "娜3", "买4"}
    assert students["2025003"].user.school_class.label == "七年级2班"
    assert SchoolClass.objects.get(school=world.school_a, grade=8, name="3班").headcount == 1


def test_dry_run_writes_nothing_but_lists_what_would_change(world):
    before = (User.objects.count(), SchoolClass.objects.count())
    result = rosters.roster_import(
        school=world.school_a, students=parsed(), by=world.teacher_a, now=timezone.now(), dry_run=True
    )
    assert len(result.created) == 4 and result.new_classes == ["七年级2班", "八年级3班"]
    assert (User.objects.count(), SchoolClass.objects.count()) == before
    assert not Student.objects.exists()


def test_reimport_changes_nothing_and_a_new_class_is_a_move(world):
    now = timezone.now()
    rosters.roster_import(school=world.school_a, students=parsed(), by=world.teacher_a, now=now)
    snapshot = list(Student.objects.order_by("pk").values_list("pk", "user_id", "user__school_class"))
    again = rosters.roster_import(school=world.school_a, students=parsed(), by=world.teacher_a, now=now)
    assert again.ok and len(again.unchanged) == 4 and again.changes == 0
    assert snapshot == list(Student.objects.order_by("pk").values_list("pk", "user_id", "user__school_class"))

    rows = [list(row) for row in ROWS]
    rows[0][3] = "2班"  # 王小明 moves
    rows[1][0] = "李思语"  # a corrected name
    result = rosters.roster_import(school=world.school_a, students=parsed(rows), by=world.teacher_a, now=now)
    assert [move.student.student_number for move in result.moved] == ["2025001"]
    assert (result.moved[0].from_label, result.moved[0].to_label) == ("七年级1班", "七年级2班")
    assert [student.student_number for student in result.updated] == ["2025002"]
    assert Student.objects.get(student_number="2025001").user.school_class.name == "2班"
    assert Student.objects.get(student_number="2025002").real_name == "李思语"
    assert User.objects.filter(is_student=True, student_record__isnull=False).count() == 4


def test_a_number_in_another_school_is_a_row_error_and_nothing_is_imported(world, english):
    factories.roster_student(school_class=world.class_b, student_number="2025003")
    result = rosters.roster_import(
        school=world.school_a, students=parsed(), by=world.teacher_a, now=timezone.now()
    )
    assert [str(error) for error in result.errors] == [
        "row 4: the student number 2025003 is on the roster of another school: the student must be removed "
        "from that school's roster first"
    ]
    assert Student.objects.count() == 1
    assert not SchoolClass.objects.filter(school=world.school_a, grade=8).exists()


def test_graduated_students_and_grades_the_school_has_not_are_row_errors(world, english):
    factories.roster_student(
        school_class=world.class_a, student_number="2025001", graduated_on=date(2026, 7, 1)
    )
    primary = factories.school(region=world.county_a, level=School.Level.PRIMARY)
    result = rosters.roster_import(
        school=world.school_a, students=parsed(), by=world.teacher_a, now=timezone.now()
    )
    assert [str(error) for error in result.errors] == [
        "row 2: the student with number 2025001 graduated on 2026-07-01"
    ]
    result = rosters.roster_import(school=primary, students=parsed(), by=world.teacher_a, now=timezone.now())
    assert str(result.errors[0]) == "row 2: a primary school has no Grade 7"
    assert Student.objects.count() == 1


def test_a_taken_username_gets_a_suffix(world):
    factories.user(username="s2025001")
    rosters.roster_import(school=world.school_a, students=parsed(), by=world.teacher_a, now=timezone.now())
    assert Student.objects.get(student_number="2025001").user.username == "s2025001-2"


@pytest.mark.parametrize(
    ("name", "number", "nickname"),
    [
        ("王小明", "2025007", "小7"),
        ("张三", "A12", "三2"),
        ("欧阳娜娜", "9", "娜9"),
        ("司马光", "X", "光" + str(ord("X") % 10)),
        ("买买提·艾力", "33", "买3"),
        ("Emily Chen", "2025005", "E5"),
        ("李", "4", "李4"),
    ],
)
def test_default_nicknames_never_show_the_name(name, number, nickname):
    assert rosters.default_nickname(real_name=name, student_number=number) == nickname


# --- the pages ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("guest", 302),
        ("student", 403),
        ("plain_teacher", 403),  # a teacher of the school who is not its admin
        ("teacher_a", 200),
        ("teacher_b", 404),
        ("organiser_a", 403),
        ("organiser_b", 404),
        ("volunteer", 404),
        ("admin", 200),
    ],
)
def test_roster_page_gate(world, login, persona, expected):
    users = {"plain_teacher": factories.user(is_teacher=True, school=world.school_a)}
    user = None if persona == "guest" else users.get(persona) or getattr(world, persona)
    client = login(user)
    for url in (
        f"/schools/{world.school_a.code}/roster/",
        f"/schools/{world.school_a.code}/roster/template/?format=csv",
    ):
        assert client.get(url).status_code == expected, url
    response = client.post(
        f"/schools/{world.school_a.code}/roster/", {"file": upload("名单.xlsx", xlsx(ROWS))}
    )
    assert response.status_code == (302 if expected == 200 else expected)  # an upload goes to its preview
    assert not Student.objects.exists()


def _upload_and_preview(client, world, data, name="名单.xlsx"):
    response = client.post(f"/schools/{world.school_a.code}/roster/", {"file": upload(name, data)})
    assert response.status_code == 302, response.content.decode()[:500]
    preview_url = response["Location"]
    return preview_url, client.get(preview_url)


def test_upload_preview_confirm(world, login_en, english, media):
    client = login_en(world.teacher_a)
    preview_url, preview = _upload_and_preview(client, world, xlsx(ROWS))
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "4 students are ready to import" in page
    assert (
        "2 new classes will be created" in page and "Grade 7, Class 2" in page and "Grade 8, Class 3" in page
    )
    assert "王小明" in page and not Student.objects.exists()
    response = client.post(preview_url, {"confirm": "1"})
    assert response.status_code == 302 and response["Location"] == f"/schools/{world.school_a.code}/roster/"
    assert Student.objects.count() == 4
    roster_page = client.get(response["Location"]).content.decode()
    assert "Roster imported: 4 new, 0 moved, 0 corrected, 0 unchanged; 2 new classes." in roster_page
    assert client.get(preview_url).status_code == 404  # the file is gone once imported
    assert not list((media / "rosters").iterdir())

    # The same file again: nothing would change.
    preview_url, preview = _upload_and_preview(client, world, xlsx(ROWS))
    assert "The roster already matches this file" in preview.content.decode()
    assert 'name="confirm"' not in preview.content.decode()


def test_moves_are_listed_in_the_preview(world, login_en, english):
    rosters.roster_import(school=world.school_a, students=parsed(), by=world.teacher_a, now=timezone.now())
    rows = [list(row) for row in ROWS]
    rows[2][3] = "1班"
    client = login_en(world.teacher_a)
    _url, preview = _upload_and_preview(client, world, xlsx(rows))
    page = preview.content.decode()
    assert "Students who move to another class" in page
    assert re.search(r"欧阳娜娜</td><td>2025003</td><td>Grade 7, Class 2</td><td>Grade 7, Class 1", page)


BAD_ROWS = [
    ["", "2025101", "七年级", "1班", "", ""],  # row 2: empty name
    ["赵一", "2.0251E+12", "七年级", "1班", "", ""],  # row 3: a number Excel shortened
    ["钱二", "2025103", "七年级", "1班", "", ""],
    ["孙三", "2025103", "七年级", "1班", "", ""],  # row 5: duplicate within the file
    ["周四", "2025105", "十三年级", "1班", "", ""],  # row 6: unknown grade
    ["吴五", "2025106", "七年级", "七年级", "", ""],  # row 7: a class without a number
    ["郑六", "2025107", "七年级", "1班", "", "2013-02-30"],  # row 8: a date that does not exist
    ["冯七", "2025108", "七年级", "1班", "", ""],  # row 9: a number of another school
]


def test_every_kind_of_bad_row_is_reported_and_nothing_is_imported(world, login_en, english):
    factories.roster_student(school_class=world.class_b, student_number="2025108")
    client = login_en(world.teacher_a)
    preview_url, preview = _upload_and_preview(client, world, xlsx(BAD_ROWS))
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "7 problems found" in page
    for expected in (
        "row 2: the name is empty",
        "row 3: the student number “2.0251E+12” was shortened by Excel",
        "row 5: student number 2025103 already appears in row 4",
        "row 6: unknown grade “十三年级”",
        "row 7: the class “七年级” names a grade but no class number",
        "row 8: the date of birth “2013-02-30” does not exist",
        "row 9: the student number 2025108 is on the roster of another school",
    ):
        assert expected in page, expected
    assert client.post(preview_url, {"confirm": "1"}).status_code == 200
    assert Student.objects.count() == 1 and User.objects.filter(username__startswith="s2025").count() == 1


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "名单.xlsx",
            xlsx([["张三", "2025001", "七年级"]], header=["姓名", "学号", "年级"]),
            "missing column: 班级",
        ),
        ("名单.xlsx", b"this is not a workbook", "the file is not a valid .xlsx workbook"),
        ("名单.csv", b"\n\n", "the file is empty"),
        ("名单.csv", "姓名,学号,年级,班级\n".encode(), "the file has a header row but no data rows"),
    ],
)
def test_files_that_cannot_be_used_at_all(world, login_en, english, name, data, message):
    client = login_en(world.teacher_a)
    _url, preview = _upload_and_preview(client, world, data, name=name)
    assert message in preview.content.decode()
    assert not Student.objects.exists()


def test_too_many_rows(world, login_en, english, monkeypatch):
    monkeypatch.setattr(rosters, "ROSTER_MAX_ROWS", 3)
    client = login_en(world.teacher_a)
    _url, preview = _upload_and_preview(client, world, xlsx(ROWS))
    assert "the file has more than 3 rows: split it into smaller files" in preview.content.decode()
    assert not Student.objects.exists()


def test_not_a_roster_file_is_refused_at_upload(world, login_en, english):
    client = login_en(world.teacher_a)
    response = client.post(
        f"/schools/{world.school_a.code}/roster/", {"file": upload("名单.pdf", b"%PDF-1.4")}
    )
    assert response.status_code == 400
    assert "is not a roster" in response.content.decode()
    empty = client.post(f"/schools/{world.school_a.code}/roster/", {"file": upload("名单.xlsx", b"")})
    assert empty.status_code == 400


def test_a_preview_belongs_to_its_session_and_school(world, login):
    client = login(world.teacher_a)
    preview_url, _preview = _upload_and_preview(client, world, xlsx(ROWS))
    assert login(world.admin).get(preview_url).status_code == 404
    other_school = preview_url.replace(world.school_a.code, world.school_b.code)
    assert login(world.admin).get(other_school).status_code == 404
    assert client.post(preview_url, {"discard": "1"}).status_code == 302
    assert client.get(preview_url).status_code == 404


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_the_template_parses_cleanly(world, login, language, file_format):
    response = login(world.teacher_a).get(
        f"/schools/{world.school_a.code}/roster/template/?format={file_format}&language={language}"
    )
    assert response.status_code == 200
    assert f"qingkong-roster-template-{language}.{file_format}" in response["Content-Disposition"]
    result = parse_roster(response.content, f"t.{file_format}", today=timezone.localdate())
    assert result.errors == [] and len(result.students) == 2
    assert (
        login(world.teacher_a).get(f"/schools/{world.school_a.code}/roster/template/?format=pdf").status_code
        == 400
    )


def test_roster_page_query_budget(world, login, django_assert_max_num_queries):
    for grade in (7, 8, 9):
        for number in range(1, 6):
            klass = factories.school_class(school=world.school_a, grade=grade, name=f"{number + 1}班")
            klass.teachers.add(world.teacher_a)
            for _ in range(3):
                factories.roster_student(school_class=klass)
    client = login(world.teacher_a)
    with django_assert_max_num_queries(8):
        response = client.get(f"/schools/{world.school_a.code}/roster/")
    assert response.status_code == 200
    assert response.context["counts"]["roster"] == 45


# --- the command -------------------------------------------------------------------------------------------


def run_command(*args):
    out = io.StringIO()
    try:
        call_command("import_roster", *args, stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def test_command_imports_and_reports(world, tmp_path):
    path = tmp_path / "名单.xlsx"
    path.write_bytes(xlsx(ROWS))
    code, out = run_command("--school", world.school_a.code, str(path), "--dry-run")
    assert (code, out.splitlines()[0]) == (0, "4 students valid")
    assert not Student.objects.exists()
    code, out = run_command("--school", world.school_a.code, str(path))
    assert (code, out.splitlines()[0]) == (0, "4 students imported")
    assert "new: 4, moved: 0, corrected: 0, unchanged: 0, new classes: 2" in out
    code, out = run_command("--school", world.school_a.code, str(path))
    assert code == 0 and "new: 0, moved: 0, corrected: 0, unchanged: 4, new classes: 0" in out
    assert Student.objects.count() == 4


def test_command_prints_every_bad_row_and_exits_1(world, tmp_path):
    factories.roster_student(school_class=world.class_b, student_number="2025108")
    path = tmp_path / "bad.xlsx"
    path.write_bytes(xlsx(BAD_ROWS))
    code, out = run_command("--school", world.school_a.code, str(path))
    lines = out.splitlines()
    assert code == 1 and len(lines) == 7
    assert lines[0] == "row 2: the name is empty"
    assert lines[-1].startswith("row 9: the student number 2025108 is on the roster of another school")
    assert Student.objects.count() == 1


def test_command_refuses_unknown_schools_and_files(world, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No school has the code NOPE"):
        call_command("import_roster", "--school", "NOPE", str(tmp_path / "x.xlsx"))
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_roster", "--school", world.school_a.code, str(tmp_path / "x.xlsx"))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert run_command("--school", world.school_a.code, str(empty)) == (1, "the file is empty\n")
