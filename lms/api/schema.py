"""The error envelope as an OpenAPI component, so every documented error points at one schema.

Views list the statuses they can answer with `error_responses(400, 404)`; the body is the
one `lms.api.exceptions` builds: `{"error": {"code", "message", "fields"}}`.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import serializers

from lms.errors import CATALOG, ErrorCode

_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid input: `code` is VALIDATION_ERROR (with `fields`) or PARSE_ERROR.",
    401: "Not signed in, or the credentials are not valid.",
    403: "Not allowed: `code` says why (for example LOGIN_REQUIRED or UPGRADE_REQUIRED).",
    404: "Not found: `code` names what is missing (for example COURSE_NOT_FOUND).",
    405: "The HTTP method is not allowed on this path.",
    409: "Conflicts with the current state: `code` says which (for example INVITE_USED_UP).",
    410: "No longer available: `code` says why (for example INVITE_EXPIRED).",
    429: "Too many requests; the `Retry-After` header says when to try again.",
}


@extend_schema_serializer(component_name="ErrorDetail")
class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=[(code.value, CATALOG[code].message) for code in ErrorCode],
        help_text="A stable UPPER_SNAKE code; it never changes meaning once released.",
    )
    message = serializers.CharField(help_text="A human-readable explanation.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per invalid input field (dotted for nested fields); often empty.",
    )


@extend_schema_serializer(component_name="ErrorEnvelope")
class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """`extend_schema(responses=...)` entries documenting these error statuses."""
    return {
        status: OpenApiResponse(ErrorEnvelopeSerializer, description=_DESCRIPTIONS[status])
        for status in statuses
    }
