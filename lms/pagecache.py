"""Whole pages cached for anonymous visitors: the home page, the catalog, course pages and the
lesson pages a visitor may open (free previews of public courses, every lesson of one).

`anonymous_page(...)` wraps a view (in the apps' `urls.py`). Only a request that carries no
session cookie, no messages cookie and no Authorization header, with GET or HEAD and no query
parameter the page does not read, is served from the cache; it is decided from the cookies
alone, before anything touches the session, the user or the database. A hit costs one cache
round trip and no query: the content version, the page's epochs and the page, read together.

What is cached is the view's own answer (status, body, the headers the view set) and the CSP
components it rendered; every middleware still runs per request, so the request id, the CSP
and Permissions-Policy, HSTS, X-Frame-Options, Content-Language are each request's own. A
response is kept only when it is a 200 that set no cookie, used no CSRF token or CSP nonce,
changed no session, queued no flash message and was rendered for no signed-in user: a page
with a form (the enroll button, a quiz) is never kept.

The key is the language LocaleMiddleware chose, scheme, host, path and query string; the
entry records the stamp it was rendered under, and a hit needs the same stamp now: the
content version the caller names (the catalog's for every page, `catalog_version_with`: each
course's bump bumps it too, so a course page never outlives its course) and the epochs of
what these pages show besides course content (`pages_changed`), for every page (plans and
tiers, videos and files, an instructor's or author's public name and picture) or for one
course's pages (its enrollments, for the learner count; its announcements; its lessons'
discussion threads). The stamp is read before the view renders, so a change during the
render leaves the entry stale-stamped, never served. Nothing is ever deleted.

Cache headers: a page that may be cached says `public, max-age=LMS_PAGE_CACHE_MAX_AGE,
must-revalidate` with an ETag (a matching If-None-Match answers 304 from the cache) and
`Vary: Cookie, Accept-Language`, so a shared cache keeps a visitor's copy apart from a
signed-in person's; every other answer of these views says `private, no-cache`.

Without Redis the cache is this process's memory (right for one process; several processes
are left uncached by default, lms/settings/pagecache.py); with Redis unreachable the cache
fails open (lms.cache): each read a fresh version, so every page is rendered live.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from functools import wraps
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Min
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import parse_etags
from django.utils.translation import get_language

from lms.csp import REQUEST_ATTRIBUTE, csp_component_use

View = Callable[..., HttpResponseBase]
# The content version, with the cached values of other keys read in the same round trip.
VersionWith = Callable[[Sequence[str]], tuple[int, dict[str, Any]]]

SAFE_METHODS = frozenset({"GET", "HEAD"})
_PAGE_KEY = "pagecache:page:{}"
_EPOCH_ALL = "pagecache:epoch:all"
_EPOCH_COURSE = "pagecache:epoch:course:{}"
# Epochs outlive the pages they key, as content versions do: a week, refreshed by a bump.
_EPOCH_TIMEOUT = 7 * 24 * 3600
# An entry is a plain tuple (cheap to unpickle): format, stamp, status, headers, body,
# ETag, CSP components. A new format number makes older entries misses.
_FORMAT = 1
# Headers a cached answer gets anew on every hit rather than from the entry.
_OWN_HEADERS = frozenset({"cache-control", "vary", "etag", "expires", "last-modified"})
_VARY = ("Cookie", "Accept-Language")


def anonymous_page(
    *,
    version: VersionWith,
    params: Collection[str] = (),
    course_kwarg: str | None = None,
) -> Callable[[View], View]:
    """Serve `view` to anonymous visitors from the cache (see the module docstring).

    `version`: the content version the page depends on (`catalog_version_with`). `params`:
    the query parameters the page reads (a request with any other, or one given twice, is
    served live). `course_kwarg`: the URL keyword naming the course's slug, for the course's
    own epoch and release times.
    """
    allowed = frozenset(params)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not _cacheable_request(request, allowed):
                return _private(view(request, *args, **kwargs))
            slug = kwargs.get(course_kwarg) if course_kwarg else None
            return _serve(request, view, args, kwargs, version=version, slug=slug)

        return wrapper

    return decorator


# --- The request and the response ------------------------------------------------------------
def _cacheable_request(request: HttpRequest, allowed: frozenset[str]) -> bool:
    if settings.LMS_PAGE_CACHE_SECONDS <= 0 or request.method not in SAFE_METHODS:
        return False
    cookies = request.COOKIES
    if settings.SESSION_COOKIE_NAME in cookies or CookieStorage.cookie_name in cookies:
        return False  # maybe signed in, maybe flash messages waiting: the live page
    if "HTTP_AUTHORIZATION" in request.META:
        return False
    query = request.GET
    return all(key in allowed and len(query.getlist(key)) == 1 for key in query)


def _storable(request: HttpRequest, response: HttpResponseBase) -> bool:
    """Whether the view's answer is the same for every visitor who sends this request."""
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    if response.has_header("Cache-Control"):
        return False  # the view said how its answer is cached
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or getattr(request, "_csp_nonce", None):
        return False  # a form's token or a nonce is this visitor's own
    session = getattr(request, "session", None)
    if session is not None and session.modified:
        return False
    storage = getattr(request, "_messages", None)
    if storage is not None and getattr(storage, "added_new", False):
        return False
    user = getattr(request, "user", None)
    return user is None or not user.is_authenticated


def _serve(
    request: HttpRequest,
    view: View,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    version: VersionWith,
    slug: str | None,
) -> HttpResponseBase:
    epoch_keys = [_EPOCH_ALL] if slug is None else [_EPOCH_ALL, _EPOCH_COURSE.format(slug)]
    key = _page_key(request)
    content_version, found = version([*epoch_keys, key])
    stamp = (content_version, *(found.get(name) for name in epoch_keys))
    entry = found.get(key)
    if entry is not None and None not in stamp and entry[0] == _FORMAT and entry[1] == stamp:
        return _hit(request, entry)
    if None in stamp:
        stamp = (content_version, *_epochs_start(epoch_keys, found))
    response = view(request, *args, **kwargs)
    if not _storable(request, response):
        return _private(response)
    timeout = _timeout(slug)
    content = response.content
    etag = f'"{hashlib.blake2b(content, digest_size=16).hexdigest()}"'
    if timeout > 0:
        headers = tuple(
            (name, value) for name, value in response.items() if name.lower() not in _OWN_HEADERS
        )
        components = tuple(sorted(getattr(request, REQUEST_ATTRIBUTE, ())))
        cache.set(
            key,
            (_FORMAT, stamp, response.status_code, headers, content, etag, components),
            timeout,
        )
    return _public(response, etag)


def _page_key(request: HttpRequest) -> str:
    # The path and query string as sent: pages repeat them (sign-in links come back to them).
    raw = "\n".join(
        (
            get_language() or "",
            request.scheme,
            request.get_host(),
            request.get_full_path(),
        )
    )
    return _PAGE_KEY.format(hashlib.blake2b(raw.encode(), digest_size=16).hexdigest())


def _hit(request: HttpRequest, entry: tuple) -> HttpResponseBase:
    _format, _stamp, status, headers, content, etag, components = entry
    for name in components:  # the CSP sources the page's components need (lms.csp)
        csp_component_use(request, name)
    if etag in parse_etags(request.META.get("HTTP_IF_NONE_MATCH", "")):
        response: HttpResponseBase = HttpResponseNotModified()
    else:
        response = HttpResponse(content, status=status, headers=dict(headers))
    return _public(response, etag)


def _public(response: HttpResponseBase, etag: str) -> HttpResponseBase:
    response["ETag"] = etag
    patch_cache_control(
        response, public=True, max_age=settings.LMS_PAGE_CACHE_MAX_AGE, must_revalidate=True
    )
    patch_vary_headers(response, _VARY)
    return response


def _private(response: HttpResponseBase) -> HttpResponseBase:
    if not response.has_header("Cache-Control"):
        patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, ("Cookie",))
    return response


def _timeout(slug: str | None) -> int:
    """How long this page may be kept: the setting, bounded by the playback tokens it may hold
    (a visitor's player keeps half their life at least) and, for a course's pages, by the
    next instant one of its sections opens (the page then shows it open)."""
    seconds = min(settings.LMS_PAGE_CACHE_SECONDS, settings.LMS_PLAYBACK_TOKEN_TTL // 2)
    if slug is None:
        return seconds
    now = timezone.now()
    upcoming = (
        apps.get_model("catalog", "Section")
        .objects.filter(course__slug=slug, release_at__gt=now)
        .aggregate(first=Min("release_at"))["first"]
    )
    if upcoming is not None:
        seconds = min(seconds, int((upcoming - now).total_seconds()))
    return seconds


# --- Epochs ---------------------------------------------------------------------------------
def _fresh() -> int:
    # As catalog.outline.versions: larger than any count a previous life of the cache reached.
    return time.time_ns() // 1000


def _epochs_start(keys: list[str], found: dict[str, Any]) -> tuple[int, ...]:
    values = []
    for key in keys:
        value = found.get(key)
        if value is None:
            value = _fresh()
            if not cache.add(key, value, _EPOCH_TIMEOUT):  # another process was first
                value = cache.get(key) or value
        values.append(value)
    return tuple(values)


def _bump(keys: Iterable[str]) -> None:
    for key in keys:
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, _fresh(), _EPOCH_TIMEOUT)


def pages_changed(*, course_slugs: Iterable[str] | None = None) -> None:
    """Something anonymous pages show changed: these courses' pages, or every page (None).
    Bumped now and again after commit, as content versions are."""
    keys = [_EPOCH_ALL] if course_slugs is None else [_EPOCH_COURSE.format(s) for s in course_slugs]
    _bump(keys)
    transaction.on_commit(lambda: _bump(keys))


# --- What anonymous pages show besides course content ---------------------------------------
# Course content (courses, sections, lessons, their order and rules) bumps the content
# version. The rest is here, by model label so that `lms` imports no app: changes to these
# bump every page's epoch ...
_EVERY_PAGE = ("billing.Tier", "billing.Plan", "media.Video", "media.StoredFile")
# ... to these, one course's pages (the attribute path from the row to its course) ...
_COURSE_PAGES = {
    "progress.Enrollment": ("course",),  # the learner count
    "community.Announcement": ("course",),
    "community.Thread": ("lesson", "course"),  # a lesson page's discussion
    "community.Reply": ("thread", "lesson", "course"),
}
# ... and an instructor's or a discussion author's public name, picture and bio: every page.
_USER_PUBLIC_FIELDS = frozenset({"display_name", "bio", "avatar", "avatar_thumbnail", "deleted_at"})


def _every_page_changed(**kwargs: Any) -> None:
    pages_changed()


def _course_pages_changed(*, sender: type, instance: Any, signal: Any, **kwargs: Any) -> None:
    label = sender._meta.label
    if label == "progress.Enrollment" and signal is post_save and not _counted(**kwargs):
        return  # a lesson opened, a completion: not the learner count
    target = instance
    try:
        for name in _COURSE_PAGES[label]:
            target = getattr(target, name)
    except ObjectDoesNotExist:  # its course is being deleted: that bumps the catalog
        return
    pages_changed(course_slugs=[target.slug])


def _counted(*, created: bool, update_fields: Collection[str] | None = None, **kwargs: Any) -> bool:
    """Whether an enrollment's save may change its course's count of active learners."""
    return created or update_fields is None or "unenrolled_at" in update_fields


def _user_changed(
    *, instance: Any, created: bool, update_fields: Collection[str] | None = None, **kwargs: Any
) -> None:
    # A new account is shown nowhere yet; a sign-in saves last_login alone; and someone who
    # neither teaches nor has posted in a discussion is shown on no visitor's page (sign-up
    # and profile edits of learners, the usual saves, keep every cached page).
    if created or (update_fields is not None and not _USER_PUBLIC_FIELDS & set(update_fields)):
        return
    if _shown_on_pages(instance):
        pages_changed()


def _shown_on_pages(user: Any) -> bool:
    """Whether this person's name or picture is on a page visitors may see."""
    if (
        apps.get_model("catalog", "Course")
        .instructors.through.objects.filter(user_id=user.pk)
        .exists()
    ):
        return True
    return any(
        apps.get_model(label).objects.filter(author_id=user.pk).exists()
        for label in ("community.Thread", "community.Reply")
    )


def _instructors_changed(*, action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        pages_changed()


def receivers_connect() -> None:
    """Connect the receivers above (from LmsConfig.ready, once every model is loaded)."""
    uid = "lms.pagecache"
    for label in _EVERY_PAGE:
        model = apps.get_model(label)
        post_save.connect(_every_page_changed, sender=model, dispatch_uid=f"{uid}.save.{label}")
        post_delete.connect(_every_page_changed, sender=model, dispatch_uid=f"{uid}.del.{label}")
    for label in _COURSE_PAGES:
        model = apps.get_model(label)
        post_save.connect(_course_pages_changed, sender=model, dispatch_uid=f"{uid}.save.{label}")
        post_delete.connect(_course_pages_changed, sender=model, dispatch_uid=f"{uid}.del.{label}")
    user = apps.get_model(settings.AUTH_USER_MODEL)
    post_save.connect(_user_changed, sender=user, dispatch_uid=f"{uid}.save.user")
    post_delete.connect(_every_page_changed, sender=user, dispatch_uid=f"{uid}.del.user")
    through = apps.get_model("catalog", "Course").instructors.through
    m2m_changed.connect(_instructors_changed, sender=through, dispatch_uid=f"{uid}.instructors")
