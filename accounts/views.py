"""The profile page: name, time zone, picture, and the sessions signed in to this account;
deleting the account (/profile/delete/); and allauth's "too many requests" answer in the
site's words (`handler429`)."""

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from accounts.deletion import user_account_delete, user_deletion_blockers
from accounts.forms import AccountDeleteForm, ProfileForm
from accounts.personal_data import personal_data_sections
from accounts.selectors import user_sessions_list
from accounts.services import (
    user_avatar_remove,
    user_avatar_set,
    user_profile_update,
    user_session_revoke,
)
from lms.errors import ApplicationError, ErrorCode
from lms.http import client_ip
from lms.views import error_page

RESEND_TOO_SOON = gettext_lazy(
    "You asked for a new code a moment ago. Wait a few seconds and ask again; the code we "
    "sent before still works until then."
)


def rate_limited(request: HttpRequest) -> HttpResponse:
    """allauth's rate limits in the browser (`handler429`, which allauth looks up in the URL
    conf). A new verification code asked for too soon returns to the code page, which says
    so; anything else gets the site's 429 page instead of allauth's bare one."""
    code_page = reverse("account_email_verification_sent")
    resend = request.method == "POST" and request.POST.get("action") == "resend"
    if resend and request.path == code_page:
        messages.error(request, RESEND_TOO_SOON)
        return redirect(code_page)
    return error_page(request, ErrorCode.THROTTLED)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                # All or nothing: a bad picture also leaves the name and time zone unchanged.
                with transaction.atomic():
                    user_profile_update(
                        user=user,
                        display_name=form.cleaned_data["display_name"],
                        bio=form.cleaned_data["bio"],
                        time_zone=form.cleaned_data["time_zone"],
                    )
                    if form.cleaned_data["avatar"]:
                        user_avatar_set(user=user, upload=form.cleaned_data["avatar"])
            except ValidationError as exc:
                user.refresh_from_db()
                form.add_error(None, exc)
            else:
                messages.success(request, _("Your profile is saved."))
                return redirect("accounts:profile")
    else:
        form = ProfileForm(
            initial={
                "display_name": user.display_name,
                "bio": user.bio,
                "time_zone": user.time_zone,
            }
        )
    context = {
        "form": form,
        "sessions": user_sessions_list(user=user),
        "current_session_key": request.session.session_key,
    }
    # A form re-rendered with its errors is a refused request, as on every form of ours
    # (invites, join codes, quizzes): 400, so clients, tests and monitoring can tell.
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "accounts/profile.html", context, status=status)


@require_POST
@login_required
def avatar_remove(request: HttpRequest) -> HttpResponse:
    user_avatar_remove(user=request.user)
    messages.success(request, _("Your picture is removed."))
    return redirect("accounts:profile")


@require_POST
@login_required
def session_revoke(request: HttpRequest, session_id: int) -> HttpResponse:
    # Someone else's session id is a 404 (NotFoundError), like an unknown one.
    session = user_session_revoke(user=request.user, session_id=session_id)
    if session.session_key == request.session.session_key:
        # The page offers "Sign out" for this device, but a revoked current session is
        # the same thing; finish it properly.
        logout(request)
        return redirect("account_login")
    messages.success(request, _("That session is signed out."))
    return redirect("accounts:profile")


def _reauthentication_by_allauth(request: HttpRequest) -> bool:
    # With a password, the form asks for it; without one (a Google sign-in), allauth's
    # reauthentication flow decides (a two-factor code when the account has one).
    return request.user.is_authenticated and not request.user.has_usable_password()


@login_required
@reauthentication_required(allow_get=True, enabled=_reauthentication_by_allauth)
def account_delete(request: HttpRequest) -> HttpResponse:
    """Delete my account: a clear warning, the consequences per part of the data, and a
    confirmation (email typed out, password). Deleted, the user is signed out everywhere."""
    user = request.user
    blockers = user_deletion_blockers(user=user)
    form = AccountDeleteForm(request.POST or None, user=user)
    status = 200
    if request.method == "POST":
        status = 400
        if blockers:
            status = 409
        elif form.is_valid():
            try:
                user_account_delete(user=user, ip_address=client_ip(request))
            except ApplicationError as error:
                form.add_error(None, error.message)
                status = error.status
            else:
                logout(request)
                return redirect("accounts:deleted")
    context = {"form": form, "blockers": blockers, "sections": personal_data_sections()}
    return render(request, "accounts/delete.html", context, status=status)


@require_safe
def account_deleted(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/deleted.html")
