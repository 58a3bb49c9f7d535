"""Writes for learning paths: creating and editing a path, its ordered courses, and issuing
path certificates.

A path certificate is issued once per learner and path (a unique constraint decides between
concurrent completions) when the learner has completed every course of a published path; a
course counts as completed once its enrollment has `completed_at` (set by the learning
engine, which ignores hidden lessons), whether or not they unenrolled since. Draft courses of
a path are left out (learners cannot take them), so a path with only drafts is never done.

Certificates are issued at three moments: right after a course completion commits (the hook
in `progress.services.learning`), when staff publish a path or change its courses (the
admin saves through `path_update` / `path_courses_set`), and by `manage.py
path_certificates_issue`, for paths changed some other way.
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from accounts.models import AuditLog, User
from accounts.services import audit_record, user_profile_update
from catalog.models import Course
from lms.codes import readable_codes_generate
from lms.errors import ApplicationError, ErrorCode
from notifications.services import notification_send
from progress.models import Enrollment
from progress.paths.models import LearningPath, LearningPathCourse, PathCertificate
from progress.services.certificates import certificate_name_clean, certificate_name_for

PATH_CERTIFICATE_CODE_LENGTH = 12

_PATH_FIELDS = frozenset({"slug", "title", "summary", "description", "status"})


@transaction.atomic
def path_create(
    *,
    slug: str,
    title: str,
    summary: str = "",
    description: str = "",
    status: str = LearningPath.Status.DRAFT,
    courses: Sequence[Course] = (),
) -> LearningPath:
    """A new path with its courses in the order given."""
    path = LearningPath(
        slug=slug, title=title, summary=summary, description=description, status=status
    )
    path.full_clean()
    path.save()
    if courses:
        path_courses_set(path=path, courses=courses)
    return path


@transaction.atomic
def path_update(*, path: LearningPath, data: Mapping[str, Any]) -> LearningPath:
    """Change a path's own fields; publishing it issues the certificates of learners who
    already completed all its courses."""
    unknown = set(data) - _PATH_FIELDS
    if unknown:
        raise ValueError(f"path_update cannot change {', '.join(sorted(unknown))}.")
    if not data:
        return path
    for name, value in data.items():
        setattr(path, name, value)
    path.full_clean()
    path.save(update_fields=[*sorted(data), "updated_at"])
    if "status" in data:
        path_certificates_backfill(path=path)
    return path


@transaction.atomic
def path_courses_set(*, path: LearningPath, courses: Sequence[Course]) -> LearningPath:
    """Make `courses` the path's courses, in this order (a course at most once). Learners who
    have now completed them all get the path certificate."""
    ids = [course.pk for course in courses]
    if len(set(ids)) != len(ids):
        raise ValueError("A course appears in a path at most once.")
    current = list(path.steps.order_by("order").values_list("course_id", flat=True))
    if current != ids:
        # Rewritten whole: (path, order) is unique, so renumbering in place would collide.
        LearningPathCourse.objects.filter(path=path).delete()
        LearningPathCourse.objects.bulk_create(
            LearningPathCourse(path=path, course=course, order=index)
            for index, course in enumerate(courses)
        )
        LearningPath.objects.filter(pk=path.pk).update(updated_at=timezone.now())
        path_certificates_backfill(path=path)
    return path


# --- Path certificates ---------------------------------------------------------------------


def _counted_courses(path_ids: Iterable[int]) -> dict[int, set[UUID]]:
    """The courses that count towards each path: all but drafts."""
    counted: dict[int, set[UUID]] = {}
    for path_id, course_id in (
        LearningPathCourse.objects.filter(path_id__in=path_ids)
        .exclude(course__status=Course.Status.DRAFT)
        .values_list("path_id", "course_id")
    ):
        counted.setdefault(path_id, set()).add(course_id)
    return counted


def _completed_course_ids(*, user: User, course_ids: Collection[UUID]) -> set[UUID]:
    return set(
        Enrollment.objects.filter(
            user=user, course_id__in=course_ids, completed_at__isnull=False
        ).values_list("course_id", flat=True)
    )


def _issue(*, pairs: list[tuple[User, LearningPath]]) -> list[PathCertificate]:
    """Create the certificates of these (learner, path) pairs that do not exist yet, and tell
    each learner once their transaction commits. A pair that already has one (or that a
    concurrent completion just issued) keeps it: the unique constraint picks one row."""
    if not pairs:
        return []
    codes = readable_codes_generate(
        count=len(pairs),
        length=PATH_CERTIFICATE_CODE_LENGTH,
        taken=lambda codes: set(
            PathCertificate.objects.filter(code__in=codes).values_list("code", flat=True)
        ),
    )
    titles = _course_titles({path.pk for _user, path in pairs})
    PathCertificate.objects.bulk_create(
        [
            PathCertificate(
                code=code,
                user=user,
                path=path,
                # The learner's name, never the email (the page is public); "" asks them.
                learner_name=certificate_name_for(user=user),
                path_title=path.title,
                course_titles=titles.get(path.pk, []),
            )
            for (user, path), code in zip(pairs, codes, strict=True)
        ],
        ignore_conflicts=True,
    )
    wanted = {(user.pk, path.pk) for user, path in pairs}
    issued = [
        certificate
        for certificate in PathCertificate.objects.filter(
            user_id__in={user_id for user_id, _p in wanted},
            path_id__in={path_id for _u, path_id in wanted},
        ).select_related("user", "path")
        if (certificate.user_id, certificate.path_id) in wanted
    ]
    transaction.on_commit(lambda: path_certificates_notify(certificates=issued))
    return issued


def _course_titles(path_ids: set[int]) -> dict[int, list[str]]:
    """The titles of each path's counted courses, in path order, frozen on its certificate."""
    titles: dict[int, list[str]] = {}
    for path_id, title in (
        LearningPathCourse.objects.filter(path_id__in=path_ids)
        .exclude(course__status=Course.Status.DRAFT)
        .order_by("path_id", "order")
        .values_list("path_id", "course__title")
    ):
        titles.setdefault(path_id, []).append(title)
    return titles


@transaction.atomic
def path_certificates_issue(*, user: User, course_ids: Collection[UUID]) -> list[PathCertificate]:
    """After `user` completed these courses: issue the certificates of the published paths
    they belong to that are now complete for them; the ones issued (none when every such
    path already had its certificate). Idempotent.

    Called once the completion has committed, so of two completions racing to finish one
    path, the later sees the earlier's (no path is left without its certificate)."""
    if not course_ids:
        return []
    paths = {
        path.pk: path
        for path in LearningPath.objects.filter(
            status=LearningPath.Status.PUBLISHED, steps__course_id__in=list(course_ids)
        ).distinct()
    }
    if not paths:
        return []
    already = set(
        PathCertificate.objects.filter(user=user, path_id__in=paths).values_list(
            "path_id", flat=True
        )
    )
    counted = {
        path_id: ids for path_id, ids in _counted_courses(paths).items() if path_id not in already
    }
    completed = _completed_course_ids(
        user=user, course_ids={pk for ids in counted.values() for pk in ids}
    )
    pairs = [(user, paths[path_id]) for path_id, ids in counted.items() if ids <= completed]
    return _issue(pairs=pairs)


@transaction.atomic
def path_certificates_backfill(*, path: LearningPath) -> list[PathCertificate]:
    """Issue the certificates of a published path to every learner who has already
    completed all its courses (after it is published or its courses change). Idempotent."""
    if path.status != LearningPath.Status.PUBLISHED:
        return []
    course_ids = _counted_courses([path.pk]).get(path.pk, set())
    if not course_ids:
        return []
    learners = (
        Enrollment.objects.filter(course_id__in=course_ids, completed_at__isnull=False)
        .exclude(user__path_certificates__path=path)
        .order_by()
        .values("user_id")
        .annotate(done=Count("course_id", distinct=True))
        .filter(done=len(course_ids))
        .values("user_id")
    )
    users = User.objects.filter(pk__in=learners)
    return _issue(pairs=[(user, path) for user in users])


def path_certificates_backfill_all(*, paths: QuerySet[LearningPath] | None = None) -> int:
    """`path_certificates_backfill` for every published path; how many were issued."""
    paths = LearningPath.objects.all() if paths is None else paths
    before = PathCertificate.objects.count()
    for path in paths.filter(status=LearningPath.Status.PUBLISHED):
        path_certificates_backfill(path=path)
    return PathCertificate.objects.count() - before


def path_certificates_notify(*, certificates: Iterable[PathCertificate]) -> None:
    """Tell each learner about their path certificate (kind `certificate`), once per
    certificate however often it is called (the source is its code)."""
    for certificate in certificates:
        notification_send(
            user=certificate.user,
            kind="certificate",
            title=f"You earned a path certificate: {certificate.path_title}",
            body="You completed every course of the learning path: open your certificate.",
            url=certificate.get_absolute_url(),
            source=f"path-certificate:{certificate.code}",
        )


@transaction.atomic
def path_certificate_name_set(
    *, certificate: PathCertificate, user: User, learner_name: str, ip_address: str | None = None
) -> PathCertificate:
    """The owner gives the name a path certificate was issued without (their account had
    none), checked as for course certificates and audited; it also becomes the profile's
    display name when there is none. Once named, it is frozen: changes are staff's."""
    if certificate.user_id != user.pk:
        raise ApplicationError(ErrorCode.PERMISSION_DENIED)
    name = certificate_name_clean(learner_name)
    locked = PathCertificate.objects.select_for_update().get(pk=certificate.pk)
    if name == locked.learner_name:
        return locked
    if not locked.name_pending:
        raise ApplicationError(ErrorCode.CERTIFICATE_NAME_CORRECTIONS_USED_UP)
    locked.learner_name = name
    locked.save(update_fields=["learner_name"])
    audit_record(
        action=AuditLog.Action.CERTIFICATE_NAME_CONFIRMED,
        actor=user,
        target=locked,
        ip_address=ip_address,
        details={"code": locked.code, "path_title": locked.path_title, "new_name": name},
    )
    if not certificate_name_for(user=user):
        user_profile_update(user=user, display_name=name)
    return locked
