"""The second-classroom part: a province-wide term with every school enrolled, its students on the rosters
with their classes, their progress through the lessons and the final exam, and the per-school figures.

What it builds on the generated province (after the volunteers part, whose organisers run the term):

- a campaign of kind second_classroom on the province, under way today, with its Term (grades 1–16: the
  province's primary, secondary and vocational schools and its universities all take part), four lessons
  per grade and a final exam per grade: a published quiz of 20 fixed questions from the starter bank
  (quizzes/data/starter_bank.json, loaded if the site has not loaded it yet; it is the site's own content, so
  --reset leaves it), drawn from the questions for the grade's level;
- every school enrolled (by the province's organiser);
- the students: each school's headcount spread over its level's grades, classes of about 45 per grade
  (`1班`, `2班`, …, their `headcount` the number of students put in them), and per student a User (an
  unusable password, a generated username, a nickname of the given name's initial and a digit, the class)
  and a Student roster row (real name, a student number unique across the site, gender);
- per registered student a LessonCompletion for each lesson done: the first `lessons_done` lessons of the
  grade's path in order, completed between the claim of the account and now;
- per student who took the final exam one submitted Attempt of the grade's exam quiz (number 1, the school
  and class set, started after the last lesson and submitted within the term so far): score = the questions
  answered right (a skill drawn per student, so realistic multiples of 5 % with some full marks), max_score
  = the quiz's number of questions, passed by the quiz's pass mark (the term's);
- per student a StudentProgress row, exactly what campaigns.lessons.progress_recompute derives from the
  above: registered (claimed; about 88 %, less in a few lagging schools), lessons done, completed every
  lesson (per school engagement), the exam's percentage for most of those who completed;
- SchoolTermFigures for every school, by campaigns.figures.term_figures_refresh (the same SQL the site runs).

Generated attempts carry no AttemptItem rows (no per-question answers): the score is set directly, so the
per-question statistics of the exam quizzes (difficulty, discrimination, option counts) are not generated at
scale and show nothing for these quizzes.
"""

import datetime as dt
import json
import math
import uuid
from collections import Counter, defaultdict
from decimal import Decimal

from django.db import connection

from campaigns.models import (
    Campaign,
    Enrollment,
    Lesson,
    LessonCompletion,
    SchoolTermFigures,
    StudentProgress,
    Term,
    TermExam,
)
from edu.models import JOIN_CODE_ALPHABET, Region, School, SchoolClass, Student, User
from edu.scale import (
    CHINA_TZ,
    GENERATED_USERNAME_PREFIX,
    PROVINCE_PATH,
    Context,
    Part,
    Table,
    delete_where,
    register,
    weighted_split,
)
from edu.scale import names as N
from edu.selectors import LIKE, like_prefix

UNUSABLE_PASSWORD = "!"  # noqa: S105 - Django's marker for "no password": students claim their accounts
STUDENT_PREFIX = f"{GENERATED_USERNAME_PREFIX}st"
TERM_GRADES = list(range(1, 17))
LESSONS_PER_GRADE = 4
QUESTIONS = 20  # the final exam: 20 questions of one point each, 5 % of the score each
EXAM_MINUTES = 30  # its time limit: an attempt's deadline is its start and this
EXCELLENT_PCT = 90  # campaigns.lessons.EXCELLENT_PCT
# The starter bank's audience for each grade's exam (the bank's "public" questions suit every level).
EXAM_AUDIENCE = {grade: "primary" for grade in range(1, 7)} | {
    **{grade: "junior" for grade in range(7, 10)},
    **{grade: "senior" for grade in range(10, 13)},
    **{grade: "university" for grade in range(13, 17)},
}
GRADES = {
    School.Level.PRIMARY: range(1, 7),
    School.Level.JUNIOR: range(7, 10),
    School.Level.SENIOR: range(10, 13),
    School.Level.VOCATIONAL: range(10, 13),
    School.Level.UNIVERSITY: range(13, 17),
}
CLASS_SIZE = {
    School.Level.PRIMARY: 42,
    School.Level.JUNIOR: 48,
    School.Level.SENIOR: 50,
    School.Level.VOCATIONAL: 45,
    School.Level.UNIVERSITY: 60,
}
LESSON_TITLES = [
    (
        "认识毒品",
        "毒品是指鸦片、海洛因、甲基苯丙胺（冰毒）、吗啡、大麻、可卡因以及国家规定管制的其他能够使人形成瘾癖的麻醉药品和精神药品。",
    ),
    (
        "新型毒品的伪装",
        "一些新型毒品伪装成奶茶、跳跳糖、邮票、电子烟油，外观与普通商品无异。陌生人给的东西不要吃、不要喝、不要吸。",
    ),
    ("学会拒绝", "面对诱惑时，态度坚决、说出理由、立即离开，并告诉老师和家长。真正的朋友不会让你尝试毒品。"),
    ("珍爱生命 远离毒品", "吸毒损害身体和大脑，也会毁掉家庭和前途。发现可疑情况，可拨打禁毒举报电话或报警。"),
]


# An attempt row as both builders write it (this part's final exams, the stats part's surveys and practice).
ATTEMPT_COLUMNS = [
    "id",
    "quiz_id",
    "user_id",
    "number",
    "school_class_id",
    "school_id",
    "started_at",
    "deadline",
    "submitted_at",
    "score",
    "max_score",
    "passed",
]


def _tables() -> dict[str, Table]:
    from quizzes.models import Attempt

    return {
        "class": Table(SchoolClass, ["id", "school_id", "grade", "name", "headcount", "join_code"]),
        "user": Table(
            User,
            [
                "id",
                "password",
                "username",
                "nickname",
                "is_active",
                "date_joined",
                "is_student",
                "school_class_id",
            ],
        ),
        "student": Table(
            Student,
            [
                "user_id",
                "school_id",
                "real_name",
                "student_number",
                "gender",
                "claim_code_issued_at",
                "claimed_at",
                "created_at",
            ],
        ),
        "completion": Table(LessonCompletion, ["lesson_id", "user_id", "completed_at"]),
        "attempt": Table(Attempt, ATTEMPT_COLUMNS),
        "enrollment": Table(Enrollment, ["term_id", "school_id", "status", "invited_by_id", "invited_at"]),
        "progress": Table(
            StudentProgress,
            [
                "term_id",
                "user_id",
                "school_id",
                "school_class_id",
                "region_path",
                "grade",
                "registered",
                "lessons_done",
                "lessons_total",
                "completed_all",
                "exam_score",
                "exam_passed",
                "exam_full_marks",
                "exam_excellent",
                "updated_at",
            ],
        ),
    }


def join_code_for(class_id: int) -> str:
    """A join code unique by construction: "Z" and the class id in the code alphabet (random codes of the
    site are drawn from the same alphabet, 8 characters: a clash would need one to spell a class id)."""
    base = len(JOIN_CODE_ALPHABET)
    digits = []
    for _ in range(7):
        class_id, digit = divmod(class_id, base)
        digits.append(JOIN_CODE_ALPHABET[digit])
    return "Z" + "".join(reversed(digits))


@register
class ClassroomPart(Part):
    name = "classroom"
    order = 40
    requires = ("regions", "schools", "volunteers")

    def models(self):
        from quizzes.models import Attempt, Quiz, QuizQuestion

        return [
            Campaign,
            Term,
            Lesson,
            TermExam,
            Quiz,
            QuizQuestion,
            Enrollment,
            SchoolClass,
            User,
            Student,
            LessonCompletion,
            Attempt,
            StudentProgress,
        ]

    # -- what is there, and deleting it -------------------------------------------------------------------

    @staticmethod
    def _terms_where() -> tuple[str, list[str]]:
        """The campaigns this part made: the province's campaigns with a term, by a generated organiser."""
        q = connection.ops.quote_name
        return (
            f"id IN (SELECT campaign_id FROM {q(Term._meta.db_table)}) "  # noqa: S608 - names from _meta
            f"AND region_id IN (SELECT id FROM {q(Region._meta.db_table)} WHERE path = %s) "
            f"AND created_by_id IN (SELECT id FROM {q(User._meta.db_table)} WHERE username {LIKE})",
            [PROVINCE_PATH, like_prefix(GENERATED_USERNAME_PREFIX)],
        )

    def existing(self) -> dict[str, int]:
        counts = {
            Term._meta.db_table: Term.objects.filter(
                campaign__region__path=PROVINCE_PATH,
                campaign__created_by__username__startswith=GENERATED_USERNAME_PREFIX,
            ).count(),
            Student._meta.db_table: Student.objects.filter(
                school__region_path__startswith=PROVINCE_PATH
            ).count(),
        }
        return {table: count for table, count in counts.items() if count}

    def delete(self) -> Counter:
        from quizzes.models import Quiz

        q = connection.ops.quote_name
        deleted: Counter = Counter()
        where, params = self._terms_where()
        campaigns = f"SELECT id FROM {q(Campaign._meta.db_table)} WHERE {where}"  # noqa: S608
        # The final exams' quizzes, read first: deleting them deletes the TermExam rows that name them, their
        # fixed questions (the bank's questions stay) and their attempts. The lesson completions go with the
        # lessons (the campaign's term) and with the students.
        terms = f"SELECT id FROM {q(Term._meta.db_table)} WHERE campaign_id IN ({campaigns})"  # noqa: S608
        with connection.cursor() as cursor:
            exams = f"SELECT quiz_id FROM {q(TermExam._meta.db_table)} WHERE term_id IN ({terms})"  # noqa: S608
            cursor.execute(exams, params)
            quizzes = [row[0] for row in cursor.fetchall()]
        if quizzes:
            delete_where(Quiz, f"id IN ({', '.join(['%s'] * len(quizzes))})", quizzes, deleted)
        delete_where(Campaign, where, params, deleted)
        delete_where(User, f"username {LIKE}", [like_prefix(STUDENT_PREFIX)], deleted)
        schools = f"SELECT id FROM {q(School._meta.db_table)} WHERE region_path {LIKE}"  # noqa: S608
        delete_where(SchoolClass, f"school_id IN ({schools})", [like_prefix(PROVINCE_PATH)], deleted)
        return deleted

    # -- generating ---------------------------------------------------------------------------------------

    def generate(self, ctx: Context) -> None:
        ClassroomBuilder(ctx).build()


class ClassroomBuilder:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rng = ctx.rng("classroom")
        self.tables = _tables()
        self.now = ctx.now.astimezone(CHINA_TZ)
        self.today = self.now.date()
        self.starts_on = self.today - dt.timedelta(days=60)
        self.opened = dt.datetime.combine(self.starts_on, dt.time(8), tzinfo=CHINA_TZ)
        self.native_uuid = connection.features.has_native_uuid_field
        self.lesson_ids: dict[int, list[int]] = {}  # grade → its lessons' ids in path order
        self.exams: dict[int, tuple[int, int]] = {}  # grade → (exam quiz id, its number of questions)

    def build(self) -> None:
        from campaigns.figures import term_figures_refresh

        ctx = self.ctx
        province = Region.objects.get(path=PROVINCE_PATH)
        organiser = User.objects.filter(username=f"{GENERATED_USERNAME_PREFIX}org_{province.code}_1").first()
        term = self._term(province, organiser)
        schools = defaultdict(list)
        for school in School.objects.filter(region_path__startswith=PROVINCE_PATH).order_by(
            "region_path", "pk"
        ):
            schools[school.region_id].append(school)
        ctx.write(
            self.tables["enrollment"],
            (
                (
                    term.pk,
                    school.pk,
                    Enrollment.Status.ENROLLED,
                    organiser.pk if organiser else None,
                    self.opened,
                )
                for county in schools.values()
                for school in county
            ),
        )
        total = sum(school.student_headcount for county in schools.values() for school in county)
        self.progress = ctx.progress("students", total, unit="students")
        for county_schools in schools.values():
            self._county(term, county_schools)
        self.progress.finish()
        refreshed = term_figures_refresh(term=term, now=ctx.now)
        ctx.rows[SchoolTermFigures._meta.db_table] += refreshed

    def _term(self, province: Region, organiser: User | None) -> Term:
        from quizzes.models import Quiz, QuizQuestion

        year = self.starts_on.year
        season = "秋季" if self.starts_on.month >= 8 or self.starts_on.month < 2 else "春季"
        campaign = Campaign.objects.create(
            title=f"{province.name}{year}年{season}学期青少年禁毒第二课堂",
            kind=Campaign.Kind.SECOND_CLASSROOM,
            region=province,
            starts_on=self.starts_on,
            ends_on=self.today + dt.timedelta(days=120),
            description="全省中小学校、中等职业学校和高校学生参加的禁毒第二课堂：按年级学习禁毒课程并参加期末考试。",
            created_by=organiser,
        )
        if organiser is not None:
            campaign.organisers.add(organiser)
        term = Term.objects.create(
            campaign=campaign,
            grades=TERM_GRADES,
            target_registration_pct=85,
            target_participation_pct=70,
            pass_mark_pct=60,
        )
        Lesson.objects.bulk_create(
            Lesson(term=term, grade=grade, position=position, title=title, body=body, minutes=15)
            for grade in TERM_GRADES
            for position, (title, body) in enumerate(LESSON_TITLES, 1)
        )
        self.ctx.rows[Lesson._meta.db_table] += len(TERM_GRADES) * len(LESSON_TITLES)
        for grade, pk in (
            Lesson.objects.filter(term=term).order_by("grade", "position").values_list("grade", "pk")
        ):
            self.lesson_ids.setdefault(grade, []).append(pk)
        bank = self._exam_bank()
        for grade in TERM_GRADES:
            quiz = Quiz.objects.create(
                title=f"{campaign.title} 期末考试（{grade}年级）"
                if grade <= 12
                else f"{campaign.title} 期末考试",
                campaign=campaign,
                access=Quiz.Access.CAMPAIGN,
                owner_region=campaign.region,
                selection=Quiz.Selection.FIXED,
                time_limit_minutes=EXAM_MINUTES,
                max_attempts=1,
                pass_mark=term.pass_mark_pct,
                is_published=True,
                created_by=organiser,
            )
            questions = self._exam_questions(bank, EXAM_AUDIENCE[grade])
            QuizQuestion.objects.bulk_create(
                QuizQuestion(quiz=quiz, question_id=question, position=position)
                for position, question in enumerate(questions, 1)
            )
            self.ctx.rows[QuizQuestion._meta.db_table] += len(questions)
            TermExam.objects.create(term=term, grade=grade, quiz=quiz)
            self.exams[grade] = (quiz.pk, len(questions))
        return term

    @staticmethod
    def _exam_bank() -> list[tuple[int, str]]:
        """The starter bank's ready Chinese questions (pk, packed audience), loading the bank if need be: only
        the bank's (by their translation groups), never a school's or an office's own questions."""
        from quizzes.models import Question
        from quizzes.starter import BANK_FILE, GROUP_NAMESPACE, starter_bank_load

        starter_bank_load()
        groups = [
            uuid.uuid5(GROUP_NAMESPACE, item["key"])
            for item in json.loads(BANK_FILE.read_text(encoding="utf-8"))
        ]
        return list(
            Question.objects.filter(
                translation_group__in=groups,
                status=Question.Status.READY,
                language="zh-hans",
                current_version__isnull=False,
            )
            .order_by("pk")
            .values_list("pk", "audience")
        )

    def _exam_questions(self, bank: list[tuple[int, str]], audience: str) -> list[int]:
        """QUESTIONS of the bank for the audience, topped up with the questions for everyone if too few."""
        suited = [pk for pk, packed in bank if f"|{audience}|" in packed]
        if len(suited) < QUESTIONS:
            chosen = set(suited)
            public = [pk for pk, packed in bank if "|public|" in packed and pk not in chosen]
            suited += self.rng.sample(public, min(len(public), QUESTIONS - len(suited)))
        return sorted(self.rng.sample(suited, min(len(suited), QUESTIONS)))

    def _county(self, term: Term, schools: list[School]) -> None:
        ctx, rng = self.ctx, self.rng
        plans = []  # (school, grade, class name, size)
        for school in schools:
            grades = list(GRADES.get(school.level, range(1, 7)))
            per_grade = weighted_split(school.student_headcount, [rng.uniform(0.85, 1.15) for _ in grades])
            size = CLASS_SIZE.get(school.level, 45)
            for grade, count in zip(grades, per_grade, strict=True):
                if not count:
                    continue
                classes = max(1, round(count / size))
                for number, headcount in enumerate(weighted_split(count, [1.0] * classes), 1):
                    plans.append((school, grade, f"{number}班", headcount))
        class_ids = ctx.reserve_ids(SchoolClass, len(plans))
        ctx.write(
            self.tables["class"],
            (
                (pk, school.pk, grade, name, headcount, join_code_for(pk))
                for pk, (school, grade, name, headcount) in zip(class_ids, plans, strict=True)
            ),
        )
        students = sum(plan[3] for plan in plans)
        user_ids = iter(ctx.reserve_ids(User, students))
        users, records, progress, completions, attempts = [], [], [], [], []
        serial: Counter = Counter()
        school_mood: dict[int, tuple[float, float]] = {}
        for class_id, (school, grade, _name, headcount) in zip(class_ids, plans, strict=True):
            if school.pk not in school_mood:
                lagging = rng.random() < 0.06
                registration = min(
                    1.0, max(0.2, rng.gauss(0.55 if lagging else 0.9, 0.15 if lagging else 0.06))
                )
                engagement = min(1.0, max(0.2, rng.gauss(0.5 if lagging else 0.82, 0.1)))
                school_mood[school.pk] = (registration, engagement)
            registration, engagement = school_mood[school.pk]
            for _ in range(headcount):
                user_id = next(user_ids)
                serial[school.pk] += 1
                number = f"96{school.code[-6:]}{serial[school.pk]:05d}"
                surname = rng.choice(N.SURNAMES)
                given = "".join(rng.choice(N.GIVEN) for _ in range(1 if rng.random() < 0.3 else 2))
                joined = self.opened - dt.timedelta(days=rng.randint(0, 400))
                registered = rng.random() < registration
                claimed = (
                    self.opened + dt.timedelta(minutes=rng.randint(0, 50 * 24 * 60)) if registered else None
                )
                users.append(
                    (
                        user_id,
                        UNUSABLE_PASSWORD,
                        f"{STUDENT_PREFIX}{number}",
                        f"{given[0]}{rng.randint(0, 9)}",
                        True,
                        joined,
                        True,
                        class_id,
                    )
                )
                records.append(
                    (
                        user_id,
                        school.pk,
                        surname + given,
                        number,
                        rng.choice("FM"),
                        self.opened,
                        claimed,
                        joined,
                    )
                )
                done, right = self._activity(claimed, engagement, grade)
                last = claimed
                if done:
                    lessons = self.lesson_ids[grade]
                    span = (self.now - claimed).total_seconds()
                    offsets = sorted(rng.random() for _ in range(done))
                    for lesson_id, offset in zip(lessons, offsets, strict=False):
                        last = claimed + dt.timedelta(seconds=round(offset * span))
                        completions.append((lesson_id, user_id, last))
                score = None
                if right is not None:
                    attempts.append(self._attempt(user_id, school.pk, class_id, grade, term, last, right))
                    score = self._percent(right, self.exams[grade][1])
                progress.append(self._progress(term, user_id, school, class_id, grade, claimed, done, score))
        ctx.write(self.tables["user"], users)
        ctx.write(self.tables["student"], records)
        ctx.write(self.tables["completion"], completions)
        ctx.write(self.tables["attempt"], attempts)
        ctx.write(self.tables["progress"], progress)
        self.progress.advance(students)

    def _activity(self, claimed: dt.datetime | None, engagement: float, grade: int) -> tuple[int, int | None]:
        """How many of the grade's lessons the student did, and how many exam questions they got right
        (None: no exam taken). Only students who claimed their account take part; only those who finished
        every lesson may sit the exam."""
        rng = self.rng
        if claimed is None:
            return 0, None
        lessons = len(self.lesson_ids[grade])
        completed = rng.random() < engagement
        done = lessons if completed else rng.randint(0, lessons - 1)
        questions = self.exams[grade][1]
        if not (completed and questions and rng.random() < 0.92):
            return done, None
        skill = rng.betavariate(5.5, 1.5)
        spread = math.sqrt(questions * skill * (1 - skill))
        return done, min(questions, max(0, round(rng.gauss(questions * skill, spread))))

    @staticmethod
    def _percent(right: int, questions: int) -> Decimal:
        """The attempt's percentage as campaigns.lessons._exam_fields computes it."""
        return (Decimal(right) * 100 / Decimal(questions)).quantize(Decimal("0.01"))

    def _attempt(self, user_id, school_id, class_id, grade, term, after: dt.datetime, right: int) -> tuple:
        rng = self.rng
        quiz_id, questions = self.exams[grade]
        started = after + dt.timedelta(seconds=round(rng.random() * (self.now - after).total_seconds()))
        submitted = min(self.now, started + dt.timedelta(seconds=rng.randint(4 * 60, 25 * 60)))
        attempt_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        return (
            attempt_id if self.native_uuid else attempt_id.hex,
            quiz_id,
            user_id,
            1,
            class_id,
            school_id,
            started,
            started + dt.timedelta(minutes=EXAM_MINUTES),
            submitted,
            right,
            questions,
            right * 100 >= questions * term.pass_mark_pct,  # quizzes.marking.passed, the quiz's pass mark
        )

    def _progress(self, term, user_id, school, class_id, grade, claimed, done: int, score) -> tuple:
        lessons = len(self.lesson_ids[grade])
        return (
            term.pk,
            user_id,
            school.pk,
            class_id,
            school.region_path,
            grade,
            claimed is not None,
            done,
            lessons,
            lessons > 0 and done >= lessons,
            score,
            score is not None and score >= term.pass_mark_pct,
            score is not None and score >= 100,
            score is not None and score >= EXCELLENT_PCT,
            self.now,
        )
