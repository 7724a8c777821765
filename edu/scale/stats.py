"""The statistics part: the term's activity over time, so that the organisers' dashboard (issue #7) has
realistic figures to chart at the seeds' scale.

What it adds to the classroom part's term (whose only attempts are the final exams, about 3.45 million):

- the campaign's knowledge survey: two published quizzes with survey_phase "before" and "after" (access
  campaign, 10 fixed questions for every level from the starter bank, one attempt each). The "before" survey
  is open the term's first three weeks, the "after" one its last three weeks so far;
- four practice quizzes on the campaign (one per school level, 10 questions, any number of attempts);
- submitted attempts, so that the province's Attempt rows reach its number of students (5.29 million at the
  seeds' scale): a share of the registered students answer the survey before (those registered in time) and
  after, and some practise, more in schools that take part more. Each attempt has the student's school and
  class, its number (1 for the surveys; 1, 2, … per practice quiz), max_score the quiz's 10 questions, a score
  of questions right and passed by the quiz's pass mark. Awareness (the survey's share right) is drawn per
  school and student, and the "after" survey's is a few points higher than the "before" one's, by a gain that
  varies by school. Times: after the student claimed their account, fewer at weekends and at night, more as a
  deadline nears (the "before" survey's close, the last weeks);
- finished live contests from the term's second week on (about one per 1,800 students): most hosted by a
  teacher of a school (a generated teacher account per hosting school) with 20–400 of its students registered
  by then as players, the rest by the county's organiser with players from several of its schools. Players
  carry their school and class, a score and a rank; no questions or answers are generated;
- at the end, the statistics rollups (stats.rollups.rebuild, and stats.surveys.surveys_rebuild when present)
  recomputed for every day the generated set covers (the volunteers' five years of service and the term).

`delete` removes the quizzes (with their attempts and contests), the teachers and the province's statistics
rollups (derived rows: `manage.py refresh_stats` or a new run of this part recomputes them).
"""

import bisect
import datetime as dt
import math
import time
import uuid
from collections import Counter, defaultdict

from django.db import connection

from campaigns.models import Campaign, Lesson, Term, TermExam
from edu.models import Region, School, Student, User
from edu.scale import (
    CHINA_TZ,
    GENERATED_USERNAME_PREFIX,
    PROVINCE_PATH,
    Context,
    Part,
    Table,
    analyze,
    delete_where,
    register,
)
from edu.scale import names as N
from edu.scale.classroom import ATTEMPT_COLUMNS, ClassroomBuilder, ClassroomPart
from edu.selectors import LIKE, like_prefix

UNUSABLE_PASSWORD = "!"  # noqa: S105 - Django's marker for "no password"
TEACHER_PREFIX = f"{GENERATED_USERNAME_PREFIX}tch_"
QUESTIONS = 10  # the survey's and each practice quiz's fixed questions, one point each
QUIZ_MINUTES = 15
PASS_MARK = 60
SURVEY_DAYS = 21  # the "before" survey: the term's first three weeks; the "after" one: the last three so far
# How the attempts added are shared out (the surveys take the most; practice the rest).
SHARES = {"before": 0.42, "after": 0.33}
STUDENTS_PER_CONTEST = 1800
ORGANISER_HOSTED = 0.15
PLAYERS = (80, 400)
PLAYERS_AT_LEAST = 20  # a contest drawn before enough of its students registered is not held
CONTESTS_AFTER_DAYS = 7  # contests start in the term's second week, once most classes have registered
WEEKDAY = (1.0, 1.0, 1.0, 0.95, 0.85, 0.4, 0.3)  # Monday … Sunday
# Local hours of the day: lessons in the morning and afternoon, homework in the evening.
SCHOOL_HOURS = [
    0,
    0,
    0,
    0,
    0,
    0,
    0.05,
    0.3,
    1.6,
    2.0,
    2.0,
    1.4,
    0.5,
    0.7,
    1.8,
    2.0,
    1.9,
    1.1,
    0.7,
    1.3,
    1.6,
    1.1,
    0.4,
    0.1,
]
WEEKEND_HOURS = [
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0.1,
    0.5,
    1.2,
    1.5,
    1.2,
    0.8,
    0.9,
    1.3,
    1.4,
    1.3,
    1.0,
    0.8,
    1.3,
    1.5,
    1.1,
    0.5,
    0.1,
]
CONTEST_HOURS = [0] * 8 + [1.0, 2.0, 2.0, 1.0, 0, 0, 1.5, 2.0, 1.5, 0.5] + [0] * 6
PRACTICE_AUDIENCE = {
    School.Level.PRIMARY: "primary",
    School.Level.JUNIOR: "junior",
    School.Level.SENIOR: "senior",
    School.Level.VOCATIONAL: "senior",
    School.Level.UNIVERSITY: "university",
}
AUDIENCE_LABEL = {"primary": "小学", "junior": "初中", "senior": "高中", "university": "高校"}


def _tables() -> dict[str, Table]:
    from quizzes.models import Attempt, LiveContest, LivePlayer

    return {
        "teacher": Table(
            User,
            ["id", "password", "username", "nickname", "is_active", "date_joined", "is_teacher", "school_id"],
        ),
        "attempt": Table(Attempt, ATTEMPT_COLUMNS),
        "contest": Table(
            LiveContest,
            [
                "id",
                "title",
                "quiz_id",
                "pin",
                "host_id",
                "campaign_id",
                "status",
                "created_at",
                "finished_at",
            ],
        ),
        "player": Table(
            LivePlayer,
            [
                "contest_id",
                "user_id",
                "nickname",
                "token",
                "school_class_id",
                "school_id",
                "score",
                "streak",
                "rank",
                "joined_at",
            ],
        ),
    }


def _generated_term() -> Term | None:
    return (
        Term.objects.select_related("campaign")
        .filter(
            campaign__region__path=PROVINCE_PATH,
            campaign__created_by__username__startswith=GENERATED_USERNAME_PREFIX,
        )
        .order_by("pk")
        .first()
    )


def _stats_models() -> list:
    """The statistics rollups whose tables are there (a database not migrated yet has none)."""
    from stats.models import ActiveMark, RegionDay, SchoolDay, SurveyFigures

    tables = set(connection.introspection.table_names())
    return [
        model for model in (SchoolDay, RegionDay, ActiveMark, SurveyFigures) if model._meta.db_table in tables
    ]


@register
class StatsPart(Part):
    name = "stats"
    order = 50
    requires = ("regions", "schools", "volunteers", "classroom")

    def models(self):
        from quizzes.models import Attempt, LiveContest, LivePlayer, Quiz, QuizQuestion

        return [Quiz, QuizQuestion, Attempt, LiveContest, LivePlayer, User, *_stats_models()]

    # -- what is there, and deleting it -------------------------------------------------------------------

    @staticmethod
    def _quizzes_where() -> tuple[str, list]:
        """This part's quizzes: those of the classroom part's campaigns, by a generated user, that are neither
        a final exam nor a lesson's quiz."""
        q = connection.ops.quote_name
        terms, params = ClassroomPart._terms_where()
        return (
            f"campaign_id IN (SELECT id FROM {q(Campaign._meta.db_table)} WHERE {terms}) "  # noqa: S608
            f"AND created_by_id IN (SELECT id FROM {q(User._meta.db_table)} WHERE username {LIKE}) "
            f"AND id NOT IN (SELECT quiz_id FROM {q(TermExam._meta.db_table)}) "
            f"AND id NOT IN (SELECT quiz_id FROM {q(Lesson._meta.db_table)} WHERE quiz_id IS NOT NULL)",
            [*params, like_prefix(GENERATED_USERNAME_PREFIX)],
        )

    def existing(self) -> dict[str, int]:
        from quizzes.models import Quiz

        q = connection.ops.quote_name
        where, params = self._quizzes_where()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {q(Quiz._meta.db_table)} WHERE {where}", params)  # noqa: S608
            quizzes = cursor.fetchone()[0]
        counts = {
            Quiz._meta.db_table: quizzes,
            "teachers": User.objects.filter(username__startswith=TEACHER_PREFIX).count(),
        }
        return {table: count for table, count in counts.items() if count}

    def delete(self) -> Counter:
        from quizzes.models import Quiz

        deleted: Counter = Counter()
        # The province's rollups derive from every part's rows: they go, and refresh_stats recomputes them.
        for model in _stats_models():
            delete_where(model, f"region_path {LIKE}", [like_prefix(PROVINCE_PATH)], deleted)
        # The quizzes take their questions, attempts and live contests (and the players) with them.
        delete_where(Quiz, *self._quizzes_where(), deleted)
        delete_where(User, f"username {LIKE}", [like_prefix(TEACHER_PREFIX)], deleted)
        return deleted

    # -- generating ---------------------------------------------------------------------------------------

    def generate(self, ctx: Context) -> None:
        StatsBuilder(ctx).build()


class DayDraw:
    """The days of a window with their weights; a draw takes a day on or after a given one."""

    def __init__(self, first: dt.date, last: dt.date, weight) -> None:
        self.days = [first + dt.timedelta(days=n) for n in range(max(0, (last - first).days + 1))]
        self.ordinals = [day.toordinal() for day in self.days]
        self.cumulative = []
        total = 0.0
        for day in self.days:
            total += weight(day)
            self.cumulative.append(total)

    def draw(self, rng, not_before: dt.date) -> dt.date | None:
        low = bisect.bisect_left(self.ordinals, not_before.toordinal())
        if low >= len(self.days):
            return None
        base = self.cumulative[low - 1] if low else 0.0
        target = base + rng.random() * (self.cumulative[-1] - base)
        return self.days[min(bisect.bisect_left(self.cumulative, target, low), len(self.days) - 1)]


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


class StatsBuilder:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rng = ctx.rng("stats")
        self.tables = _tables()
        self.now = ctx.now.astimezone(CHINA_TZ)
        self.today = self.now.date()
        self.native_uuid = connection.features.has_native_uuid_field
        self.school_hours = _cumulative(SCHOOL_HOURS)
        self.weekend_hours = _cumulative(WEEKEND_HOURS)
        self.contest_hours = _cumulative(CONTEST_HOURS)

    # -- the run ------------------------------------------------------------------------------------------

    def build(self) -> None:
        from quizzes.models import Attempt

        ctx = self.ctx
        term = _generated_term()
        if term is None:
            raise RuntimeError("the classroom part's term is missing: generate the classroom part first")
        campaign = term.campaign
        province = Region.objects.get(path=PROVINCE_PATH)
        self.organisers = dict(
            User.objects.filter(
                username__startswith=f"{GENERATED_USERNAME_PREFIX}org_", username__endswith="_1"
            )
            .exclude(region=None)
            .values_list("region_id", "pk")
        )
        self.opened = dt.datetime.combine(campaign.starts_on, dt.time(8), tzinfo=CHINA_TZ)
        self.before_closes = self.opened + dt.timedelta(days=SURVEY_DAYS)
        self.after_opens = dt.datetime.combine(
            max(campaign.starts_on, self.today - dt.timedelta(days=SURVEY_DAYS - 1)),
            dt.time(0),
            tzinfo=CHINA_TZ,
        )
        self.campaign = campaign
        self._quizzes(campaign, province)
        self._day_draws()

        schools = defaultdict(list)
        for school in School.objects.filter(region_path__startswith=PROVINCE_PATH).order_by(
            "region_path", "pk"
        ):
            schools[school.region_id].append(school)
        counties = {
            region.pk: region
            for region in Region.objects.filter(path__startswith=PROVINCE_PATH, level=Region.Level.COUNTY)
        }
        # How many attempts to add, and so how likely each registered student is to take each quiz.
        existing = Attempt.objects.filter(school__region_path__startswith=PROVINCE_PATH).count()
        registered = Student.objects.filter(
            school__region_path__startswith=PROVINCE_PATH, claimed_at__isnull=False
        )
        in_time = registered.filter(claimed_at__lt=self.before_closes - dt.timedelta(hours=1)).count()
        registered = registered.count()
        wanted = max(0, ctx.figures.students - existing)
        before = min(wanted * SHARES["before"], 0.85 * in_time)
        after = min(wanted * SHARES["after"], 0.85 * registered)
        self.p_before = before / in_time if in_time else 0.0
        self.p_after = after / registered if registered else 0.0
        self.practice_rate = max(0.0, wanted - before - after) / registered if registered else 0.0
        self.moods = self._moods([school for county in schools.values() for school in county])
        headcount = sum(school.student_headcount for county in schools.values() for school in county)
        self.progress = ctx.progress("students", headcount, unit="students")
        for county_pk, county_schools in schools.items():
            self._county(counties[county_pk], county_schools)
        self.progress.finish()
        self._rollups()

    def _moods(self, schools: list[School]) -> dict[int, tuple[float, float, float]]:
        """Per school: how much it takes part (surveys and practice; 1 on average over the students, so that
        the attempts reach the number wanted), its students' awareness, and its gain over the term."""
        rng = self.rng
        drawn = {
            school.pk: (
                rng.lognormvariate(0, 0.4),
                min(0.92, max(0.35, rng.gauss(0.68, 0.08))),
                min(0.18, max(-0.03, rng.gauss(0.06, 0.035))),
            )
            for school in schools
        }
        students = sum(school.student_headcount for school in schools) or 1
        mean = sum(drawn[school.pk][0] * school.student_headcount for school in schools) / students or 1
        return {
            pk: (taking_part / mean, awareness, gain) for pk, (taking_part, awareness, gain) in drawn.items()
        }

    def _quizzes(self, campaign, province: Region) -> None:
        from quizzes.models import Quiz, QuizQuestion

        bank = ClassroomBuilder._exam_bank()  # the starter bank's ready Chinese questions, loaded if need be
        creator = self.organisers.get(province.pk)
        common = {
            "campaign": campaign,
            "access": Quiz.Access.CAMPAIGN,
            "owner_region": province,
            "selection": Quiz.Selection.FIXED,
            "time_limit_minutes": QUIZ_MINUTES,
            "pass_mark": PASS_MARK,
            "is_published": True,
            "created_by_id": creator,
        }
        closes = dt.datetime.combine(campaign.ends_on, dt.time(23, 59), tzinfo=CHINA_TZ)
        self.survey = {
            "before": Quiz.objects.create(
                title=f"{campaign.title} 禁毒知识问卷（学期初）",
                description="了解同学们学习禁毒课程之前的禁毒知识水平，不计入成绩。",
                survey_phase=Quiz.SurveyPhase.BEFORE,
                max_attempts=1,
                opens_at=self.opened,
                closes_at=self.before_closes,
                **common,
            ),
            "after": Quiz.objects.create(
                title=f"{campaign.title} 禁毒知识问卷（学期末）",
                description="学完禁毒课程后再答一次，与学期初的问卷比较禁毒知识知晓率。",
                survey_phase=Quiz.SurveyPhase.AFTER,
                max_attempts=1,
                opens_at=self.after_opens,
                closes_at=max(closes, self.after_opens + dt.timedelta(days=1)),
                **common,
            ),
        }
        public = [pk for pk, packed in bank if "|public|" in packed] or [pk for pk, _ in bank]
        survey_questions = self._pick(public, [pk for pk, _ in bank])
        for quiz in self.survey.values():
            QuizQuestion.objects.bulk_create(
                QuizQuestion(quiz=quiz, question_id=pk, position=n)
                for n, pk in enumerate(survey_questions, 1)
            )
        self.practice = {}
        for audience, label in AUDIENCE_LABEL.items():
            quiz = Quiz.objects.create(
                title=f"禁毒知识练习（{label}）",
                description="第二课堂的课后练习，可以反复作答。",
                max_attempts=0,
                **common,
            )
            suited = [pk for pk, packed in bank if f"|{audience}|" in packed]
            questions = self._pick(suited, public)
            QuizQuestion.objects.bulk_create(
                QuizQuestion(quiz=quiz, question_id=pk, position=n) for n, pk in enumerate(questions, 1)
            )
            self.practice[audience] = quiz
        self.ctx.rows[Quiz._meta.db_table] += len(self.survey) + len(self.practice)
        self.ctx.rows[QuizQuestion._meta.db_table] += QUESTIONS * (len(self.survey) + len(self.practice))
        self.max_score = {
            quiz.pk: QuizQuestion.objects.filter(quiz=quiz).count() for quiz in self._all_quizzes()
        }

    def _all_quizzes(self):
        return [*self.survey.values(), *self.practice.values()]

    def _pick(self, suited: list[int], top_up: list[int]) -> list[int]:
        chosen = self.rng.sample(suited, min(len(suited), QUESTIONS))
        rest = [pk for pk in top_up if pk not in set(chosen)]
        chosen += self.rng.sample(rest, min(len(rest), QUESTIONS - len(chosen)))
        return sorted(chosen)

    def _day_draws(self) -> None:
        """When things happen: fewer at weekends, more as the "before" survey's close and the term's last
        weeks near."""
        before_close = self.before_closes.date()
        first, today = self.opened.date(), self.today

        def rush(day: dt.date, deadline: dt.date, days: float) -> float:
            gap = (deadline - day).days
            return 2.0 * math.exp(-gap / days) if gap >= 0 else 0.0

        def before(day):
            return WEEKDAY[day.weekday()] * (1 + rush(day, before_close, 4))

        def after(day):
            return WEEKDAY[day.weekday()] * (1 + rush(day, today, 6))

        def practice(day):
            return WEEKDAY[day.weekday()] * (
                1 + 0.5 * rush(day, before_close, 4) + 0.8 * rush(day, today, 10)
            )

        # The windows end the day before the survey closes (at 8:00) and before today (still under way).
        yesterday = today - dt.timedelta(days=1)
        self.draw_before = DayDraw(first, before_close - dt.timedelta(days=1), before)
        self.draw_after = DayDraw(self.after_opens.date(), yesterday, after)
        self.draw_practice = DayDraw(first, yesterday, practice)
        self.contests_from = first + dt.timedelta(days=CONTESTS_AFTER_DAYS)
        self.draw_contest = DayDraw(self.contests_from, yesterday, lambda day: WEEKDAY[day.weekday()] ** 2)

    def _at(self, day: dt.date, hours: list[float] | None = None) -> dt.datetime:
        rng = self.rng
        if hours is None:
            hours = self.weekend_hours if day.weekday() >= 5 else self.school_hours
        hour = bisect.bisect_left(hours, rng.random() * hours[-1])
        return dt.datetime.combine(
            day, dt.time(min(hour, 23), rng.randrange(60), rng.randrange(60)), tzinfo=CHINA_TZ
        )

    # -- one county ---------------------------------------------------------------------------------------

    def _county(self, county: Region, schools: list[School]) -> None:
        ctx, rng = self.ctx, self.rng
        by_school = defaultdict(list)
        for row in (
            Student.objects.filter(school__in=schools, claimed_at__isnull=False)
            .order_by("school_id", "user_id")
            .values_list("user_id", "school_id", "user__school_class_id", "claimed_at", "user__nickname")
        ):
            by_school[row[1]].append(row)
        attempts = []
        for school in schools:
            taking_part, awareness, gain = self.moods[school.pk]
            audience = PRACTICE_AUDIENCE.get(school.level, "primary")
            for user_id, _school, class_id, claimed, _nick in by_school[school.pk]:
                own = rng.gauss(0, 0.12)
                where = (user_id, class_id, school.pk)
                in_time = claimed < self.before_closes - dt.timedelta(hours=1)
                if in_time and rng.random() < min(0.97, self.p_before * taking_part):
                    self._attempt(
                        attempts,
                        where,
                        self.survey["before"].pk,
                        1,
                        claimed,
                        awareness + own,
                        self.draw_before,
                        self.before_closes,
                    )
                if rng.random() < min(0.97, self.p_after * taking_part):
                    self._attempt(
                        attempts,
                        where,
                        self.survey["after"].pk,
                        1,
                        claimed,
                        awareness + gain + own,
                        self.draw_after,
                        None,
                    )
                practised = self._poisson(self.practice_rate * taking_part)
                after = claimed
                for number in range(1, practised + 1):
                    done = self._attempt(
                        attempts,
                        where,
                        self.practice[audience].pk,
                        number,
                        after,
                        awareness + own + 0.03 * number,
                        self.draw_practice,
                        None,
                    )
                    if done is None:
                        break
                    after = done
        ctx.write(self.tables["attempt"], attempts)
        self._contests(county, schools, by_school)
        self.progress.advance(sum(school.student_headcount for school in schools))

    def _poisson(self, mean: float) -> int:
        limit, k, product = math.exp(-mean), 0, self.rng.random()
        while product > limit:
            k += 1
            product *= self.rng.random()
        return k

    def _attempt(
        self, rows, where, quiz_id, number, after, skill, draw: DayDraw, closes
    ) -> dt.datetime | None:
        """One submitted attempt on a day drawn from `draw`, started after `after` (and before `closes`).
        Every draw is made before deciding, so a skipped attempt leaves the random stream as a kept one."""
        rng = self.rng
        user_id, class_id, school_id = where
        day = draw.draw(rng, after.date())
        started = self._at(day or after.date())
        late = dt.timedelta(minutes=rng.randint(1, 120))
        took = dt.timedelta(seconds=rng.randint(150, (QUIZ_MINUTES - 1) * 60))
        chance = min(0.98, max(0.05, skill))
        right = sum(rng.random() < chance for _ in range(QUESTIONS))
        attempt_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        if day is None:
            return None
        if started <= after:
            started = after + late
        submitted = started + took
        if submitted > self.now or (closes is not None and started >= closes):
            return None
        questions = self.max_score[quiz_id]
        right = min(right, questions)
        rows.append(
            (
                attempt_id if self.native_uuid else attempt_id.hex,
                quiz_id,
                user_id,
                number,
                class_id,
                school_id,
                started,
                started + dt.timedelta(minutes=QUIZ_MINUTES),
                submitted,
                right,
                questions,
                right * 100 >= questions * PASS_MARK,  # quizzes.marking.passed, the quiz's pass mark
            )
        )
        return submitted

    # -- live contests ------------------------------------------------------------------------------------

    def _contests(self, county: Region, schools: list[School], by_school: dict) -> None:
        ctx, rng = self.ctx, self.rng
        headcount = sum(school.student_headcount for school in schools)
        expected = headcount / STUDENTS_PER_CONTEST
        count = math.floor(expected) + (rng.random() < expected - math.floor(expected))
        if not count or not schools:
            return
        weights = [school.student_headcount for school in schools]
        plans = []  # (host school or None, when it was created and finished, the players drawn)
        for _ in range(count):
            if rng.random() < ORGANISER_HOSTED and county.pk in self.organisers:
                host_school, playing = None, rng.sample(schools, min(len(schools), rng.randint(2, 5)))
            else:
                host_school = rng.choices(schools, weights=weights)[0]
                playing = [host_school]
            day = self.draw_contest.draw(rng, self.contests_from)
            finished = self._at(day or self.today, self.contest_hours) + dt.timedelta(minutes=40)
            created = finished - dt.timedelta(minutes=rng.randint(20, 50))
            # Players: students of those schools registered by then (a contest too small to hold is dropped).
            pool = [row for school in playing for row in by_school[school.pk] if row[3] < created]
            chosen = rng.sample(pool, min(len(pool), rng.randint(*PLAYERS)))
            if day is not None and len(chosen) >= PLAYERS_AT_LEAST and finished < self.now:
                plans.append((host_school, created, finished, chosen))
        hosts = sorted(
            {school.pk: school for school, *_ in plans if school is not None}.values(), key=lambda s: s.pk
        )
        teacher_ids = dict(zip([s.pk for s in hosts], ctx.reserve_ids(User, len(hosts)), strict=True))
        ctx.write(
            self.tables["teacher"],
            (
                (
                    teacher_ids[school.pk],
                    UNUSABLE_PASSWORD,
                    f"{TEACHER_PREFIX}{school.code}",
                    f"{rng.choice(N.SURNAMES)}老师",
                    True,
                    self.opened - dt.timedelta(days=rng.randint(30, 900)),
                    True,
                    school.pk,
                )
                for school in hosts
            ),
        )
        contest_ids = ctx.reserve_ids(self.tables["contest"].model, len(plans))
        contests, players = [], []
        for pk, (host_school, created, finished, chosen) in zip(contest_ids, plans, strict=True):
            if host_school is None:
                host, title = self.organisers[county.pk], f"{county.name}青少年禁毒知识擂台赛"
                quiz = self.practice["junior"]
            else:
                host, title = teacher_ids[host_school.pk], f"{host_school.name}禁毒知识抢答赛"
                quiz = self.practice[PRACTICE_AUDIENCE.get(host_school.level, "primary")]
            pin = f"{rng.randrange(10**6):06d}"
            contests.append((pk, title, quiz.pk, pin, host, self.campaign.pk, "finished", created, finished))
            scores = sorted(
                ((round(rng.betavariate(4, 2) * 9000), row) for row in chosen), key=lambda item: -item[0]
            )
            nicknames: Counter = Counter()
            for rank, (score, (user_id, school_id, class_id, _claimed, nickname)) in enumerate(scores, 1):
                nickname = (nickname or "选手")[:24]
                nicknames[nickname] += 1
                if nicknames[nickname] > 1:
                    nickname = f"{nickname}#{nicknames[nickname]}"
                players.append(
                    (
                        pk,
                        user_id,
                        nickname,
                        f"{rng.getrandbits(256):064x}",
                        class_id,
                        school_id,
                        score,
                        rng.randint(0, 6),
                        rank,
                        created + dt.timedelta(seconds=rng.randint(10, 290)),
                    )
                )
        ctx.write(self.tables["contest"], contests)
        ctx.write(self.tables["player"], players)

    # -- the statistics rollups ---------------------------------------------------------------------------

    def _rollups(self) -> None:
        """Recompute the dashboard's rollups for every day generated (the volunteers' years and the term), and
        the survey's figures."""
        from quizzes.models import Attempt, LivePlayer
        from stats.rollups import rebuild
        from stats.surveys import surveys_rebuild

        ctx = self.ctx
        # Fresh planner statistics for the rows just copied (ANALYZE only: we are inside the transaction).
        analyze([Attempt._meta.db_table, LivePlayer._meta.db_table])
        start = min(self.opened.date(), self.today - dt.timedelta(days=365 * ctx.figures.years + 1))
        days = (self.today - start).days + 1
        progress = ctx.progress(f"rollups {start}…{self.today}", days, unit="days")
        started = time.perf_counter()
        written = rebuild(start=start, end=self.today, progress=lambda _day: progress.advance())
        progress.finish()
        # The command's summary lists these with the time they took, beside the tables written.
        ctx.rows["stats.rollups.rebuild"] += sum(written.values())
        ctx.write_seconds["stats.rollups.rebuild"] += time.perf_counter() - started
        for table, rows in written.items():
            ctx.rows[f"{table} (rebuild)"] += rows
        started = time.perf_counter()
        ctx.rows["stats.surveys.surveys_rebuild"] += surveys_rebuild(quizzes=self.survey.values())
        ctx.write_seconds["stats.surveys.surveys_rebuild"] += time.perf_counter() - started
