"""Request guards: refuse, before any view or parser sees them, requests that would crash one.

One middleware, so every path is covered at once (API views, allauth's headless endpoints,
webhooks, HTML pages), instead of each view defending itself:

- a NUL character in the path answers 404 (no course, lesson or certificate can be named
  that, and PostgreSQL text refuses it), and in a query value 400: both as the JSON envelope
  under /api/ and as the error page elsewhere;
- a write (any method but GET/HEAD) to a path missing its trailing slash is routed to the
  slashed view instead of being redirected: a client follows a 301 with a GET, losing the
  body, and under DEBUG Django raises a RuntimeError (a 500);
- an unmatched path under /api/ answers the 404 envelope whatever DEBUG says (under DEBUG
  Django's technical 404 page would bypass `handler404`);
- a request body that is not a form (the API and allauth's headless views parse it as JSON
  whatever its content type) is refused with 413 over `LMS_API_MAX_BODY_BYTES`, and with 400
  PARSE_ERROR when nested deeper than `LMS_API_MAX_JSON_DEPTH` (Python's json raises
  RecursionError at about 1,000 levels, which no parser here catches).
"""

import re
from collections.abc import Callable
from functools import lru_cache, partial

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, URLResolver, get_resolver, get_urlconf

from lms.api.exceptions import error_body
from lms.errors import ErrorCode

SAFE_METHODS = frozenset({"GET", "HEAD"})
NUL_MESSAGE = "Null characters are not allowed."
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

# Nesting is measured on the brackets alone, strings removed first, so "[[[" inside a string
# is not nesting: escaped backslashes, then escaped quotes, are dropped (pairs from the left,
# as JSON reads them), everything but quotes and brackets deleted, and what lies between
# each pair of quotes removed. All of it runs at C speed over the body.
_INNERMOST_PAIR = re.compile(rb"\[\]|\{\}")
_NOT_A_BRACKET_OR_QUOTE = bytes(b for b in range(256) if b not in b'[]{}"')


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether a JSON text nests arrays/objects deeper than `limit`, without parsing it.

    Bounded and cheap: a text with no more opening brackets than `limit` cannot exceed it
    (one C-speed count, the common case); otherwise strings are removed, everything but the
    brackets dropped, and innermost pairs stripped once per allowed level. Brackets left
    over mean deeper nesting (or broken JSON, which the parser would refuse anyway).
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(unescaped.translate(None, delete=_NOT_A_BRACKET_OR_QUOTE).split(b'"')[::2])
    for _ in range(limit):
        if not brackets:
            return False
        brackets, stripped = _INNERMOST_PAIR.subn(b"", brackets)
        if not stripped:
            break
    return bool(brackets)


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _resolves(path: str, urlconf: str | None) -> bool:
    resolver = get_resolver(urlconf or get_urlconf())
    if len(path) > MAX_REMEMBERED_PATH:
        return _resolver_matches.__wrapped__(resolver, path)
    return _resolver_matches(resolver, path)


# Paths remembered by `_resolver_matches`: at most this many, of at most this length.
REMEMBERED_PATHS = 4096
MAX_REMEMBERED_PATH = 256


@lru_cache(maxsize=REMEMBERED_PATHS)
def _resolver_matches(resolver: URLResolver, path: str) -> bool:
    """Whether `path` names a view: the URL patterns do not change while a process runs (a
    changed ROOT_URLCONF is another resolver, `get_resolver` being cached per urlconf)."""
    try:
        resolver.resolve(path)
    except Resolver404:
        return False
    return True


def _refuse(
    request: HttpRequest,
    code: ErrorCode,
    message: str | None = None,
    fields: dict[str, list[str]] | None = None,
    *,
    as_json: bool = False,
) -> HttpResponse:
    """The envelope under /api/ (or `as_json`), the error page otherwise."""
    from lms import views  # renders templates: imported when first needed

    if as_json or _is_api(request):
        return JsonResponse(error_body(code, message, fields), status=views.status_for(code))
    return views.error_page(request, code, message, fields)


class RequestGuardMiddleware:
    """See the module docstring. Sits before CommonMiddleware (whose slash redirect it
    pre-empts for writes) and before CsrfViewMiddleware and every view (which read the body)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self._check_characters(request) or self._route(request)
        if refusal is None and request.method not in SAFE_METHODS:
            refusal = self._check_body(request)
        return refusal or self.get_response(request)

    def _check_characters(self, request: HttpRequest) -> HttpResponse | None:
        if "\x00" in request.path_info:
            return _refuse(request, ErrorCode.NOT_FOUND)
        names = sorted(
            key
            for key, values in request.GET.lists()
            if "\x00" in key or any("\x00" in value for value in values)
        )
        if names:
            # Like a serializer's CharField would say, naming each parameter.
            fields = {name.replace("\x00", "\ufffd"): [NUL_MESSAGE] for name in names}
            return _refuse(request, ErrorCode.VALIDATION_ERROR, fields=fields)
        return None

    def _route(self, request: HttpRequest) -> HttpResponse | None:
        if request.method in SAFE_METHODS and not _is_api(request):
            return None  # a page, found or not, slashed or not: Django's own answer stands
        path = request.path_info
        urlconf = getattr(request, "urlconf", None)
        if _resolves(path, urlconf):
            return None
        slashed = f"{path}/"
        if settings.APPEND_SLASH and not path.endswith("/") and _resolves(slashed, urlconf):
            if request.method in SAFE_METHODS:
                return None  # CommonMiddleware redirects: a GET may follow a 301 safely
            # Serve the slashed view in place: a redirect would turn the write into a GET.
            request.path = f"{request.path}/"
            request.path_info = slashed
            request.META["PATH_INFO"] = f"{request.META.get('PATH_INFO', path)}/"
            return None
        if _is_api(request):
            return _refuse(request, ErrorCode.NOT_FOUND)
        return None

    def _check_body(self, request: HttpRequest) -> HttpResponse | None:
        """A body that is not a form is read as JSON by whoever takes it (DRF, allauth's
        headless views, webhooks): its sender is a program, answered with the envelope."""
        if (request.content_type or "") in FORM_TYPES:
            return None  # Django's own limits (DATA_UPLOAD_MAX_*) apply to forms and files
        refuse = partial(_refuse, request, as_json=True)
        limit = settings.LMS_API_MAX_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return refuse(ErrorCode.PAYLOAD_TOO_LARGE)
        try:
            body = request.body
        except RequestDataTooBig:
            return refuse(ErrorCode.PAYLOAD_TOO_LARGE)
        if len(body) > limit:
            return refuse(ErrorCode.PAYLOAD_TOO_LARGE)
        depth = settings.LMS_API_MAX_JSON_DEPTH
        if json_depth_exceeds(body, depth):
            message = f"The request body nests deeper than {depth} levels."
            return refuse(ErrorCode.PARSE_ERROR, message)
        return None
