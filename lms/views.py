"""Error pages: HTML for the site, the JSON envelope for anything under /api/."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.csrf import requires_csrf_token

from lms.api.exceptions import error_body
from lms.errors import CATALOG, ApplicationError, ErrorCode

# The page for each status; a status without its own page uses the one of its family.
_TEMPLATES = {
    400: "errors/400.html",
    403: "errors/403.html",
    404: "errors/404.html",
    413: "errors/413.html",
}


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def status_for(code: ErrorCode) -> int:
    return CATALOG[code].status


def error_page(
    request: HttpRequest,
    code: ErrorCode,
    message: str | None = None,
    fields: dict[str, list[str]] | None = None,
    *,
    status: int | None = None,
) -> HttpResponse:
    """The envelope under /api/, the error page for the status (`code`'s own) elsewhere."""
    status = status or status_for(code)
    message = message or CATALOG[code].message
    if _wants_json(request):
        return JsonResponse(error_body(code, message, fields), status=status)
    template = _TEMPLATES.get(status, _TEMPLATES[400 if status < 500 else 404])
    html = render_to_string(template, {"message": message, "code": code}, request=request)
    return HttpResponse(html, status=status)


def _error(request: HttpRequest, code: ErrorCode, exception=None) -> HttpResponse:
    if isinstance(exception, ApplicationError):
        # The status stays the handler's (a NotFoundError is a 404 whatever its code).
        return error_page(
            request, exception.code, exception.message, exception.fields, status=status_for(code)
        )
    return error_page(request, code)


@requires_csrf_token
def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    # A body over DATA_UPLOAD_MAX_MEMORY_SIZE (a form post, say) is too large, not malformed.
    if isinstance(exception, RequestDataTooBig):
        return error_page(request, ErrorCode.PAYLOAD_TOO_LARGE)
    return _error(request, ErrorCode.BAD_REQUEST, exception)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    return _error(request, ErrorCode.PERMISSION_DENIED, exception)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return _error(request, ErrorCode.NOT_FOUND, exception)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    # Keep this page free of anything that could fail again (no database, no user).
    if _wants_json(request):
        return JsonResponse(error_body(ErrorCode.SERVER_ERROR), status=500)
    return HttpResponse(render_to_string("errors/500.html"), status=500)
