"""Thin receivers that hand signals from Django and allauth to our services."""

from allauth.account.authentication import get_authentication_records
from allauth.account.signals import user_logged_in
from allauth.usersessions.models import UserSession
from django.contrib.auth.signals import user_logged_in as django_user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.middleware import SessionActivityMiddleware
from accounts.models import AuditLog, User
from accounts.roles import Role, user_role_get
from accounts.services import audit_record
from lms.http import client_ip


@receiver(user_logged_in, dispatch_uid="accounts.staff_login_audited")
def staff_login_audited(sender, *, request: HttpRequest, user: User, **kwargs) -> None:
    """Every sign-in of staff or an instructor goes to the audit log.

    allauth's signal, not Django's: every interactive sign-in (password, code, Google, the
    app API, and the admin's login, which sends people to allauth) goes through allauth,
    while Django's would also fire for the test client's `force_login`.
    """
    role = user_role_get(user)
    if role == Role.LEARNER:
        return
    methods = [record.get("method") for record in get_authentication_records(request, user)]
    audit_record(
        action=AuditLog.Action.STAFF_LOGIN,
        actor=user,
        target=user,
        ip_address=client_ip(request),
        details={"role": role.value, "methods": list(dict.fromkeys(methods))},
    )


@receiver(django_user_logged_in, dispatch_uid="accounts.session_activity_started")
def session_activity_started(sender, *, request: HttpRequest | None, user: User, **kwargs) -> None:
    """Every sign-in, whatever its path, is a session the user can list and revoke; it counts
    as activity just seen, so `SessionActivityMiddleware` writes nothing until its interval
    has passed."""
    if request is None or not hasattr(request, "session"):
        return
    if not request.session.session_key:
        request.session.save()
    UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            # The unspecified address for sign-ins outside an HTTP request (the test client's
            # force_login, scripts): allauth's model needs one.
            "ip": client_ip(request) or "0.0.0.0",  # noqa: S104 - stored, not bound
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
        },
    )
    SessionActivityMiddleware.mark_seen(request.session)
