"""The question bank (questions and their immutable versions), quizzes, and students' attempts."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from edu.models import Region, School, SchoolClass, localized

# The site's languages are the languages questions and quizzes come in.
LANGUAGES = settings.LANGUAGES


class Audience(models.TextChoices):
    PRIMARY = "primary", _("primary school")
    JUNIOR = "junior", _("junior secondary")
    SENIOR = "senior", _("senior secondary")
    UNIVERSITY = "university", _("university")
    PUBLIC = "public", _("the public")


def pack_codes(codes) -> str:
    """["junior", "senior"] → "|junior|senior|": a list that filters the same way on SQLite and PostgreSQL."""
    codes = [code for code in dict.fromkeys(codes) if code]
    return f"|{'|'.join(codes)}|" if codes else ""


def unpack_codes(packed: str) -> list[str]:
    return [code for code in packed.split("|") if code]


class Category(models.Model):
    """A node of the topic tree (drug identification, harms, law, …).

    `path` makes a subtree one prefix query."""

    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    path = models.CharField(max_length=255, unique=True, editable=False)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs) -> None:
        self.path = f"{self.parent.path if self.parent_id else ''}{self.slug}/"
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return localized(self.name, self.name_en)


class QuestionType(models.TextChoices):
    SINGLE = "single", _("single choice")
    MULTIPLE = "multiple", _("multiple choice")
    TRUE_FALSE = "true_false", _("true or false")


class Question(models.Model):
    """A bank entry. Its text lives in versions: once a version has been answered it never changes, and an
    edit makes a new version, so reviews and statistics never shift under a student's feet."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        READY = "ready", _("ready")
        RETIRED = "retired", _("retired")

    language = models.CharField(_("language"), max_length=8, choices=LANGUAGES, default="zh-hans")
    # Translations of one question share a group.
    translation_group = models.UUIDField(_("translation group"), default=uuid.uuid4, db_index=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="questions", verbose_name=_("category")
    )
    # Category path copied here, so that a quiz rule draws from a subtree without a join.
    category_path = models.CharField(max_length=255, db_index=True, editable=False)
    audience = models.CharField(_("audience"), max_length=100, blank=True)
    tags = models.CharField(_("tags"), max_length=255, blank=True)
    difficulty = models.PositiveSmallIntegerField(_("difficulty"), default=3)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.DRAFT)
    # Same language, stem and options: a duplicate, refused by the database.
    fingerprint = models.CharField(max_length=64, unique=True)
    current_version = models.ForeignKey(
        "QuestionVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    owner_region = models.ForeignKey(
        Region,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner region"),
    )
    owner_school = models.ForeignKey(
        School,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner school"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["status", "language", "category_path"], name="question_draw")]
        constraints = [
            models.CheckConstraint(
                condition=Q(difficulty__gte=1, difficulty__lte=5), name="question_difficulty_1_5"
            ),
        ]

    def __str__(self) -> str:
        return self.current_version.stem[:80] if self.current_version_id else f"#{self.pk}"

    def save(self, *args, **kwargs) -> None:
        self.category_path = self.category.path
        super().save(*args, **kwargs)

    @property
    def audience_list(self) -> list[str]:
        return unpack_codes(self.audience)

    @property
    def tag_list(self) -> list[str]:
        return unpack_codes(self.tags)


class QuestionVersion(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    type = models.CharField(_("type"), max_length=12, choices=QuestionType.choices)
    stem = models.TextField(_("question"))
    options = models.JSONField(_("options"))  # list[str], 2–8
    correct = models.JSONField(_("correct options"))  # list[int], indices into options
    partial_credit = models.BooleanField(
        _("partial credit"), default=False, help_text=_("Multiple choice: part marks for part of the answer.")
    )
    explanation = models.TextField(_("explanation"), blank=True)
    source = models.CharField(_("source"), max_length=500, blank=True)
    image = models.ImageField(_("image"), upload_to="questions/", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("question version")
        verbose_name_plural = _("question versions")
        ordering = ["question", "number"]
        constraints = [
            models.UniqueConstraint(fields=["question", "number"], name="question_version_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.stem[:60]} (v{self.number})"


class Quiz(models.Model):
    class Access(models.TextChoices):
        LINK = "link", _("Anyone with the link, no sign-in")
        CAMPAIGN = "campaign", _("Signed-in users the campaign reaches")
        SCHOOL = "school", _("Students of a school")
        CLASS = "class", _("Students of a class")

    class Selection(models.TextChoices):
        FIXED = "fixed", _("Fixed questions")
        RANDOM = "random", _("Drawn at random for each attempt")

    class Grading(models.TextChoices):
        HIGHEST = "highest", _("The highest attempt")
        LAST = "last", _("The last attempt")
        FIRST = "first", _("The first attempt")

    class Review(models.TextChoices):
        AFTER_EACH = "after_each", _("Right after each answer")
        AFTER_SUBMIT = "after_submit", _("After the attempt is submitted")
        AFTER_CLOSE = "after_close", _("After the quiz closes")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    language = models.CharField(_("language"), max_length=8, choices=LANGUAGES, default="zh-hans")
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quizzes",
        verbose_name=_("campaign"),
    )

    class SurveyPhase(models.TextChoices):
        NONE = "", _("Not a survey")
        BEFORE = "before", _("Knowledge survey before the campaign")
        AFTER = "after", _("Knowledge survey after the campaign")

    # A campaign's knowledge survey, taken before and after it: its share of correct answers is the awareness
    # rate, and the campaign report compares the two (stats/surveys.py).
    survey_phase = models.CharField(
        _("knowledge survey"), max_length=6, choices=SurveyPhase.choices, default="", blank=True
    )
    access = models.CharField(
        _("who may take it"), max_length=10, choices=Access.choices, default=Access.CLASS
    )
    target_school = models.ForeignKey(
        School,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="quizzes",
        verbose_name=_("school"),
    )
    target_class = models.ForeignKey(
        SchoolClass,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="quizzes",
        verbose_name=_("class"),
    )
    selection = models.CharField(
        _("questions"), max_length=8, choices=Selection.choices, default=Selection.FIXED
    )
    time_limit_minutes = models.PositiveIntegerField(_("time limit (minutes)"), null=True, blank=True)
    opens_at = models.DateTimeField(_("opens at"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)
    max_attempts = models.PositiveSmallIntegerField(
        _("attempts allowed"), default=1, help_text=_("0 for no limit.")
    )
    grading = models.CharField(
        _("attempt that counts"), max_length=8, choices=Grading.choices, default=Grading.HIGHEST
    )
    shuffle_questions = models.BooleanField(_("shuffle questions"), default=True)
    shuffle_options = models.BooleanField(_("shuffle options"), default=True)
    pass_mark = models.PositiveSmallIntegerField(_("pass mark (%)"), default=60)
    review = models.CharField(
        _("show answers and explanations"), max_length=12, choices=Review.choices, default=Review.AFTER_SUBMIT
    )
    is_published = models.BooleanField(_("published"), default=False)
    owner_school = models.ForeignKey(
        School, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    owner_region = models.ForeignKey(
        Region, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quizzes_created",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("quiz")
        verbose_name_plural = _("quizzes")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(pass_mark__lte=100), name="quiz_pass_mark_percent"),
            models.CheckConstraint(
                condition=Q(closes_at__isnull=True)
                | Q(opens_at__isnull=True)
                | Q(closes_at__gt=models.F("opens_at")),
                name="quiz_closes_after_opening",
            ),
            models.CheckConstraint(
                condition=~Q(access="class") | Q(target_class__isnull=False),
                name="quiz_class_access_has_class",
            ),
            models.CheckConstraint(
                condition=~Q(access="school") | Q(target_school__isnull=False),
                name="quiz_school_access_has_school",
            ),
            models.CheckConstraint(
                condition=~Q(access="campaign") | Q(campaign__isnull=False),
                name="quiz_campaign_access_has_campaign",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def is_open(self, now=None) -> bool:
        now = now or timezone.now()
        return (self.opens_at is None or self.opens_at <= now) and (
            self.closes_at is None or now < self.closes_at
        )


class QuizQuestion(models.Model):
    """A fixed question of a quiz; the attempt shows the question's current version when it starts."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="fixed_questions")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["quiz", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["quiz", "question"], name="quiz_question_once")]

    def __str__(self) -> str:
        return f"{self.quiz_id}: {self.question_id}"


class QuizRule(models.Model):
    """“8 from Law, difficulty 2–3, audience junior”: drawn anew for each attempt."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="rules")
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="+", verbose_name=_("category")
    )
    count = models.PositiveSmallIntegerField(_("number of questions"))
    difficulty_min = models.PositiveSmallIntegerField(_("difficulty from"), default=1)
    difficulty_max = models.PositiveSmallIntegerField(_("difficulty to"), default=5)
    audience = models.CharField(_("audience"), max_length=12, choices=Audience.choices, blank=True)

    class Meta:
        ordering = ["quiz", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(count__gte=1), name="quiz_rule_count_positive"),
            models.CheckConstraint(
                condition=Q(difficulty_min__lte=models.F("difficulty_max")), name="quiz_rule_difficulty_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} × {self.count}"


class Attempt(models.Model):
    """One sitting of a quiz. The server keeps the clock: `deadline` is fixed when the attempt starts."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="attempts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="attempts"
    )
    # A guest (a link quiz, no sign-in) is known by a random key kept in their session.
    guest_key = models.CharField(max_length=40, blank=True, db_index=True)
    guest_name = models.CharField(_("nickname"), max_length=30, blank=True)
    number = models.PositiveSmallIntegerField(default=1)
    # Where the student was when they took it, for class and school figures.
    school_class = models.ForeignKey(
        SchoolClass, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    school = models.ForeignKey(School, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    score = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    max_score = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    passed = models.BooleanField(null=True)

    class Meta:
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["quiz", "submitted_at"], name="attempt_quiz_submitted"),
            # A school's attempts of one day: the statistics rollups (stats/rollups.py) recompute them.
            models.Index(fields=["school", "submitted_at"], name="attempt_school_submitted"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["quiz", "user", "number"],
                condition=Q(user__isnull=False),
                name="attempt_number_per_user",
            ),
            # One attempt in progress per person and quiz: a double click on "start" opens one.
            models.UniqueConstraint(
                fields=["quiz", "user"],
                condition=Q(user__isnull=False, submitted_at__isnull=True),
                name="attempt_one_open_per_user",
            ),
            models.UniqueConstraint(
                fields=["quiz", "guest_key"],
                condition=~Q(guest_key="") & Q(submitted_at__isnull=True),
                name="attempt_one_open_per_guest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quiz} #{self.number}"

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None

    @property
    def percent(self) -> int | None:
        if self.score is None or not self.max_score:
            return None
        return round(100 * self.score / self.max_score)

    @property
    def player_name(self) -> str:
        return self.user.public_name if self.user_id else (self.guest_name or "?")


class AttemptItem(models.Model):
    """A question as one attempt showed it (version and option order), and the answer given to it."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    version = models.ForeignKey(QuestionVersion, on_delete=models.PROTECT, related_name="attempt_items")
    option_order = models.JSONField()  # original option indices in the order shown
    selected = models.JSONField(null=True, blank=True)  # original option indices chosen
    answered_at = models.DateTimeField(null=True, blank=True)
    score = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)

    class Meta:
        ordering = ["attempt", "position"]
        constraints = [models.UniqueConstraint(fields=["attempt", "position"], name="attempt_item_position")]

    def __str__(self) -> str:
        return f"{self.attempt_id} #{self.position}"


# --- live contests ----------------------------------------------------------------------------------------


class LiveContest(models.Model):
    """A Kahoot-style contest: the host projects it, players answer on their phones against the clock.

    `state` is the pure state machine's `ContestState.to_dict()`: every process reads and writes it under a
    row lock, so no contest state lives in one process's memory.
    """

    class Points(models.TextChoices):
        STANDARD = "standard", _("Standard (1,000)")
        DOUBLE = "double", _("Double (2,000)")
        NONE = "none", _("No points")

    class Teams(models.TextChoices):
        NONE = "none", _("No teams")
        CLASS = "class", _("By class")
        SCHOOL = "school", _("By school")
        CUSTOM = "custom", _("Custom teams")

    class Status(models.TextChoices):
        LOBBY = "lobby", _("Waiting for players")
        RUNNING = "running", _("Under way")
        FINISHED = "finished", _("Finished")

    title = models.CharField(_("title"), max_length=200)
    quiz = models.ForeignKey(
        Quiz, on_delete=models.PROTECT, related_name="live_contests", verbose_name=_("quiz")
    )
    pin = models.CharField(_("PIN"), max_length=8, db_index=True)
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="hosted_contests",
        verbose_name=_("host"),
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="live_contests",
        verbose_name=_("campaign"),
    )
    seconds_per_question = models.PositiveSmallIntegerField(_("seconds per question"), default=20)
    points = models.CharField(_("points"), max_length=10, choices=Points.choices, default=Points.STANDARD)
    speed_bonus = models.BooleanField(_("faster answers score more"), default=True)
    streak_bonus = models.BooleanField(_("streak bonus"), default=True)
    team_mode = models.CharField(_("teams"), max_length=8, choices=Teams.choices, default=Teams.NONE)
    custom_teams = models.CharField(
        _("team names"), max_length=300, blank=True, help_text=_("Custom teams: names separated by commas.")
    )
    max_players = models.PositiveIntegerField(_("maximum players"), default=5000)
    allow_guests = models.BooleanField(_("guests without an account may join"), default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.LOBBY, db_index=True)
    state = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("live contest")
        verbose_name_plural = _("live contests")
        ordering = ["-created_at"]
        constraints = [
            # A PIN is unique among contests that players can still join.
            models.UniqueConstraint(
                fields=["pin"], condition=~Q(status="finished"), name="live_pin_unique_open"
            ),
            models.CheckConstraint(condition=Q(seconds_per_question__gte=5), name="live_seconds_at_least_5"),
        ]
        # The contests finished on one day: the statistics rollups (stats/rollups.py).
        indexes = [models.Index(fields=["finished_at"], name="live_contest_finished")]

    def __str__(self) -> str:
        return f"{self.title} ({self.pin})"

    @property
    def team_names(self) -> list[str]:
        return [name.strip() for name in self.custom_teams.replace("，", ",").split(",") if name.strip()]


class LiveQuestion(models.Model):
    contest = models.ForeignKey(LiveContest, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField()
    version = models.ForeignKey(QuestionVersion, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["contest", "position"]
        constraints = [models.UniqueConstraint(fields=["contest", "position"], name="live_question_position")]

    def __str__(self) -> str:
        return f"{self.contest_id} #{self.position}"


class LivePlayer(models.Model):
    contest = models.ForeignKey(LiveContest, on_delete=models.CASCADE, related_name="players")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    nickname = models.CharField(_("nickname"), max_length=30)
    # The player's secret: it resumes this player on any process after a reload or a network drop.
    token = models.CharField(max_length=64, unique=True)
    team = models.CharField(_("team"), max_length=100, blank=True)
    school_class = models.ForeignKey(
        SchoolClass, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    school = models.ForeignKey(School, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    score = models.PositiveIntegerField(default=0)
    streak = models.PositiveSmallIntegerField(default=0)
    rank = models.PositiveIntegerField(null=True, blank=True)
    kicked = models.BooleanField(default=False)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("player")
        verbose_name_plural = _("players")
        ordering = ["contest", "-score", "joined_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["contest", "nickname"], condition=Q(kicked=False), name="live_nickname_unique"
            ),
            models.UniqueConstraint(
                fields=["contest", "user"],
                condition=Q(user__isnull=False, kicked=False),
                name="live_user_once",
            ),
        ]

    def __str__(self) -> str:
        return self.nickname


class LiveAnswer(models.Model):
    """One answer per player and question, enforced by the database: double taps, retries after a reconnect
    and two processes receiving the same answer all end in one row."""

    player = models.ForeignKey(LivePlayer, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(LiveQuestion, on_delete=models.CASCADE, related_name="answers")
    choices = models.JSONField()
    received_at = models.DateTimeField()
    response_ms = models.PositiveIntegerField()
    correct = models.BooleanField(null=True)
    points = models.PositiveIntegerField(default=0)
    streak_bonus = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["question", "received_at"]
        constraints = [models.UniqueConstraint(fields=["player", "question"], name="live_one_answer")]

    def __str__(self) -> str:
        return f"{self.player_id} → {self.question_id}"
