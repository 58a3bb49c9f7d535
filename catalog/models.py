import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from billing.models import Tier
from media.models import Video


def course_thumbnail_path(instance: "Course", filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"thumbnails/courses/{instance.pk}/{uuid.uuid4().hex}.{extension}"


# Slugs that would collide with pages: /courses/join/, /courses/<slug>/enroll/ and so on.
RESERVED_COURSE_SLUGS = frozenset({"join"})
RESERVED_LESSON_SLUGS = frozenset({"enroll", "unenroll"})


def validate_course_slug(value: str) -> None:
    if value in RESERVED_COURSE_SLUGS:
        raise ValidationError(
            _("“%(slug)s” is reserved; choose another slug."), params={"slug": value}
        )


def validate_lesson_slug(value: str) -> None:
    if value in RESERVED_LESSON_SLUGS:
        raise ValidationError(
            _("“%(slug)s” is reserved; choose another slug."), params={"slug": value}
        )


def client_id_field() -> models.CharField:
    """The id an import or an app gave a row of course content, unique among its siblings
    when set (each model's constraints say where): re-sending it updates that row."""
    return models.CharField(
        _("client id"),
        max_length=100,
        blank=True,
        default="",
        editable=False,
        help_text=_(
            "The id an import or a client gave it (course documents, /api/v1/manage/); "
            "re-importing with the same id updates this row instead of adding one."
        ),
    )


class Course(models.Model):
    class CourseType(models.TextChoices):
        COURSE = "course", _("Course")
        CHOREO = "choreo", _("Choreography")
        TOPIC = "topic", _("Topic")

    class Difficulty(models.TextChoices):
        BEGINNER = "beginner", _("Beginner")
        INTERMEDIATE = "intermediate", _("Intermediate")
        ADVANCED = "advanced", _("Advanced")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public: anyone")
        MEMBERS = "members", _("Members: signed-in learners")
        PAID = "paid", _("Paid: learners with the required tier")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(
        _("slug"), max_length=80, unique=True, validators=[validate_course_slug]
    )
    client_id = client_id_field()
    title = models.CharField(_("title"), max_length=200)
    subtitle = models.CharField(_("subtitle"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True, help_text=_("Markdown."))
    course_type = models.CharField(
        _("type"), max_length=10, choices=CourseType.choices, default=CourseType.COURSE
    )
    difficulty = models.CharField(
        _("difficulty"), max_length=12, choices=Difficulty.choices, default=Difficulty.BEGINNER
    )
    locale = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="en")
    thumbnail = models.ImageField(_("thumbnail"), upload_to=course_thumbnail_path, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    required_tier = models.ForeignKey(
        Tier,
        verbose_name=_("required tier"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="courses",
        help_text=_("Required when visibility is paid."),
    )
    instructors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("instructors"),
        blank=True,
        related_name="taught_courses",
    )
    preview_video = models.ForeignKey(
        Video,
        verbose_name=_("preview video"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="previewed_courses",
        limit_choices_to={"playback_policy": "public", "deleted_at__isnull": True},
        help_text=_("A public trailer shown on the course page."),
    )

    class Progression(models.TextChoices):
        FREE = "free", _("Free: any open section, in any order")
        SECTIONS = "sections", _("Sequential sections: each needs the one before")
        LESSONS = "lessons", _("Sequential lessons: each needs the one before")

    progression = models.CharField(
        _("progression"),
        max_length=10,
        choices=Progression.choices,
        default=Progression.FREE,
        help_text=_(
            "Sequential courses open a section (or a lesson) once the learner has completed "
            "the one before it."
        ),
    )
    prerequisite_courses = models.ManyToManyField(
        "self",
        verbose_name=_("prerequisite courses"),
        symmetrical=False,
        blank=True,
        related_name="required_by",
        help_text=_("Learners complete these courses before this one opens."),
    )
    join_code = models.CharField(
        _("join code"),
        max_length=16,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text=_("Learners who have it join at /courses/join/. Rotate it to stop old codes."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-published_at", "title"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        indexes = [models.Index(fields=["status", "-published_at"], name="course_status_pub_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(visibility="paid") | Q(required_tier__isnull=False),
                name="course_paid_requires_tier",
                violation_error_message=_("A paid course needs a required tier."),
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False),
                name="course_published_has_date",
                violation_error_message=_("A published or archived course needs a date."),
            ),
            models.UniqueConstraint(
                fields=["client_id"],
                condition=~Q(client_id=""),
                name="course_unique_client_id",
                violation_error_message=_("Another course has this client id."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        # The course page is part of the learner's loop, so it is served by `progress`.
        return reverse("progress:course_detail", kwargs={"slug": self.slug})

    @property
    def is_listed(self) -> bool:
        return self.status == self.Status.PUBLISHED


class Section(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="sections"
    )
    client_id = client_id_field()
    title = models.CharField(_("title"), max_length=200)
    order = models.PositiveIntegerField(_("order"), default=0)

    class ReleaseFrom(models.TextChoices):
        ENROLLMENT = "enrollment", _("the learner's enrollment")
        COHORT = "cohort", _("the learner's cohort start (else their enrollment)")

    is_hidden = models.BooleanField(
        _("hidden"),
        default=False,
        help_text=_("Absent for learners; staff and the course's instructors still see it."),
    )
    prerequisites = models.ManyToManyField(
        "self",
        verbose_name=_("prerequisite sections"),
        symmetrical=False,
        blank=True,
        related_name="required_by",
        help_text=_("Sections of this course learners complete before this one opens."),
    )
    release_at = models.DateTimeField(
        _("opens at"),
        null=True,
        blank=True,
        help_text=_("A fixed instant the section opens for everyone (in your time zone)."),
    )
    release_after_days = models.PositiveIntegerField(
        _("opens after (days)"),
        null=True,
        blank=True,
        help_text=_("Opens this many days after the moment chosen below."),
    )
    release_from = models.CharField(
        _("counted from"),
        max_length=10,
        choices=ReleaseFrom.choices,
        default=ReleaseFrom.ENROLLMENT,
    )

    class Meta:
        ordering = ["course", "order"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        constraints = [
            models.UniqueConstraint(
                fields=["course", "order"],
                name="section_unique_order_per_course",
                violation_error_message=_("Another section of this course has this order."),
            ),
            models.UniqueConstraint(
                fields=["course", "client_id"],
                condition=~Q(client_id=""),
                name="section_unique_client_id",
                violation_error_message=_("Another section of this course has this client id."),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Lesson(models.Model):
    class Kind(models.TextChoices):
        VIDEO = "video", _("Video")
        TEXT = "text", _("Text")
        QUIZ = "quiz", _("Quiz")
        LAB = "lab", _("Lab")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # `course` repeats `section.course` so the database can keep slugs unique per course;
    # services set it from the section, and a check in `clean` keeps them equal.
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="lessons"
    )
    section = models.ForeignKey(
        Section, verbose_name=_("section"), on_delete=models.CASCADE, related_name="lessons"
    )
    client_id = client_id_field()
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, validators=[validate_lesson_slug])
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.TEXT)
    body = models.TextField(_("notes"), blank=True, help_text=_("Markdown."))
    video = models.ForeignKey(
        Video,
        verbose_name=_("video"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="lessons",
        limit_choices_to={"deleted_at__isnull": True},
    )
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), default=0)
    attachments = models.ManyToManyField(
        "media.StoredFile",
        verbose_name=_("attachments"),
        blank=True,
        related_name="lessons",
        limit_choices_to={
            "purpose": "attachments",
            "status": "confirmed",
            "deleted_at__isnull": True,
        },
        help_text=_("Private files learners who may open the lesson can download."),
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    is_free_preview = models.BooleanField(
        _("free preview"), default=False, help_text=_("Open to every visitor.")
    )
    is_published = models.BooleanField(
        _("published"), default=True, help_text=_("Unpublished lessons are hidden from learners.")
    )
    is_hidden = models.BooleanField(
        _("hidden"),
        default=False,
        help_text=_(
            "Published but absent for learners (staff and the course's instructors see it); "
            "not counted for completion."
        ),
    )
    xp_value = models.PositiveIntegerField(_("XP"), default=10)
    is_boss = models.BooleanField(
        _("boss lesson"), default=False, help_text=_("A capstone that awards bonus XP.")
    )
    is_required = models.BooleanField(
        _("required"),
        default=True,
        help_text=_("The course is completed when every published required lesson is."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["section__order", "order"]
        verbose_name = _("lesson")
        verbose_name_plural = _("lessons")
        constraints = [
            models.UniqueConstraint(
                fields=["section", "order"],
                name="lesson_unique_order_per_section",
                violation_error_message=_("Another lesson of this section has this order."),
            ),
            models.UniqueConstraint(
                fields=["course", "slug"],
                name="lesson_unique_slug_per_course",
                violation_error_message=_("Another lesson of this course has this slug."),
            ),
            models.UniqueConstraint(
                fields=["course", "client_id"],
                condition=~Q(client_id=""),
                name="lesson_unique_client_id",
                violation_error_message=_("Another lesson of this course has this client id."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse(
            "progress:lesson_detail",
            kwargs={"course_slug": self.course.slug, "lesson_slug": self.slug},
        )

    @property
    def is_preview_only(self) -> bool:
        """Whether only editors can see it (an unpublished lesson, or any lesson of a draft
        course): a preview records no progress, enrollment or XP."""
        return not self.is_published or self.course.status == Course.Status.DRAFT

    def clean(self) -> None:
        super().clean()
        if self.section_id and self.course_id and self.section.course_id != self.course_id:
            raise ValidationError({"section": _("The section belongs to another course.")})


class Quiz(models.Model):
    """The questions of a quiz lesson, the score that passes it, and the rules that keep that
    score meaningful: how many attempts a learner has, how long they wait after a failed one,
    and when the right answers and explanations are shown."""

    class Reveal(models.TextChoices):
        # Stored values never change meaning; the labels say what a learner gets.
        NEVER = "never", _("Never")
        AFTER_PASSING = "after_passing", _("After passing")
        AFTER_LAST_ATTEMPT = (
            "after_last_attempt",
            _("After the last attempt (passed, or no attempts left)"),
        )

    # The defaults: a pass mark means something when a learner cannot see the answers before
    # trying again and cannot try forever. Three attempts let an honest learner recover from
    # a slip; no wait by default, because the limit already stops guessing and a wait mostly
    # holds up the learner who has just re-read the lesson.
    DEFAULT_MAX_ATTEMPTS = 3
    DEFAULT_RETRY_WAIT_MINUTES = 0
    MAX_ATTEMPTS_LIMIT = 100
    RETRY_WAIT_MINUTES_LIMIT = 7 * 24 * 60  # a week

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lesson = models.OneToOneField(
        Lesson,
        verbose_name=_("lesson"),
        on_delete=models.CASCADE,
        related_name="quiz",
        limit_choices_to={"kind": Lesson.Kind.QUIZ},
    )
    pass_mark = models.PositiveSmallIntegerField(
        _("pass mark (%)"),
        default=70,
        validators=[MaxValueValidator(100)],
        help_text=_("The score, in percent of the points, that passes the quiz."),
    )
    max_attempts = models.PositiveSmallIntegerField(
        _("maximum attempts"),
        null=True,
        blank=True,
        default=DEFAULT_MAX_ATTEMPTS,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_ATTEMPTS_LIMIT)],
        help_text=_(
            "How many attempts a learner has to pass (1 to 100); empty for unlimited. "
            "The default, 3, lets a learner recover from a slip without guessing their way "
            "to the pass mark. Once passed, a learner may retake the quiz for practice: "
            "practice counts against nothing and never lowers the best score."
        ),
    )
    retry_wait_minutes = models.PositiveIntegerField(
        _("wait between attempts (minutes)"),
        default=DEFAULT_RETRY_WAIT_MINUTES,
        validators=[MaxValueValidator(RETRY_WAIT_MINUTES_LIMIT)],
        help_text=_(
            "How long a learner waits after a failed attempt before the next one (0 for no "
            "wait, at most a week: 10080). The default is no wait: the attempt limit already "
            "stops guessing; set one to make learners go back to the lesson first."
        ),
    )
    reveal_answers = models.CharField(
        _("show answers and explanations"),
        max_length=24,
        choices=Reveal.choices,
        default=Reveal.AFTER_LAST_ATTEMPT,
        help_text=_(
            "When a learner sees which answers were right, the correct answers and the "
            "explanations. Until then they see only their score. The default, after the "
            "last attempt, shows them once the learner has passed or has no attempts left, "
            "when they can no longer use them to pass."
        ),
    )

    class Meta:
        verbose_name = _("quiz")
        verbose_name_plural = _("quizzes")
        constraints = [
            models.CheckConstraint(
                condition=Q(pass_mark__lte=100),
                name="quiz_pass_mark_percent",
                violation_error_message=_("The pass mark is a percentage: at most 100."),
            ),
            models.CheckConstraint(
                condition=Q(max_attempts__isnull=True)
                | Q(max_attempts__gte=1, max_attempts__lte=100),
                name="quiz_max_attempts_range",
                violation_error_message=_(
                    "The maximum attempts is 1 to 100, or empty for unlimited."
                ),
            ),
            models.CheckConstraint(
                condition=Q(retry_wait_minutes__lte=7 * 24 * 60),
                name="quiz_retry_wait_at_most_a_week",
                violation_error_message=_("The wait between attempts is at most a week."),
            ),
            models.CheckConstraint(
                condition=Q(reveal_answers__in=["never", "after_passing", "after_last_attempt"]),
                name="quiz_reveal_answers_known",
                violation_error_message=_("Choose when the answers are shown."),
            ),
        ]

    def __str__(self) -> str:
        return str(self.lesson)

    def clean(self) -> None:
        super().clean()
        if self.lesson_id and self.lesson.kind != Lesson.Kind.QUIZ:
            raise ValidationError({"lesson": _("Only a quiz lesson can have a quiz.")})


class Question(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        SHORT = "short", _("Short answer")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    quiz = models.ForeignKey(
        Quiz, verbose_name=_("quiz"), on_delete=models.CASCADE, related_name="questions"
    )
    client_id = client_id_field()
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.SINGLE)
    prompt = models.TextField(_("question"), help_text=_("Markdown."))
    explanation = models.TextField(
        _("explanation"), blank=True, help_text=_("Shown after the learner answers. Markdown.")
    )
    accepted_answers = models.TextField(
        _("accepted answers"),
        blank=True,
        help_text=_(
            "Short answer only: one accepted answer per line, "
            "matched ignoring case and extra spaces."
        ),
    )
    points = models.PositiveSmallIntegerField(_("points"), default=1)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["quiz", "order"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.UniqueConstraint(
                fields=["quiz", "order"],
                name="question_unique_order_per_quiz",
                violation_error_message=_("Another question of this quiz has this order."),
            ),
            models.UniqueConstraint(
                fields=["quiz", "client_id"],
                condition=~Q(client_id=""),
                name="question_unique_client_id",
                violation_error_message=_("Another question of this quiz has this client id."),
            ),
        ]

    def __str__(self) -> str:
        return self.prompt[:80]

    @property
    def accepted_answer_list(self) -> list[str]:
        return [line.strip() for line in self.accepted_answers.splitlines() if line.strip()]


class Choice(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    question = models.ForeignKey(
        Question, verbose_name=_("question"), on_delete=models.CASCADE, related_name="choices"
    )
    client_id = client_id_field()
    text = models.CharField(
        _("text"), max_length=300, help_text=_("Markdown, on one line: `code`, *emphasis*.")
    )
    is_correct = models.BooleanField(_("correct"), default=False)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["question", "order"]
        verbose_name = _("choice")
        verbose_name_plural = _("choices")
        constraints = [
            models.UniqueConstraint(
                fields=["question", "client_id"],
                condition=~Q(client_id=""),
                name="choice_unique_client_id",
                violation_error_message=_("Another choice of this question has this client id."),
            ),
        ]

    def __str__(self) -> str:
        return self.text


class SectionUnlock(models.Model):
    """Staff opened a section early for one learner: every structure rule on it is lifted
    for them (tier locks still apply). Written by `catalog.structure_services`, audited."""

    id = models.BigAutoField(primary_key=True)
    section = models.ForeignKey(
        Section, verbose_name=_("section"), on_delete=models.CASCADE, related_name="unlocks"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("learner"),
        on_delete=models.CASCADE,
        related_name="section_unlocks",
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("unlocked at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("early section unlock")
        verbose_name_plural = _("early section unlocks")
        constraints = [
            models.UniqueConstraint(fields=["section", "user"], name="section_unlock_unique")
        ]

    def __str__(self) -> str:
        return f"{self.section} / {self.user}"


# The offline bundles' tables live beside the code that builds them.
from catalog.bundles.models import *  # noqa: E402, F403
