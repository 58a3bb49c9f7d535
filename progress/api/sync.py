"""Offline sync (`POST /api/v1/progress/sync/`): a batch of client events, applied at once.

A batch is up to 500 events, so the view reads and answers them without a serializer per
event: `_events_read` takes the well-formed batch as the serializers would (the same values)
and hands anything else to `InputSerializer`, whose errors are then the answer, and the
results are built as plain dicts. The serializers stay the contract (and the schema).
"""

import math
import uuid
from typing import Any

from django.conf import settings
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime
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
        events = _events_read(request.data)
        if events is None:
            # Not the plain shape: the serializers decide, and their errors are the answer.
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
        return Response(_sync_body(request, outcome))


# --- Reading and answering without a serializer per event ---------------------------------
_KINDS = frozenset(ProgressEvent.Kind.values)
_REQUIRED = ("id", "type", "lesson", "occurred_at")


def _events_read(data: Any) -> list[ProgressEventIn] | None:
    """The batch's events as `InputSerializer` validates them (the same values), or None
    when the batch is anything but a JSON object whose events are all plain and valid: JSON
    strings for the UUIDs, the kind and an ISO 8601 instant with its offset, a finite number
    >= 0 (or null) for a position. None leaves the verdict, and its error body, to the
    serializers, so this never accepts what they refuse."""
    if type(data) is not dict:
        return None
    items = data.get("events")
    if type(items) is not list or len(items) > settings.LMS_PROGRESS_SYNC_MAX_EVENTS:
        return None
    zone = timezone.get_current_timezone()
    events = []
    for item in items:
        event = _event_read(item, zone) if type(item) is dict else None
        if event is None:
            return None
        events.append(event)
    return events


def _event_read(item: dict[str, Any], zone: Any) -> ProgressEventIn | None:
    client_id, kind, lesson, occurred = (item.get(key) for key in _REQUIRED)
    if not (
        type(client_id) is str
        and type(kind) is str
        and kind in _KINDS
        and type(lesson) is str
        and type(occurred) is str
    ):
        return None
    try:
        client_uuid, lesson_uuid = uuid.UUID(client_id), uuid.UUID(lesson)
        # What `DateTimeField` does with an ISO 8601 string, for one with an offset.
        at = parse_datetime(occurred)
        if at is None or at.utcoffset() is None:
            return None
        at = at.astimezone(zone)
        position = item.get("position_seconds")
        if position is not None:
            if type(position) not in (int, float):
                return None
            position = float(position)  # an int too large for a float: OverflowError
    except (ValueError, TypeError, OverflowError):
        return None
    if position is not None and (not math.isfinite(position) or position < 0):
        return None
    # `SyncEventSerializer.validate`: a position event has a position, no other one has.
    if (kind == ProgressEvent.Kind.POSITION) != (position is not None):
        return None
    return ProgressEventIn(
        kind=kind,
        lesson_id=lesson_uuid,
        client_id=client_uuid,
        occurred_at=at,
        position_seconds=position,
    )


def _result_body(event: EventOutcome) -> dict[str, Any]:
    """`SyncResultSerializer`'s representation of one result, as a dict."""
    result = event.result
    settled = result in SYNC_STATUSES
    if result == ErrorCode.LESSON_NOT_FOUND:
        lesson_status = None
    elif event.progress is None:
        lesson_status = LessonProgress.Status.NOT_STARTED.value
    else:
        lesson_status = str(event.progress.status)
    return {
        "id": None if event.client_id is None else str(event.client_id),
        "status": str(result) if settled else SYNC_REJECTED,
        "code": None if settled else str(result),
        "lesson": str(event.lesson_id),
        "lesson_status": lesson_status,
        "xp_awarded": int(event.xp_awarded),
    }


def _sync_body(request: Request, outcome: ProgressOutcome) -> dict[str, Any]:
    """`OutputSerializer`'s representation of the outcome."""
    stats = stats_view(user=request.user, stats=outcome.stats)
    return {
        "results": [_result_body(event) for event in outcome.events],
        "xp_awarded": int(outcome.xp_awarded),
        "stats": StatsSerializer(stats).data,
    }


urlpatterns = [
    path("progress/sync/", ProgressSyncApi.as_view(), name="progress-sync"),
]
