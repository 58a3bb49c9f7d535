"""Offline sync (`POST /api/v1/progress/sync/`): a batch of client events, applied at once."""

from typing import Any

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lms.api.schema import error_responses
from lms.errors import CATALOG, ErrorCode
from progress.api.learning import (
    TAG,
    StatsSerializer,
)
from progress.models import LessonProgress, ProgressEvent
from progress.selectors import (
    stats_view,
)
from progress.services import (
    EventOutcome,
    ProgressEventIn,
    ProgressOutcome,
    progress_apply,
)

SYNC_STATUSES = ("applied", "duplicate", "stale")
SYNC_REJECTED = "rejected"


# --- Offline sync ----------------------------------------------------------------------------


@extend_schema_serializer(component_name="ProgressSyncEvent")
class SyncEventSerializer(serializers.Serializer):
    id = serializers.UUIDField(
        help_text=(
            "The client's id for the event. Once applied, sending it again is recognised "
            "(`duplicate`) and changes nothing; a rejected event may be sent again with the "
            "same id and is applied once the reason is gone (e.g. after subscribing)."
        )
    )
    type = serializers.ChoiceField(choices=ProgressEvent.Kind.choices)
    lesson = serializers.UUIDField(help_text="The lesson's id.")
    occurred_at = serializers.DateTimeField(help_text="When it happened on the device.")
    position_seconds = serializers.FloatField(
        min_value=0,
        required=False,
        allow_null=True,
        help_text="Position events only: the player position.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        position = attrs.get("position_seconds")
        if attrs["type"] == ProgressEvent.Kind.POSITION and position is None:
            raise serializers.ValidationError(
                {"position_seconds": ["A position event needs a position."]}
            )
        if attrs["type"] == ProgressEvent.Kind.COMPLETE and position is not None:
            raise serializers.ValidationError(
                {"position_seconds": ["Only position events have a position."]}
            )
        return attrs


@extend_schema_serializer(component_name="ProgressSyncResult")
class SyncResultSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="client_id")
    status = serializers.SerializerMethodField(
        help_text=(
            "`applied`; `duplicate` (this id was applied before, in an earlier batch or "
            "earlier in this one: nothing changed); `stale` (a heartbeat older than the last "
            "one); `rejected` (see `code`; not recorded as applied, so keep the event and "
            "send it again when the reason may be gone)."
        )
    )
    code = serializers.SerializerMethodField(help_text="Why it was rejected; null otherwise.")
    lesson = serializers.UUIDField(source="lesson_id")
    lesson_status = serializers.SerializerMethodField(
        help_text="The lesson's status after the batch; null for an unknown lesson."
    )
    xp_awarded = serializers.IntegerField()

    @extend_schema_field(serializers.ChoiceField(choices=[*SYNC_STATUSES, SYNC_REJECTED]))
    def get_status(self, event: EventOutcome) -> str:
        return event.result if event.result in SYNC_STATUSES else SYNC_REJECTED

    # The same choices as the error envelope's `code`, so both use its enum component.
    @extend_schema_field(
        serializers.ChoiceField(
            choices=[(code.value, CATALOG[code].message) for code in ErrorCode], allow_null=True
        )
    )
    def get_code(self, event: EventOutcome) -> str | None:
        return None if event.result in SYNC_STATUSES else str(event.result)

    @extend_schema_field(
        serializers.ChoiceField(choices=LessonProgress.Status.choices, allow_null=True)
    )
    def get_lesson_status(self, event: EventOutcome) -> str | None:
        if event.result == ErrorCode.LESSON_NOT_FOUND:
            return None
        if event.progress is None:
            return LessonProgress.Status.NOT_STARTED
        return event.progress.status


class ProgressSyncApi(APIView):
    """Apply a batch of progress events recorded offline, in one transaction."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="ProgressSync")
    class InputSerializer(serializers.Serializer):
        events = SyncEventSerializer(
            many=True,
            help_text=(
                "At most `LMS_PROGRESS_SYNC_MAX_EVENTS` events "
                f"({settings.LMS_PROGRESS_SYNC_MAX_EVENTS} here)."
            ),
        )

        def to_internal_value(self, data: Any) -> dict[str, Any]:
            # Refuse an oversized batch before validating each of its events.
            limit = settings.LMS_PROGRESS_SYNC_MAX_EVENTS
            events = data.get("events") if isinstance(data, dict) else None
            if isinstance(events, list) and len(events) > limit:
                raise serializers.ValidationError(
                    {"events": [f"Send at most {limit} events at once."]}
                )
            return super().to_internal_value(data)

    @extend_schema_serializer(component_name="ProgressSyncOutcome")
    class OutputSerializer(serializers.Serializer):
        results = SyncResultSerializer(many=True, help_text="One per event, in the batch's order.")
        xp_awarded = serializers.IntegerField(help_text="XP the whole batch gave.")
        stats = StatsSerializer()

    @extend_schema(
        operation_id="progress_sync",
        tags=[TAG],
        summary="Sync offline progress",
        description=(
            "Events are applied in the order they happened (`occurred_at`), all in one "
            "transaction, and each gets its own result. `duplicate` means applied before: "
            "sending a batch again changes nothing for its applied events, while its rejected "
            "ones are tried again, so an event refused with `UPGRADE_REQUIRED` while offline "
            "is applied (dated when it happened, its XP awarded once) when resent after the "
            "learner subscribed. Drop an event from the queue once it is `applied`, "
            "`duplicate` or `stale`. A malformed event or an oversized batch refuses the whole "
            "batch (400 `VALIDATION_ERROR`, nothing applied). Rejection codes: "
            "`LESSON_NOT_FOUND`, `PREVIEW_ONLY`, `LOGIN_REQUIRED`, `UPGRADE_REQUIRED`, "
            "`COMPLETION_NOT_MANUAL`, `POSITION_NOT_VIDEO`, `EVENT_IN_FUTURE`."
        ),
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 401)},
        examples=[
            OpenApiExample(
                "Batch",
                request_only=True,
                value={
                    "events": [
                        {
                            "id": "8f0c7d2e-4b1a-4c55-9a57-0f3b8d1e2a61",
                            "type": "position",
                            "lesson": "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
                            "occurred_at": "2025-01-15T08:30:10Z",
                            "position_seconds": 42.0,
                        },
                        {
                            "id": "0e5a1f9c-7d3b-4e2a-8c61-5b9f2d4a7c13",
                            "type": "complete",
                            "lesson": "6fa459ea-ee8a-3ca4-894e-db77e160355e",
                            "occurred_at": "2025-01-15T08:41:00Z",
                        },
                    ]
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        events = [
            ProgressEventIn(
                kind=event["type"],
                lesson_id=event["lesson"],
                client_id=event["id"],
                occurred_at=event["occurred_at"],
                position_seconds=event.get("position_seconds"),
            )
            for event in data.validated_data["events"]
        ]
        outcome = progress_apply(user=request.user, events=events)
        return Response(self.OutputSerializer(_sync_body(request, outcome)).data)


def _sync_body(request: Request, outcome: ProgressOutcome) -> dict[str, Any]:
    return {
        "results": outcome.events,
        "xp_awarded": outcome.xp_awarded,
        "stats": stats_view(user=request.user, stats=outcome.stats),
    }


urlpatterns = [
    path("progress/sync/", ProgressSyncApi.as_view(), name="progress-sync"),
]
