"""One DRF exception handler: every API error leaves in the same envelope.

{"error": {"code": "COURSE_NOT_FOUND", "message": "...", "fields": {"field": ["..."]}}}
"""

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from lms.errors import CATALOG, ApplicationError, ErrorCode

logger = logging.getLogger(__name__)

_DRF_CODES: list[tuple[type[exceptions.APIException], ErrorCode]] = [
    (exceptions.ParseError, ErrorCode.PARSE_ERROR),
    (exceptions.ValidationError, ErrorCode.VALIDATION_ERROR),
    (exceptions.NotAuthenticated, ErrorCode.NOT_AUTHENTICATED),
    (exceptions.AuthenticationFailed, ErrorCode.AUTHENTICATION_FAILED),
    (exceptions.PermissionDenied, ErrorCode.PERMISSION_DENIED),
    (exceptions.NotFound, ErrorCode.NOT_FOUND),
    (exceptions.MethodNotAllowed, ErrorCode.METHOD_NOT_ALLOWED),
    (exceptions.NotAcceptable, ErrorCode.NOT_ACCEPTABLE),
    (exceptions.UnsupportedMediaType, ErrorCode.UNSUPPORTED_MEDIA_TYPE),
    (exceptions.Throttled, ErrorCode.THROTTLED),
]


def error_body(
    code: ErrorCode, message: str | None = None, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "code": str(code),
            "message": message or CATALOG[code].message,
            "fields": fields or {},
        }
    }


def _flatten_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into {"field.sub": ["message", ...]}."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten_fields(value, name))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        out = {}
        for index, item in enumerate(detail):
            out.update(_flatten_fields(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    return {prefix or "non_field_errors": [str(detail)]}


def _code_for(exc: exceptions.APIException) -> ErrorCode:
    for exc_class, code in _DRF_CODES:
        if isinstance(exc, exc_class):
            return code
    return ErrorCode.BAD_REQUEST if exc.status_code < 500 else ErrorCode.SERVER_ERROR


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, ApplicationError):
        set_rollback()
        body = error_body(exc.code, exc.message, exc.fields)
        if exc.retry_at is not None:
            # Formatted as every other API time is.
            body["error"]["retry_at"] = serializers.DateTimeField().to_representation(exc.retry_at)
            wait = (exc.retry_at - timezone.now()).total_seconds()
            headers["Retry-After"] = str(max(math.ceil(wait), 1))
        return Response(body, status=exc.status, headers=headers)
    if isinstance(exc, SuspiciousOperation):
        # Raised by Django while reading the body (over DATA_UPLOAD_MAX_MEMORY_SIZE, too many
        # fields or files): the client's request, not our bug, so never a 500.
        set_rollback()
        code = ErrorCode.PAYLOAD_TOO_LARGE if isinstance(exc, RequestDataTooBig) else None
        code = code or ErrorCode.BAD_REQUEST
        return Response(error_body(code), status=CATALOG[code].status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, exceptions.APIException):
        set_rollback()
        code = _code_for(exc)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        if code == ErrorCode.VALIDATION_ERROR:
            body = error_body(code, fields=_flatten_fields(exc.detail))
        elif code in (ErrorCode.PARSE_ERROR, ErrorCode.THROTTLED, ErrorCode.METHOD_NOT_ALLOWED):
            body = error_body(code, str(exc.detail))
        else:
            body = error_body(code)
        return Response(body, status=exc.status_code, headers=headers)

    # Anything else is our bug: log it with the traceback and answer with the envelope.
    logger.exception("Unhandled API error", exc_info=exc)
    set_rollback()
    return Response(
        error_body(ErrorCode.SERVER_ERROR), status=status.HTTP_500_INTERNAL_SERVER_ERROR
    )
