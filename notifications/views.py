"""Notification pages: the list (open one, mark all read), email preferences, unsubscribe."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from lms.errors import ApplicationError
from lms.paging import page_get
from notifications.emails import unsubscribe_read
from notifications.forms import PreferencesForm
from notifications.kinds import kind_get
from notifications.selectors import notification_preferences_rows, notifications_for
from notifications.services import (
    notification_mark_read,
    notification_preferences_set,
    notifications_mark_all_read,
    notifications_unsubscribe,
)

PAGE_SIZE = 20


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    page = page_get(request=request, items=notifications_for(user=request.user), per_page=PAGE_SIZE)
    return render(
        request,
        "notifications/list.html",
        {
            "page": page,
            "notifications": page.object_list,
            "page_numbers": page.numbers,
        },
    )


@require_POST
@login_required
def notification_open(request: HttpRequest, notification_id) -> HttpResponse:
    """Mark the notification read and go where it points (another user's: 404)."""
    notification = notification_mark_read(user=request.user, notification_id=notification_id)
    target = notification.url
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("notifications:list")


@require_POST
@login_required
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = notifications_mark_all_read(user=request.user)
    if count:
        messages.success(request, _("All notifications marked as read."))
    return redirect("notifications:list")


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    rows = notification_preferences_rows(user=request.user)
    form = PreferencesForm(request.POST or None, rows=rows)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                notification_preferences_set(user=request.user, deliveries=form.cleaned_data)
            except ApplicationError as error:
                for field, errors in error.fields.items():
                    for message in errors:
                        form.add_error(field if field in form.fields else None, message)
            else:
                messages.success(request, _("Your email preferences are saved."))
                return redirect("notifications:preferences")
        status = 400
    return render(request, "notifications/preferences.html", {"form": form}, status=status)


# The token in the address is the proof (signed, for one user and kind): no sign-in, and no
# CSRF token, since mail providers post RFC 8058 one-click requests without one.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page asking to confirm. POST (the page's button, or a mail client's
    `List-Unsubscribe=One-Click`): turn the emails off, say so."""
    target = unsubscribe_read(token)
    if target is None:
        return render(request, "notifications/unsubscribe_invalid.html", status=400)
    kind = kind_get(target.kind) if target.kind else None
    context = {"kind": kind, "token": token}
    if request.method == "POST":
        notifications_unsubscribe(user=target.user, kind=target.kind)
        return render(request, "notifications/unsubscribe_done.html", context)
    return render(request, "notifications/unsubscribe_confirm.html", context)
