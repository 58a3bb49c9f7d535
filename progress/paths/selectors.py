"""Reads for learning paths: the published list, one path, and a learner's progress across
its courses, each in a fixed number of queries whatever the number of courses.

Progress counts what completion counts (`progress.services.learning`): published, required
lessons that are not hidden and not in a hidden section. A course is completed once its
enrollment says so, started once the learner is enrolled or has completed a lesson of it.
Draft courses of a path are not shown to learners and do not count.
"""

from dataclasses import dataclass, field
from uuid import UUID

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from accounts.models import User
from accounts.roles import user_has_staff_role
from catalog.models import Course, Lesson
from lms.errors import ErrorCode, NotFoundError
from progress.models import Enrollment, LessonProgress
from progress.paths.models import LearningPath, LearningPathCourse, PathCertificate


@dataclass(frozen=True)
class PathCourse:
    """One course of a path, with the learner's progress in it (zero for visitors)."""

    position: int  # 1-based, in path order
    course: Course
    lesson_count: int  # published, required and visible lessons
    done_count: int
    started: bool
    completed: bool

    @property
    def percent(self) -> int:
        if self.completed and self.done_count >= self.lesson_count:
            return 100
        if not self.lesson_count:
            return 0
        return min(100, round(100 * self.done_count / self.lesson_count))


@dataclass(frozen=True)
class PathProgress:
    path: LearningPath
    courses: list[PathCourse]
    certificate: PathCertificate | None = None
    signed_in: bool = False

    @property
    def course_count(self) -> int:
        return len(self.courses)

    @property
    def completed_count(self) -> int:
        return sum(1 for item in self.courses if item.completed)

    @property
    def started_count(self) -> int:
        return sum(1 for item in self.courses if item.started)

    @property
    def percent(self) -> int:
        """Across the path's courses, by their lessons (completed courses count in full)."""
        total = sum(item.lesson_count for item in self.courses)
        done = sum(
            item.lesson_count if item.completed else min(item.done_count, item.lesson_count)
            for item in self.courses
        )
        return round(100 * done / total) if total else 0

    @property
    def is_completed(self) -> bool:
        return bool(self.courses) and self.completed_count == self.course_count

    @property
    def next_course(self) -> PathCourse | None:
        """The first course in path order the learner has not completed."""
        return next((item for item in self.courses if not item.completed), None)


@dataclass(frozen=True)
class PathSummary:
    """A path in the list, with how far the signed-in learner got."""

    path: LearningPath
    course_count: int
    completed_count: int = 0
    certificate: PathCertificate | None = None
    course_titles: list[str] = field(default_factory=list)


def _published() -> QuerySet[LearningPath]:
    return LearningPath.objects.filter(status=LearningPath.Status.PUBLISHED)


def _signed_in(user: User | AnonymousUser | None) -> bool:
    return user is not None and user.is_authenticated


def path_get(*, user: User | AnonymousUser | None, slug: str) -> LearningPath:
    """The path at `slug`: published ones for everyone, drafts for staff; PATH_NOT_FOUND."""
    path = LearningPath.objects.filter(slug=slug).first()
    if path is None or (
        path.status != LearningPath.Status.PUBLISHED
        and not (_signed_in(user) and user_has_staff_role(user))
    ):
        raise NotFoundError(ErrorCode.PATH_NOT_FOUND)
    return path


def _steps(path_ids: list[int]) -> QuerySet[LearningPathCourse]:
    return (
        LearningPathCourse.objects.filter(path_id__in=path_ids)
        .exclude(course__status=Course.Status.DRAFT)
        .order_by("path_id", "order")
    )


def _completed_course_ids(user: User | AnonymousUser | None, course_ids: set[UUID]) -> set[UUID]:
    if not _signed_in(user) or not course_ids:
        return set()
    return set(
        Enrollment.objects.filter(
            user=user, course_id__in=course_ids, completed_at__isnull=False
        ).values_list("course_id", flat=True)
    )


def paths_list(*, user: User | AnonymousUser | None) -> list[PathSummary]:
    """Published paths by title, each with its courses' titles and, for a signed-in learner,
    how many they completed and their certificate: four queries at most, for any number of
    paths and courses."""
    paths = list(_published())
    if not paths:
        return []
    courses: dict[int, list[tuple[UUID, str]]] = {}
    for path_id, course_id, title in _steps([path.pk for path in paths]).values_list(
        "path_id", "course_id", "course__title"
    ):
        courses.setdefault(path_id, []).append((course_id, title))
    completed = _completed_course_ids(
        user, {course_id for items in courses.values() for course_id, _t in items}
    )
    certificates = (
        {
            certificate.path_id: certificate
            for certificate in PathCertificate.objects.filter(user=user, path__in=paths)
        }
        if _signed_in(user)
        else {}
    )
    return [
        PathSummary(
            path=path,
            course_count=len(courses.get(path.pk, [])),
            completed_count=sum(1 for pk, _t in courses.get(path.pk, []) if pk in completed),
            certificate=certificates.get(path.pk),
            course_titles=[title for _pk, title in courses.get(path.pk, [])],
        )
        for path in paths
    ]


def _lesson_counts(
    user: User | AnonymousUser | None, course_ids: list[UUID]
) -> dict[UUID, tuple[int, int]]:
    """(countable lessons, of them completed by the user) per course: one query."""
    lessons = Lesson.objects.filter(
        course_id__in=course_ids,
        is_published=True,
        is_required=True,
        # Hidden lessons (and lessons of hidden sections) never count: `catalog.structure`.
        is_hidden=False,
        section__is_hidden=False,
    )
    lessons = lessons.order_by().values("course_id")
    if not _signed_in(user):
        return {row["course_id"]: (row["total"], 0) for row in lessons.annotate(total=Count("pk"))}
    done = LessonProgress.objects.filter(
        user=user, lesson=OuterRef("pk"), status=LessonProgress.Status.COMPLETED
    )
    # EXISTS per lesson, not a join: other learners' rows must not multiply the counts.
    rows = lessons.annotate(total=Count("pk"), done=Count("pk", filter=Q(Exists(done))))
    return {row["course_id"]: (row["total"], row["done"]) for row in rows}


def path_progress_get(*, user: User | AnonymousUser | None, path: LearningPath) -> PathProgress:
    """The path's courses in order with the learner's progress in each, the next one to take
    and their certificate: four queries whatever the number of courses (two for visitors:
    the courses and their lesson counts)."""
    steps = list(_steps([path.pk]).select_related("course", "course__required_tier"))
    course_ids = [step.course_id for step in steps]
    counts = _lesson_counts(user, course_ids) if course_ids else {}
    enrollments: dict[UUID, Enrollment] = {}
    certificate = None
    if _signed_in(user):
        if course_ids:
            enrollments = {
                enrollment.course_id: enrollment
                for enrollment in Enrollment.objects.filter(user=user, course_id__in=course_ids)
            }
        certificate = PathCertificate.objects.filter(user=user, path=path).first()
    items = []
    for position, step in enumerate(steps, start=1):
        total, done = counts.get(step.course_id, (0, 0))
        enrollment = enrollments.get(step.course_id)
        completed = enrollment is not None and enrollment.completed_at is not None
        active = enrollment is not None and enrollment.unenrolled_at is None
        items.append(
            PathCourse(
                position=position,
                course=step.course,
                lesson_count=total,
                done_count=done,
                started=completed or active or done > 0,
                completed=completed,
            )
        )
    return PathProgress(
        path=path, courses=items, certificate=certificate, signed_in=_signed_in(user)
    )


def path_certificate_get(*, code: str) -> PathCertificate:
    """A path certificate by its code, for anyone who has the code."""
    certificate = (
        PathCertificate.objects.select_related("path", "user").filter(code=code.upper()).first()
    )
    if certificate is None:
        raise NotFoundError(ErrorCode.CERTIFICATE_NOT_FOUND)
    return certificate


def path_certificates_of(*, user: User) -> QuerySet[PathCertificate]:
    """The learner's path certificates, newest first (for their lists)."""
    return PathCertificate.objects.filter(user=user).select_related("path")
