"""Playback API (`/api/v1/lessons/<id>/playback/`): what a player needs to play a lesson.

The answer joins the catalog's playback (access decided, tokens signed: `catalog.playback`)
with the learner's saved position (`progress`), which is why it lives here, above both.
"""

import uuid

from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from catalog.models import Lesson
from catalog.playback import Playback, PlaybackStatus, lesson_playback_get
from catalog.selectors import lesson_get_by_id
from lms.api.schema import error_responses
from progress.models import LessonProgress

TAG = "learning"


def _saved_position(*, user: User, lesson: Lesson) -> float:
    if not user.is_authenticated:
        return 0.0
    position = (
        LessonProgress.objects.filter(user=user, lesson=lesson)
        .values_list("position_seconds", flat=True)
        .first()
    )
    return position or 0.0


@extend_schema_serializer(component_name="PlaybackTokens")
class PlaybackTokensSerializer(serializers.Serializer):
    video = serializers.CharField(help_text="For the stream (`playback-token`).")
    thumbnail = serializers.CharField(help_text="For posters (`thumbnail-token`).")
    storyboard = serializers.CharField(help_text="For seek previews (`storyboard-token`).")


@extend_schema_serializer(component_name="PlaybackFile")
class PlaybackFileSerializer(serializers.Serializer):
    url = serializers.CharField(
        help_text=(
            "Where the player (an HTML <video>, AVPlayer, ExoPlayer) fetches the file; it "
            "answers Range requests. Short-lived for lessons not everyone may open."
        )
    )
    type = serializers.CharField(source="content_type", help_text="`video/mp4` or `video/webm`.")


class LessonPlaybackApi(APIView):
    """The lesson's video for this user: Mux playback id and short-lived tokens, or a file
    URL and type; poster, resume position."""

    @extend_schema_serializer(component_name="LessonPlayback")
    class OutputSerializer(serializers.Serializer):
        lesson = serializers.UUIDField(help_text="The lesson's id.")
        status = serializers.ChoiceField(
            choices=[(status.value, status.value) for status in PlaybackStatus],
            help_text=(
                "`ready` to play; `processing` while Mux prepares the video, `failed` when it "
                "could not, `no_video` when the lesson has none, `not_configured` when signed "
                "playback is not set up on this server."
            ),
        )
        video_id = serializers.UUIDField(allow_null=True)
        title = serializers.CharField()
        source = serializers.ChoiceField(
            choices=[("mux", "mux"), ("file", "file"), ("", "")],
            help_text=(
                "`mux`: play `playback_id` with `tokens`; `file`: play `file.url`. Empty "
                "without a video."
            ),
        )
        playback_id = serializers.CharField(
            help_text="Mux playback id; empty unless a ready Mux video."
        )
        policy = serializers.CharField(help_text="`signed` or `public`; empty without a video.")
        tokens = PlaybackTokensSerializer(
            allow_null=True,
            help_text="Short-lived JWTs for a signed Mux video; null for public and files.",
        )
        file = PlaybackFileSerializer(
            allow_null=True, help_text="The file of a ready file video; null otherwise."
        )
        expires_at = serializers.DateTimeField(
            allow_null=True,
            help_text=(
                "When the tokens or the file URL expire: ask again before then. Null when "
                "they do not."
            ),
        )
        poster_url = serializers.CharField(help_text="The thumbnail; empty unless ready.")
        duration_seconds = serializers.FloatField(allow_null=True)
        resume_position = serializers.FloatField(help_text="Where to start playing, seconds.")

    @extend_schema(
        operation_id="lessons_playback",
        tags=[TAG],
        summary="Get a lesson's video playback",
        description=(
            "For users the access policy lets open the lesson. Signed Mux videos come with "
            "short-lived tokens (video, thumbnail, storyboard; null for public videos) and "
            "their expiry; file videos (`source` `file`) with a file URL and type, "
            "short-lived (`expires_at`) unless anyone may open the lesson. A lesson "
            "without a playable video answers 200 with a `status` that "
            "says why. Errors: 404 `LESSON_NOT_FOUND`, 403 `LOGIN_REQUIRED` or "
            "`UPGRADE_REQUIRED` (the tier), `LOCKED_PREREQUISITE` or `LOCKED_UNTIL` (the "
            "course's rules; `retry_at` when it opens): no token is signed then."
        ),
        responses={200: OutputSerializer, **error_responses(403, 404)},
    )
    def get(self, request: Request, lesson_id: uuid.UUID) -> Response:
        lesson = lesson_get_by_id(user=request.user, lesson_id=lesson_id)
        playback = lesson_playback_get(
            user=request.user,
            lesson=lesson,
            resume_position=_saved_position(user=request.user, lesson=lesson),
        )
        # A lesson that is not a video answers like one whose video is missing.
        playback = playback or Playback(status=PlaybackStatus.NO_VIDEO)
        body = {
            "lesson": lesson.pk,
            "status": playback.status,
            "video_id": playback.video_id,
            "title": playback.title,
            "source": playback.source,
            "playback_id": playback.playback_id,
            "policy": playback.policy,
            "tokens": playback.tokens,
            "file": playback.file,
            "expires_at": playback.expires_at,
            "poster_url": playback.poster_url,
            "duration_seconds": playback.duration_seconds,
            "resume_position": playback.resume_position,
        }
        return Response(self.OutputSerializer(body).data)


urlpatterns = [
    path("lessons/<uuid:lesson_id>/playback/", LessonPlaybackApi.as_view(), name="lesson-playback"),
]
