"""Staff and instructors set up two-factor authentication before they use the admin."""

import time
from collections.abc import Callable

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _


class AdminRequiresMFAMiddleware:
    """With `LMS_ADMIN_REQUIRE_MFA`, an admin page opened by a staff-status user (staff or
    instructor) without an authenticator app (allauth TOTP) redirects to allauth's setup
    page, with `?next=` back to it. Signing out of the admin stays open.

    Allauth then asks for the code at every sign-in, so the admin is only reached with it.
    The setting is read per request, so tests can switch it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.LMS_ADMIN_REQUIRE_MFA and self._needs_setup(request):
            messages.warning(
                request,
                _("Set up an authenticator app before you use the admin."),
                fail_silently=True,
            )
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('mfa_activate_totp')}?{query}")
        return self.get_response(request)

    def _needs_setup(self, request: HttpRequest) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff:
            return False
        if not request.path.startswith(reverse("admin:index")):
            return False
        if request.path == reverse("admin:logout"):
            return False
        return not is_mfa_enabled(user, [Authenticator.Type.TOTP])


class SessionActivityMiddleware:
    """Keep each signed-in session's "last seen" (allauth usersessions) fresh, cheaply.

    Allauth's own tracking writes on every request; this writes at most once per
    `LMS_SESSION_ACTIVITY_INTERVAL` seconds per session, remembering the last write in the
    session itself, so an ordinary page view costs no query at all.
    """

    SESSION_KEY = "_lms_activity_seen_at"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and session.session_key and user and user.is_authenticated:
            seen_at = session.get(self.SESSION_KEY, 0)
            if time.time() - seen_at >= settings.LMS_SESSION_ACTIVITY_INTERVAL:
                UserSession.objects.create_from_request(request)
                self.mark_seen(session)
        return self.get_response(request)

    @classmethod
    def mark_seen(cls, session) -> None:
        session[cls.SESSION_KEY] = int(time.time())
