"""Signed playback for lessons: what a learner's player needs, only for those who may watch.

`lesson_playback_get` asks `catalog.access` first and refuses (403 LOGIN_REQUIRED or
UPGRADE_REQUIRED, or LOCKED_PREREQUISITE / LOCKED_UNTIL for the course's structure rules)
before any token or URL is signed; `media.playback` signs Mux tokens and
`media.video_files` file URLs. A file video (source "file") plays from a URL and type instead
of Mux ids and tokens: short-lived unless the lesson is one anyone may open (a published
lesson of a public course, or a free preview), whose URL may be stable. The lesson page and the
playback API (`progress.api.playback`) both go through it, so no other path hands out tokens.

The resume position is the learner's progress, which lives above the catalog (in `progress`),
so it comes in as an argument: the catalog never imports `progress`. That is also why the API
view lives in `progress.api.playback`: it joins this answer with the learner's position.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode

from django.contrib.auth.models import AnonymousUser
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import ImproperlyConfigured

from accounts.models import User
from catalog.access import Access, lesson_access, lesson_is_visible
from catalog.models import Course, Lesson
from catalog.structure import Structure
from media.models import Video
from media.playback import (
    PlaybackNotConfiguredError,
    PlaybackTokens,
    playback_configured,
    playback_tokens_issue,
)
from media.storage import StorageError
from media.video_files import VideoFileUrl, video_file_url

MUX_IMAGE_URL = "https://image.mux.com"


class PlaybackStatus(StrEnum):
    READY = "ready"
    PROCESSING = "processing"  # uploaded or uploading; Mux is still preparing it
    FAILED = "failed"  # Mux could not process the file
    NO_VIDEO = "no_video"  # no video attached yet (or it was deleted)
    NOT_CONFIGURED = "not_configured"  # a signed video, but no signing key is set


@dataclass(frozen=True)
class Playback:
    """What the player gets. Ids, tokens, URLs and the poster only when `status` is ready:
    `playback_id`/`tokens` for a Mux video, `file` (URL, type, expiry) for a file video."""

    status: PlaybackStatus
    video_id: uuid.UUID | None = None
    title: str = ""
    source: str = ""
    playback_id: str = ""
    policy: str = ""
    tokens: PlaybackTokens | None = None
    file: VideoFileUrl | None = None
    poster_url: str = ""
    duration_seconds: float | None = None
    resume_position: float = 0.0

    @property
    def is_ready(self) -> bool:
        return self.status == PlaybackStatus.READY

    @property
    def is_file(self) -> bool:
        return self.source == Video.Source.FILE

    @property
    def expires_at(self) -> dt.datetime | None:
        if self.file is not None:
            return self.file.expires_at
        return self.tokens.expires_at if self.tokens is not None else None


def lesson_access_require(
    *,
    user: User | AnonymousUser,
    lesson: Lesson,
    course_decision: Access | None = None,
    structure: Structure | None = None,
) -> Access:
    """The access decision, or AccessDeniedError with the code that names what would open it."""
    access = lesson_access(
        user=user,
        course=lesson.course,
        lesson=lesson,
        course_decision=course_decision,
        structure=structure,
    )
    return access.require()


def lesson_playback_get(
    *,
    user: User | AnonymousUser,
    lesson: Lesson,
    resume_position: float = 0.0,
    course_decision: Access | None = None,
    structure: Structure | None = None,
) -> Playback | None:
    """The lesson's playback, or None for a lesson that is not a video and has none.

    Raises AccessDeniedError (403) for users the access policy refuses: nothing is signed for
    them. Pass `course_decision` and `structure` when the caller already has them (the lesson
    page's outline: `outline.access`, `outline.structure`).
    """
    lesson_access_require(
        user=user, lesson=lesson, course_decision=course_decision, structure=structure
    )
    video: Video | None = lesson.video
    if video is None and lesson.kind != Lesson.Kind.VIDEO:
        return None
    if video is None or video.deleted_at is not None or video.status == Video.Status.DELETED:
        return Playback(status=PlaybackStatus.NO_VIDEO)
    described = {
        "video_id": video.pk,
        "title": video.title,
        "policy": video.playback_policy,
        "source": video.source,
    }
    if video.status in (Video.Status.WAITING, Video.Status.PREPARING):
        return Playback(status=PlaybackStatus.PROCESSING, **described)
    if video.status == Video.Status.ERRORED:
        return Playback(status=PlaybackStatus.FAILED, **described)
    if video.is_file:
        return _file_playback(
            video=video, lesson=lesson, resume_position=resume_position, described=described
        )

    tokens = None
    if video.playback_policy == Video.PlaybackPolicy.SIGNED:
        if not playback_configured():
            return Playback(status=PlaybackStatus.NOT_CONFIGURED, **described)
        try:
            tokens = playback_tokens_issue(playback_id=video.playback_id)
        except PlaybackNotConfiguredError:
            return Playback(status=PlaybackStatus.NOT_CONFIGURED, **described)
    return Playback(
        status=PlaybackStatus.READY,
        playback_id=video.playback_id,
        tokens=tokens,
        poster_url=poster_url(playback_id=video.playback_id, tokens=tokens),
        duration_seconds=video.duration_seconds,
        resume_position=_resume_at(resume_position, video.duration_seconds),
        **described,
    )


def lesson_is_open_to_anyone(*, lesson: Lesson) -> bool:
    """Whether a signed-out visitor may open the lesson (so its file URL may be stable)."""
    visitor = AnonymousUser()
    return (
        lesson_is_visible(user=visitor, course=lesson.course, lesson=lesson)
        and lesson_access(user=visitor, course=lesson.course, lesson=lesson).allowed
    )


def _file_playback(
    *, video: Video, lesson: Lesson, resume_position: float, described: dict
) -> Playback:
    try:
        file = video_file_url(video=video, signed=not lesson_is_open_to_anyone(lesson=lesson))
    except (StorageError, ImproperlyConfigured):  # e.g. the bucket's credentials are missing
        return Playback(status=PlaybackStatus.NOT_CONFIGURED, **described)
    return Playback(
        status=PlaybackStatus.READY,
        file=file,
        duration_seconds=video.duration_seconds,
        resume_position=_resume_at(resume_position, video.duration_seconds),
        **described,
    )


def poster_url(*, playback_id: str, tokens: PlaybackTokens | None) -> str:
    url = f"{MUX_IMAGE_URL}/{playback_id}/thumbnail.jpg"
    return f"{url}?{urlencode({'token': tokens.thumbnail})}" if tokens is not None else url


def _resume_at(position: float, duration: float | None) -> float:
    # Under a second in is the start; at the very end, start over rather than show the last
    # frame of a video the learner finished.
    if position < 1 or (duration and position >= duration - 1):
        return 0.0
    return round(position, 1)


# Mux Player, from its npm package (`@mux/mux-player`), served from our static files.
PLAYER_SCRIPT = "vendor/mux-player/mux-player.js"


def player_script_installed() -> bool:
    """Whether Mux Player's script is in our static files (it is not until npm has run)."""
    # Development finds it through STATICFILES_DIRS; production has it collected.
    return finders.find(PLAYER_SCRIPT) is not None or staticfiles_storage.exists(PLAYER_SCRIPT)


def course_preview_playback_get(*, course: Course) -> Playback | None:
    """The course's trailer for its page, or None when it has none ready to play.

    A preview is public by design (the admin offers only public videos): nothing is signed,
    and the course page, which anyone who may see the course opens, is the only gate.
    """
    video: Video | None = course.preview_video
    if (
        video is None
        or video.deleted_at is not None
        or video.status != Video.Status.READY
        or video.playback_policy != Video.PlaybackPolicy.PUBLIC
    ):
        return None
    described = {
        "video_id": video.pk,
        "title": video.title,
        "source": video.source,
        "policy": video.playback_policy,
        "duration_seconds": video.duration_seconds,
    }
    if video.is_file:
        try:
            file = video_file_url(video=video, signed=False)
        except (StorageError, ImproperlyConfigured):
            return None
        return Playback(status=PlaybackStatus.READY, file=file, **described)
    if not video.playback_id:
        return None
    return Playback(
        status=PlaybackStatus.READY,
        playback_id=video.playback_id,
        poster_url=poster_url(playback_id=video.playback_id, tokens=None),
        **described,
    )
