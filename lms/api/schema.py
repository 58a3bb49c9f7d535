"""The error envelope as an OpenAPI component, so every documented error points at one schema,
and the AutoSchema that documents, for every operation, the errors any view can answer.

Views list the statuses particular to them with `error_responses(404, 409)`; `AutoSchema`
adds those that come from the machinery around every view (the request guards, parsers,
authentication, permissions, throttles, pagination). The body is the one
`lms.api.exceptions` builds: `{"error": {"code", "message", "fields"}}`.
"""

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import permissions, serializers
from rest_framework.authentication import SessionAuthentication

from lms.errors import CATALOG, ErrorCode

_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid input: `code` is VALIDATION_ERROR (with `fields`) or PARSE_ERROR.",
    401: "Not signed in, or the credentials are not valid.",
    403: "Not allowed: `code` says why (for example LOGIN_REQUIRED or UPGRADE_REQUIRED).",
    404: "Not found: `code` names what is missing (for example COURSE_NOT_FOUND).",
    405: "The HTTP method is not allowed on this path.",
    406: "The `Accept` header asks for a format other than JSON.",
    409: "Conflicts with the current state: `code` says which (for example INVITE_USED_UP).",
    410: "No longer available: `code` says why (for example INVITE_EXPIRED).",
    413: "The request body is larger than `LMS_API_MAX_BODY_BYTES`: PAYLOAD_TOO_LARGE.",
    415: "The request body is not JSON: UNSUPPORTED_MEDIA_TYPE.",
    429: "Too many requests; the `Retry-After` header says when to try again.",
    503: "A service this needs is down right now (SERVICE_UNAVAILABLE); try again shortly.",
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
    retry_at = serializers.DateTimeField(
        required=False,
        help_text=(
            "Only with QUIZ_RETRY_NOT_YET (429): when the next attempt opens, and "
            "TUTOR_QUOTA_EXHAUSTED (429): the learner's next local midnight; the "
            "`Retry-After` header gives the same in seconds."
        ),
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


# Permissions that let every signed-in user through: with them a refusal is 401, not 403.
_SIGNED_IN_IS_ENOUGH = (
    permissions.AllowAny,
    permissions.IsAuthenticated,
    permissions.IsAuthenticatedOrReadOnly,
)
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, plus the error statuses the shared machinery answers.

    Every operation gets them from the view it documents, so no view lists them by hand:
    400 for a body or query parameters (validation, PARSE_ERROR, a NUL in a query), 401 when
    a view authenticates (a bad token is refused anywhere), 403 for permissions beyond
    "signed in" and for writes with session cookies (CSRF), 404 for path parameters and
    pages past the end, 406 for any `Accept` but JSON, 413/415 for bodies, 429 for throttles
    and 503 for writes (their task broker may be down). A status a view documents itself
    keeps the view's description.
    """

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for status in sorted(self._generic_statuses(operation) - {int(c) for c in responses}):
            response = OpenApiResponse(ErrorEnvelopeSerializer, description=_DESCRIPTIONS[status])
            responses[str(status)] = self._get_response_for_code(response, str(status))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _generic_statuses(self, operation: dict[str, Any]) -> set[int]:
        parameters = operation.get("parameters", [])
        write = self.method in _WRITES
        statuses = {406}
        if write or "requestBody" in operation or any(p["in"] == "query" for p in parameters):
            statuses.add(400)
        if write:
            statuses |= {413, 503}
        if "requestBody" in operation:
            statuses.add(415)
        if any(p["in"] == "path" for p in parameters) or self._get_paginator():
            statuses.add(404)
        statuses |= self._access_statuses(write)
        if self.view.get_throttles():
            statuses.add(429)
        return statuses

    def _access_statuses(self, write: bool) -> set[int]:
        authenticators = self.view.get_authenticators()
        statuses = {401} if authenticators else set()
        strict = [p for p in self.view.get_permissions() if type(p) not in _SIGNED_IN_IS_ENOUGH]
        csrf = write and any(isinstance(a, SessionAuthentication) for a in authenticators)
        if strict or csrf:
            statuses.add(403)
        return statuses
