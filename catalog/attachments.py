"""Lesson attachments: private files handed out only to those who may open the lesson.

The access policy (`catalog.access.lesson_access`) decides first: a locked lesson answers 403
(LOGIN_REQUIRED or UPGRADE_REQUIRED, or a structure lock: LOCKED_PREREQUISITE, LOCKED_UNTIL;
a hidden lesson is 404 for learners) before anything else is looked at. Then the file must be
one of the lesson's attachments (confirmed, not deleted), else FILE_NOT_FOUND, so file ids of
other lessons reveal nothing. Only then `media.storage.file_presigned_get` signs a short-lived
GET URL. The API (`progress.api.attachments`) and the lesson page's download links (the
`lesson_attachment_download` view here, which redirects to a fresh URL per click) both go
through `lesson_attachment_url`, so no other path hands out these files.
"""

import uuid

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import User
from catalog import selectors
from catalog.access import Access, lesson_access
from catalog.models import Lesson
from lms.errors import CATALOG, ErrorCode, NotFoundError
from media.models import StoredFile
from media.storage import READ_URL_TTL, SignedUrl, StorageError, file_presigned_get


def lesson_attachments(*, lesson: Lesson) -> QuerySet[StoredFile]:
    """The files learners can download from this lesson, by title (one query)."""
    return lesson.attachments.filter(
        status=StoredFile.Status.CONFIRMED, deleted_at__isnull=True
    ).order_by("title", "key")


def _require_access(*, user: User | AnonymousUser, lesson: Lesson, decision: Access | None) -> None:
    (decision or lesson_access(user=user, course=lesson.course, lesson=lesson)).require()


def lesson_attachment_url(
    *,
    user: User | AnonymousUser,
    lesson: Lesson,
    file_id: uuid.UUID | str,
    expires: int = READ_URL_TTL,
    access: Access | None = None,
) -> SignedUrl:
    """A short-lived signed URL for one of the lesson's attachments, for a user who may open
    the lesson: 403 LOGIN_REQUIRED/UPGRADE_REQUIRED when locked, else 404 FILE_NOT_FOUND when
    the file is not (or no longer) attached to it."""
    _require_access(user=user, lesson=lesson, decision=access)
    try:
        file = lesson_attachments(lesson=lesson).filter(pk=file_id).first()
    except (ValueError, TypeError, ValidationError):
        file = None
    if file is None:
        raise NotFoundError(ErrorCode.FILE_NOT_FOUND)
    return file_presigned_get(file=file, expires=expires)


@require_GET
@never_cache
def lesson_attachment_download(
    request: HttpRequest, course_slug: str, lesson_slug: str, file_id: uuid.UUID
) -> HttpResponse:
    """The lesson page's download link: a redirect to a fresh signed URL on every click, so a
    page left open never holds a working link for long. Locked → 403, unknown → 404."""
    course = selectors.course_get(user=request.user, slug=course_slug)
    lesson = selectors.lesson_get(user=request.user, course=course, slug=lesson_slug)
    try:
        signed = lesson_attachment_url(user=request.user, lesson=lesson, file_id=file_id)
    except StorageError as error:  # storage not configured
        return HttpResponse(
            error.message, status=CATALOG[error.code].status, content_type="text/plain"
        )
    return HttpResponseRedirect(signed.url)
