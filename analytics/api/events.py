"""Event ingestion (`POST /api/v1/analytics/events/`): a batch of client events.

Thin and fast: DRF authenticates (JWT or session with CSRF) and parses the JSON; the
service validates each event by hand against the catalog and stores the batch in one
statement. The serializers below only document the wire format (OpenAPI): they never run
on a request, because a serializer per event would cost more than the insert.
"""

from typing import Any

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.catalog import CLIENT_TYPES, EVENT_TYPES
from analytics.services.ingest import ACCEPTED, DUPLICATE, REFUSED, events_ingest
from lms.api.schema import error_responses
from lms.errors import CATALOG, ErrorCode

TAG = "analytics"
EVENT_CODES = [
    ErrorCode.EVENT_INVALID,
    ErrorCode.EVENT_TYPE_UNKNOWN,
    ErrorCode.EVENT_TYPE_SERVER_ONLY,
    ErrorCode.EVENT_PROPERTIES_INVALID,
    ErrorCode.EVENT_LESSON_REQUIRED,
    ErrorCode.EVENT_LESSON_UNKNOWN,
    ErrorCode.EVENT_COURSE_UNKNOWN,
    ErrorCode.EVENT_TOO_OLD,
    ErrorCode.EVENT_IN_FUTURE,
]


def _catalog_text() -> str:
    """The client types and their properties, for the operation's description."""
    lines = []
    for name in CLIENT_TYPES:
        event = EVENT_TYPES[name]
        props = ", ".join(
            f"`{key}` {prop.kind}"
            + (f" {prop.minimum:g}..{prop.maximum:g}" if prop.maximum is not None else "")
            + (f" (<= {prop.max_length} chars)" if prop.kind == "string" else "")
            for key, prop in event.properties.items()
        )
        refs = "lesson required" if event.lesson == "required" else ""
        refs = refs or ("course optional" if event.course == "optional" else "")
        details = "; ".join(part for part in (refs, props or "no properties") if part)
        lines.append(f"- `{name}` ({details}): {event.description}")
    return "\n".join(lines)


@extend_schema_serializer(component_name="AnalyticsApp")
class AppSerializer(serializers.Serializer):
    name = serializers.RegexField(
        r"^[a-z][a-z0-9_-]{0,31}$", help_text="The sending app: web, ios, android, desktop, ..."
    )
    version = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="Its version, e.g. 1.2.3."
    )


@extend_schema_serializer(component_name="AnalyticsEventIn")
class EventInSerializer(serializers.Serializer):
    id = serializers.UUIDField(
        help_text="The client's id for the event: sending it again is answered `duplicate`."
    )
    type = serializers.ChoiceField(choices=CLIENT_TYPES, help_text="A client type of the catalog.")
    occurred_at = serializers.DateTimeField(help_text="When it happened, ISO 8601 with a zone.")
    lesson = serializers.UUIDField(
        required=False, allow_null=True, help_text="The lesson, for types that name one."
    )
    course = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="The course, for types that may name one without a lesson (else ignored: "
        "the server fills a lesson's course).",
    )
    properties = serializers.DictField(
        required=False, help_text="The type's properties, exactly as the catalog lists them."
    )


@extend_schema_serializer(component_name="AnalyticsEventBatch")
class BatchSerializer(serializers.Serializer):
    app = AppSerializer()
    events = EventInSerializer(
        many=True,
        help_text=(
            f"At most `LMS_ANALYTICS_BATCH_MAX` events ({settings.LMS_ANALYTICS_BATCH_MAX} here)."
        ),
    )


@extend_schema_serializer(component_name="AnalyticsEventResult")
class ResultSerializer(serializers.Serializer):
    id = serializers.CharField(
        allow_null=True, help_text="The event's id as sent (null if it had none)."
    )
    status = serializers.ChoiceField(choices=[ACCEPTED, DUPLICATE, REFUSED])
    # The envelope's choices (so both use its enum component); events are refused with
    # EVENT_CODES only.
    code = serializers.ChoiceField(
        choices=[(code.value, CATALOG[code].message) for code in ErrorCode],
        required=False,
        help_text="Refused events only: why, one of " + ", ".join(f"`{c}`" for c in EVENT_CODES),
    )
    message = serializers.CharField(required=False, help_text="Refused events only.")


@extend_schema_serializer(component_name="AnalyticsEventOutcome")
class OutcomeSerializer(serializers.Serializer):
    results = ResultSerializer(many=True, help_text="One per event, in the batch's order.")
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    refused = serializers.IntegerField()


class EventIngestApi(APIView):
    """Store a batch of the signed-in learner's client events."""

    permission_classes = [IsAuthenticated]
    # Its own limit, per learner and app and counted in events (one cache call), instead of
    # DRF's per-request throttles, which a busy player would trip with tiny batches.
    throttle_classes: list = []

    @extend_schema(
        operation_id="analytics_events_ingest",
        tags=[TAG],
        summary="Send analytics events",
        description=(
            "Each event gets its own result, in order: `accepted` (stored), `duplicate` (its "
            "id is stored already, or came earlier in this batch: nothing changes, so a "
            "batch may be sent again safely) or `refused` with a `code` (do not resend it). "
            "Drop every event from the queue once answered. The whole batch is refused, "
            "nothing stored, for a malformed envelope (400 `VALIDATION_ERROR`), more than "
            "`LMS_ANALYTICS_BATCH_MAX` events (413 `ANALYTICS_BATCH_TOO_LARGE`) or more than "
            "`LMS_ANALYTICS_RATE_PER_MINUTE` events a minute from one learner and app (429 "
            "`ANALYTICS_RATE_LIMITED`, with Retry-After: send it again then). Events older "
            "than `LMS_ANALYTICS_MAX_AGE_DAYS` are `EVENT_TOO_OLD`, later than now plus "
            "`LMS_ANALYTICS_FUTURE_SECONDS` `EVENT_IN_FUTURE`.\n\nClient event types:\n"
            + _catalog_text()
        ),
        request=BatchSerializer,
        responses={
            200: OutcomeSerializer,
            **error_responses(400, 401, 413, 429),
        },
        examples=[
            OpenApiExample(
                "Batch",
                request_only=True,
                value={
                    "app": {"name": "web", "version": "1.0.0"},
                    "events": [
                        {
                            "id": "8f0c7d2e-4b1a-4c55-9a57-0f3b8d1e2a61",
                            "type": "video.seek",
                            "occurred_at": "2025-01-15T08:30:10Z",
                            "lesson": "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
                            "properties": {"from": 42.0, "to": 120.5},
                        },
                        {
                            "id": "0e5a1f9c-7d3b-4e2a-8c61-5b9f2d4a7c13",
                            "type": "search",
                            "occurred_at": "2025-01-15T08:41:00Z",
                            "properties": {"query": "python", "results": 4},
                        },
                    ],
                },
            ),
            OpenApiExample(
                "Results",
                response_only=True,
                value={
                    "results": [
                        {"id": "8f0c7d2e-4b1a-4c55-9a57-0f3b8d1e2a61", "status": "accepted"},
                        {
                            "id": "0e5a1f9c-7d3b-4e2a-8c61-5b9f2d4a7c13",
                            "status": "refused",
                            "code": "EVENT_PROPERTIES_INVALID",
                            "message": CATALOG[ErrorCode.EVENT_PROPERTIES_INVALID].message,
                        },
                    ],
                    "accepted": 1,
                    "duplicates": 0,
                    "refused": 1,
                },
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data: Any = request.data
        if type(data) is not dict:
            data = {}
        outcome = events_ingest(
            user_id=request.user.pk, app=data.get("app"), events=data.get("events")
        )
        return Response(
            {
                "results": outcome.results,
                "accepted": outcome.accepted,
                "duplicates": outcome.duplicates,
                "refused": outcome.refused,
            }
        )


urlpatterns = [
    path("analytics/events/", EventIngestApi.as_view(), name="analytics-events"),
]
