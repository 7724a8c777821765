"""Writes of school rosters: import, claim codes and claiming, moves, year-end promotion, guardian consent,
a student's data export and deletion.

Keyword-only services that take `now`; the gates that decide who may call them are in edu/selectors.py.
"""

import logging
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from edu import signals
from edu.models import School, SchoolClass, Student, User, grade_label, new_join_code, top_grade
from edu.roster_parsing import ParsedStudent
from edu.tabular import ErrorLog, RowError

logger = logging.getLogger(__name__)

# A roster is one school's students; the largest Chinese schools have a few thousand.
ROSTER_MAX_ROWS = 10_000
CLAIM_CODE_LENGTH = 8
# Grades a roster may hold, by kind of school: 九年一贯制 junior schools also teach 1–6, 完全中学 senior
# schools also 7–9; vocational schools and universities number their years in more than one way.
ROSTER_GRADES = {
    School.Level.PRIMARY: range(1, 7),
    School.Level.JUNIOR: range(1, 10),
    School.Level.SENIOR: range(7, 13),
    School.Level.VOCATIONAL: range(1, 13),
    School.Level.UNIVERSITY: range(1, 17),
}
# A school moves up a grade once a year; a second promotion this soon after the last is a double click.
PROMOTION_MIN_INTERVAL_DAYS = 180
_BATCH = 500
_LOOKUP_CHUNK = 2000
_COMPOUND_SURNAMES = """
    欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 令狐 夏侯 轩辕 端木 独孤 南宫 西门 百里
    呼延 澹台 公冶 太史 申屠 闻人 司空 钟离 赫连 万俟 第五 左丘 东郭 南门 羊舌 微生 梁丘 公良 乐正"""
COMPOUND_SURNAMES = frozenset(_COMPOUND_SURNAMES.split())


class RosterError(Exception):
    """A roster change that cannot be made; the message is translated and tells the user what to do."""


class ClaimRefused(Exception):
    """A claim that fails; `reason` is stable (wrong, used, consent), the message is translated."""

    WRONG = "wrong"
    USED = "used"
    CONSENT = "consent"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# --- import ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentMove:
    student: ParsedStudent
    from_label: str
    to_label: str


@dataclass
class RosterImportResult:
    """What an import did, or (dry run) would do; nothing is written when errors is not empty."""

    created: list[ParsedStudent] = field(default_factory=list)
    unchanged: list[ParsedStudent] = field(default_factory=list)
    updated: list[ParsedStudent] = field(default_factory=list)  # same class, corrected name or details
    moved: list[StudentMove] = field(default_factory=list)
    new_classes: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total(self) -> int:
        return len(self.created) + len(self.unchanged) + len(self.updated) + len(self.moved)

    @property
    def changes(self) -> int:
        return len(self.created) + len(self.updated) + len(self.moved) + len(self.new_classes)


def default_nickname(*, real_name: str, student_number: str) -> str:
    """The given name's initial and a digit (王小明, number …7 → "小7"): never the real name.

    Chinese names start with the surname (one character, or two for 欧阳 and the like); names written with a
    middle dot (买买提·艾力) and Latin names start with the given name.
    """
    name = unicodedata.normalize("NFKC", real_name).strip()
    digits = [ch for ch in student_number if ch.isdigit()]
    digit = digits[-1] if digits else str(sum(map(ord, student_number)) % 10)
    if not name:
        return f"S{digit}"
    if "·" in name:
        initial = name[0]
    elif _is_cjk(name[0]):
        surname = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
        given = name[surname:] or name
        initial = given[0]
    else:
        initial = name[0].upper()
    return f"{initial}{digit}"


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def class_label(grade: int, name: str) -> str:
    return SchoolClass(grade=grade, name=name).label


def roster_import(
    *,
    school: School,
    students: Sequence[ParsedStudent],
    by: User | None,
    now: datetime,
    dry_run: bool = False,
) -> RosterImportResult:
    """Bring the school's roster in line with the parsed students, all or nothing.

    A new number makes an account (username `s` + the number, unusable password, nickname from
    default_nickname) and a roster record; a known number in the same class is unchanged (or updated when its
    name, gender or birth date changed); a known number in another class of this school is moved. Missing
    classes are created. A number on another school's roster, or of a student who has graduated, is a row
    error. Every row is checked before anything is written.
    """
    result = RosterImportResult(dry_run=dry_run)
    with transaction.atomic():
        # One import into a school at a time: the second waits and then sees the first one's students.
        locked = School.objects.select_for_update().get(pk=school.pk)
        log = ErrorLog("row")
        allowed_grades = ROSTER_GRADES.get(locked.level, range(1, 17))
        existing = _existing_records([student.student_number for student in students])
        classes = {
            (klass.grade, klass.name): klass
            for klass in SchoolClass.objects.filter(school=locked, graduated_on__isnull=True)
        }
        new_class_sizes: Counter[tuple[int, str]] = Counter()
        to_create: list[ParsedStudent] = []
        to_update: list[tuple[ParsedStudent, Student]] = []
        to_move: list[tuple[ParsedStudent, Student]] = []
        for student in students:
            key = (student.grade, student.class_name)
            if student.grade not in allowed_grades:
                log.add(
                    student.row,
                    _("a %(level)s has no %(grade)s")
                    % {"grade": grade_label(student.grade), "level": locked.get_level_display()},
                )
                continue
            record = existing.get(student.student_number)
            if record is not None and record.school_id != locked.pk:
                log.add(
                    student.row,
                    _(
                        "the student number %(number)s is on the roster of another school: the student "
                        "must be removed from that school's roster first"
                    )
                    % {"number": student.student_number},
                )
                continue
            if record is not None and record.graduated_on is not None:
                log.add(
                    student.row,
                    _("the student with number %(number)s graduated on %(date)s")
                    % {"number": student.student_number, "date": record.graduated_on.isoformat()},
                )
                continue
            if key not in classes:
                new_class_sizes[key] += 1
            if record is None:
                to_create.append(student)
                continue
            current = record.user.school_class
            if current is not None and current.graduated_on is None and (current.grade, current.name) == key:
                if _details_differ(record, student):
                    to_update.append((student, record))
                else:
                    result.unchanged.append(student)
            else:
                to_move.append((student, record))
                result.moved.append(
                    StudentMove(
                        student=student,
                        from_label=current.label if current is not None else "",
                        to_label=class_label(*key),
                    )
                )
        result.created = to_create
        result.updated = [student for student, _record in to_update]
        result.new_classes = [class_label(grade, name) for grade, name in sorted(new_class_sizes)]
        result.errors = sorted(log.errors, key=lambda error: error.row or 0)
        if result.errors or dry_run:
            return result
        try:
            with transaction.atomic():
                _write_import(
                    school=locked,
                    classes=classes,
                    new_class_sizes=new_class_sizes,
                    to_create=to_create,
                    to_update=to_update,
                    to_move=to_move,
                    now=now,
                )
        except IntegrityError:
            # Another school's import took one of these numbers or usernames between our read and write.
            logger.warning("Roster import into %s collided with another write", locked.code, exc_info=True)
            result.errors = [
                RowError(
                    None,
                    _("The roster changed while it was being imported. Upload the file again to see why."),
                )
            ]
            return result
    logger.info(
        "Roster import into %s by %s: %s new, %s moved, %s updated, %s unchanged, %s new classes",
        school.code,
        by.username if by is not None else "the command line",
        len(result.created),
        len(result.moved),
        len(result.updated),
        len(result.unchanged),
        len(result.new_classes),
    )
    return result


def _existing_records(numbers: list[str]) -> dict[str, Student]:
    found: dict[str, Student] = {}
    for start in range(0, len(numbers), _LOOKUP_CHUNK):
        chunk = numbers[start : start + _LOOKUP_CHUNK]
        for record in Student.objects.filter(student_number__in=chunk).select_related("user__school_class"):
            found[record.student_number] = record
    return found


def _details_differ(record: Student, student: ParsedStudent) -> bool:
    return (record.real_name, record.gender, record.birth_date) != (
        student.name,
        student.gender,
        student.birth_date,
    )


def _write_import(
    *,
    school: School,
    classes: dict[tuple[int, str], SchoolClass],
    new_class_sizes: Counter,
    to_create: list[ParsedStudent],
    to_update: list[tuple[ParsedStudent, Student]],
    to_move: list[tuple[ParsedStudent, Student]],
    now: datetime,
) -> None:
    if new_class_sizes:
        SchoolClass.objects.bulk_create(
            [
                SchoolClass(school=school, grade=grade, name=name, headcount=size)
                for (grade, name), size in new_class_sizes.items()
            ],
            batch_size=_BATCH,
        )
        classes = {
            (klass.grade, klass.name): klass
            for klass in SchoolClass.objects.filter(school=school, graduated_on__isnull=True)
        }
    if to_create:
        usernames = _free_usernames([f"s{student.student_number.lower()}" for student in to_create])
        # Unusable passwords ("!" + random): nobody signs in to the account before it is claimed.
        users = [
            User(
                username=username,
                is_student=True,
                school_class=classes[(student.grade, student.class_name)],
                nickname=default_nickname(real_name=student.name, student_number=student.student_number),
                password=make_password(None),
                date_joined=now,
            )
            for student, username in zip(to_create, usernames, strict=True)
        ]
        User.objects.bulk_create(users, batch_size=_BATCH)
        user_ids = _user_ids(usernames)
        Student.objects.bulk_create(
            [
                Student(
                    user_id=user_ids[username],
                    school=school,
                    real_name=student.name,
                    student_number=student.student_number,
                    gender=student.gender,
                    birth_date=student.birth_date,
                    created_at=now,
                )
                for student, username in zip(to_create, usernames, strict=True)
            ],
            batch_size=_BATCH,
        )
    moves: dict[int, list[int]] = {}
    for student, record in to_move:
        moves.setdefault(classes[(student.grade, student.class_name)].pk, []).append(record.user_id)
    for class_id, user_ids in moves.items():
        User.objects.filter(pk__in=user_ids).update(school_class_id=class_id, is_student=True)
    changed = []
    for student, record in [*to_update, *to_move]:
        if _details_differ(record, student):
            record.real_name, record.gender, record.birth_date = (
                student.name,
                student.gender,
                student.birth_date,
            )
            changed.append(record)
    if changed:
        Student.objects.bulk_update(changed, ["real_name", "gender", "birth_date"], batch_size=_BATCH)


def _free_usernames(wanted: list[str]) -> list[str]:
    """The wanted usernames, with "-2", "-3"… added where an account already has one (in any letter case)."""
    taken: set[str] = set()
    candidates = list(wanted)
    for attempt in range(2, 50):
        clash = set()
        for start in range(0, len(candidates), _LOOKUP_CHUNK):
            chunk = [name.lower() for name in candidates[start : start + _LOOKUP_CHUNK]]
            clash.update(
                User.objects.annotate(lowered=Lower("username"))
                .filter(lowered__in=chunk)
                .values_list("lowered", flat=True)
            )
        taken |= clash
        if not clash:
            break
        candidates = [
            f"{base}-{attempt}" if name.lower() in taken else name
            for base, name in zip(wanted, candidates, strict=True)
        ]
    return candidates


def _user_ids(usernames: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for start in range(0, len(usernames), _LOOKUP_CHUNK):
        chunk = usernames[start : start + _LOOKUP_CHUNK]
        ids.update(User.objects.filter(username__in=chunk).values_list("username", "pk"))
    return ids


# --- claim codes -------------------------------------------------------------------------------------------


class ClaimCodeHasher(PBKDF2PasswordHasher):
    """Claim codes are hashed like passwords, with fewer rounds: a code is random, used once and the claim
    page is rate limited, while a class's slips are hashed in one request."""

    algorithm = "pbkdf2_sha256_claim"
    iterations = 20_000


_HASHER = ClaimCodeHasher()


def new_claim_code() -> str:
    return new_join_code()  # 8 characters of the alphabet without 0/O, 1/I/L


def normalise_claim_code(text: str) -> str:
    code = unicodedata.normalize("NFKC", text or "").upper()
    return "".join(ch for ch in code if ch.isalnum())


def claim_code_display(code: str) -> str:
    """ "ABCD2345" → "ABCD-2345", easier to copy from paper."""
    return f"{code[:4]}-{code[4:]}" if len(code) == CLAIM_CODE_LENGTH else code


def claim_codes_issue(*, students: Iterable[Student], by: User, now: datetime) -> list[tuple[Student, str]]:
    """A new code for each student; earlier codes stop working. The codes exist only in the result."""
    issued = []
    for student in students:
        code = new_claim_code()
        student.claim_code_hash = _HASHER.encode(code, _HASHER.salt())
        student.claim_code_issued_at = now
        issued.append((student, code))
    if issued:
        Student.objects.bulk_update(
            [student for student, _code in issued], ["claim_code_hash", "claim_code_issued_at"]
        )
        logger.info("%s claim codes issued by %s", len(issued), by.username)
    return issued


def student_claim(*, username: str, claim_code: str, password: str, now: datetime) -> User:
    """Set the password of a roster account from its claim code; the account is then "registered".

    Raises ClaimRefused for an unknown username or a wrong code (one message for both), a code already used
    or a school that waits for a guardian's consent; django.core.exceptions.ValidationError for a password
    the validators refuse (the code is then not used up).
    """
    code = normalise_claim_code(claim_code)
    with transaction.atomic():
        record = (
            Student.objects.select_for_update(of=("self",))
            .select_related("user", "school")
            .filter(user__username__iexact=(username or "").strip())
            .first()
        )
        if record is None or not record.claim_code_hash:
            _HASHER.encode(code or "-", _HASHER.salt())  # the same time as a real check: no username oracle
            raise ClaimRefused(ClaimRefused.WRONG, _wrong_claim_message())
        if not _HASHER.verify(code, record.claim_code_hash):
            raise ClaimRefused(ClaimRefused.WRONG, _wrong_claim_message())
        if record.claimed_at is not None and record.claimed_at >= record.claim_code_issued_at:
            raise ClaimRefused(
                ClaimRefused.USED,
                _(
                    "This claim code has already been used. Sign in with your password, or ask your "
                    "teacher for a new slip."
                ),
            )
        if record.school.requires_guardian_consent and record.guardian_consent_at is None:
            raise ClaimRefused(
                ClaimRefused.CONSENT,
                _(
                    "Your school needs your parent's or guardian's consent before you use your account. "
                    "Ask your class teacher."
                ),
            )
        user = record.user
        validate_password(password, user)
        user.set_password(password)
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
        previously_claimed_at = record.claimed_at
        record.claimed_at = now
        record.save(update_fields=["claimed_at"])
        _second_classroom_progress(user)
        transaction.on_commit(
            lambda: signals.student_claimed.send(
                sender=Student, student=record, previously_claimed_at=previously_claimed_at
            )
        )
    return user


def _second_classroom_progress(user: User) -> None:
    """Registration and class count in the second-classroom figures: the student's term progress follows
    in the same transaction (imported here, so that the roster core does not depend on campaigns)."""
    from campaigns.lessons import progress_recompute_user

    progress_recompute_user(user=user)


def _wrong_claim_message() -> str:
    return _("The username or the claim code is not right. Check them on your slip.")


# --- moves, promotion, consent -----------------------------------------------------------------------------


def student_move(*, student: Student, school_class: SchoolClass, by: User, now: datetime) -> Student:
    """Put the student in another class of the same school."""
    if school_class.school_id != student.school_id or school_class.graduated_on is not None:
        raise RosterError(_("A student can only move to a current class of their own school."))
    if student.graduated_on is not None:
        raise RosterError(_("This student has graduated."))
    with transaction.atomic():
        User.objects.filter(pk=student.user_id).update(school_class=school_class)
        student.user.school_class = school_class
        _second_classroom_progress(student.user)
    logger.info("Student %s moved to class %s by %s at %s", student.pk, school_class.pk, by.username, now)
    return student


@dataclass
class PromotionResult:
    promoted_classes: int = 0
    graduated_classes: list[str] = field(default_factory=list)
    graduated_students: int = 0


def graduation_suffix(today: date) -> str:
    return f"（{today.year}届）"


def school_promote(*, school: School, by: User, now: datetime) -> PromotionResult:
    """Year end: every current class moves one grade up; the top grade's classes graduate with their students.

    A graduated class keeps its row (its quizzes and results refer to it) with the year added to its name, so
    that next year's class of the same name can be made.
    """
    today = timezone.localdate(now)
    result = PromotionResult()
    with transaction.atomic():
        locked = School.objects.select_for_update().get(pk=school.pk)
        if locked.promoted_on is not None and (today - locked.promoted_on).days < PROMOTION_MIN_INTERVAL_DAYS:
            raise RosterError(
                _("This school already moved up a grade on %(date)s; a school moves up once a year.")
                % {"date": locked.promoted_on.isoformat()}
            )
        current = SchoolClass.objects.filter(school=locked, graduated_on__isnull=True)
        top = top_grade(locked)
        graduating = list(current.filter(grade__gte=top).order_by("grade", "name"))
        result.graduated_classes = [klass.label for klass in graduating]
        suffix = graduation_suffix(today)
        for klass in graduating:
            klass.name = klass.name[: SchoolClass._meta.get_field("name").max_length - len(suffix)] + suffix
            klass.graduated_on = today
        if graduating:
            SchoolClass.objects.bulk_update(graduating, ["name", "graduated_on"])
            result.graduated_students = Student.objects.filter(
                school=locked, graduated_on__isnull=True, user__school_class__in=graduating
            ).update(graduated_on=today)
        # From the highest grade down, so that no class takes a (grade, name) another still holds.
        grades = sorted(set(current.values_list("grade", flat=True)), reverse=True)
        for grade in grades:
            result.promoted_classes += current.filter(grade=grade).update(grade=grade + 1)
        locked.promoted_on = today
        locked.save(update_fields=["promoted_on"])
    logger.info(
        "School %s promoted by %s: %s classes up, %s students graduated",
        school.code,
        by.username,
        result.promoted_classes,
        result.graduated_students,
    )
    school.promoted_on = today
    return result


def guardian_consent_record(*, student: Student, by: User, now: datetime) -> Student:
    """Record that a guardian consented; recording it again keeps the first record."""
    Student.objects.filter(pk=student.pk, guardian_consent_at__isnull=True).update(
        guardian_consent_at=now, guardian_consent_recorded_by=by
    )
    student.refresh_from_db(fields=["guardian_consent_at", "guardian_consent_recorded_by"])
    return student


def school_guardian_consent_require(*, school: School, required: bool, by: User) -> School:
    School.objects.filter(pk=school.pk).update(requires_guardian_consent=required)
    school.requires_guardian_consent = required
    logger.info("School %s guardian consent required=%s by %s", school.code, required, by.username)
    return school


def class_teachers_set(*, school_class: SchoolClass, teachers: Iterable[User], by: User) -> SchoolClass:
    """The class's teachers: teachers of the same school only."""
    chosen = list(teachers)
    if any(not teacher.is_teacher or teacher.school_id != school_class.school_id for teacher in chosen):
        raise RosterError(_("Only teachers of this school can teach its classes."))
    school_class.teachers.set(chosen)
    logger.info("Class %s teachers set by %s", school_class.pk, by.username)
    return school_class


# --- personal data -----------------------------------------------------------------------------------------


def student_personal_data(*, student: Student) -> dict:
    """Everything the roster and the account hold about the student, for a school admin to hand over."""
    user = student.user
    klass = user.school_class
    return {
        "school": {"code": student.school.code, "name": student.school.name},
        "roster": {
            "real_name": student.real_name,
            "student_number": student.student_number,
            "gender": student.gender,
            "birth_date": student.birth_date.isoformat() if student.birth_date else None,
            "class": klass.label if klass else None,
            "created_at": _iso(student.created_at),
            "claim_code_issued_at": _iso(student.claim_code_issued_at),
            "registered_at": _iso(student.claimed_at),
            "guardian_consent_at": _iso(student.guardian_consent_at),
            "guardian_consent_recorded_by": (
                student.guardian_consent_recorded_by.username
                if student.guardian_consent_recorded_by
                else None
            ),
            "graduated_on": student.graduated_on.isoformat() if student.graduated_on else None,
        },
        "account": {
            "username": user.username,
            "nickname": user.nickname,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": _iso(user.date_joined),
            "last_login": _iso(user.last_login),
            "is_active": user.is_active,
        },
        **_account_activity(user),
    }


def _account_activity(user: User) -> dict[str, list[dict]]:
    """What the account did that the school's staff see: quiz results, live-contest entries (with the
    nickname typed for them) and second-classroom lessons. Imported here: the roster core does not depend
    on the apps above it."""
    from campaigns.models import LessonCompletion
    from quizzes.models import Attempt, LivePlayer

    attempts = Attempt.objects.filter(user=user).select_related("quiz").order_by("started_at", "pk")
    players = LivePlayer.objects.filter(user=user).select_related("contest").order_by("joined_at", "pk")
    lessons = (
        LessonCompletion.objects.filter(user=user).select_related("lesson").order_by("completed_at", "pk")
    )
    return {
        "quiz_attempts": [
            {
                "quiz": attempt.quiz.title,
                "number": attempt.number,
                "started_at": _iso(attempt.started_at),
                "submitted_at": _iso(attempt.submitted_at),
                "score": None if attempt.score is None else f"{attempt.score.normalize():f}",
                "max_score": f"{attempt.max_score.normalize():f}",
                "passed": attempt.passed,
            }
            for attempt in attempts
        ],
        "live_contests": [
            {
                "contest": player.contest.title,
                "nickname": player.nickname,
                "team": player.team,
                "score": player.score,
                "rank": player.rank,
                "joined_at": _iso(player.joined_at),
            }
            for player in players
        ],
        "lessons": [
            {"lesson": done.lesson.title, "completed_at": _iso(done.completed_at)} for done in lessons
        ],
    }


def _typed_names_remove(user: User) -> None:
    """Scores stay in the figures; the names typed for them (often the real one) go with the account's."""
    from quizzes.models import Attempt, LivePlayer

    Attempt.objects.filter(user=user).exclude(guest_name="").update(guest_name="")
    LivePlayer.objects.filter(user=user).update(nickname=f"#{user.pk}")


def _iso(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


def student_delete(*, student: Student, by: User, now: datetime) -> None:
    """Delete the roster record and strip the account of everything personal; the account's answers stay,
    anonymous, in the school's figures."""
    from allauth.account.models import EmailAddress

    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=student.user_id)
        student_id = student.pk
        student.delete()
        EmailAddress.objects.filter(user=user).delete()
        _typed_names_remove(user)
        user.username = f"deleted-{user.pk}"
        user.nickname = ""
        user.first_name = user.last_name = user.email = ""
        user.is_active = False
        user.is_student = False
        user.school_class = None
        user.set_unusable_password()
        user.save()
    logger.info("Roster student %s deleted by %s at %s", student_id, by.username, now)
