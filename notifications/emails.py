"""The emails of notifications: one at once, or a digest; both with one-click unsubscribe.

Links in emails are absolute from `SITE_URL` (they are rendered by services and workers,
outside any request). Each email carries a signed unsubscribe link (no sign-in needed: the
signature is the proof) in its footer and in the `List-Unsubscribe` header, with
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058), so mail clients show their
own "Unsubscribe" button and may post to it without opening a page.
"""

from dataclasses import dataclass
from urllib.parse import urljoin

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User
from lms.email import email_layout_context, email_queue
from lms.models import OutboundEmail
from notifications.kinds import kind_get
from notifications.models import Digest, Notification

_UNSUBSCRIBE_SALT = "notifications.unsubscribe"
ALL_KINDS = "*"


@dataclass(frozen=True)
class Unsubscribe:
    user: User
    kind: str | None  # None: every kind


def unsubscribe_token(*, user: User, kind: str | None) -> str:
    """A signed token naming the user and the kind (or every kind); it never expires."""
    return signing.dumps({"u": str(user.pk), "k": kind or ALL_KINDS}, salt=_UNSUBSCRIBE_SALT)


def unsubscribe_read(token: str) -> Unsubscribe | None:
    """Who and what a token unsubscribes; None when it was tampered with, or names a user
    or kind that no longer exists."""
    try:
        data = signing.loads(token, salt=_UNSUBSCRIBE_SALT)
        user_id, kind = str(data["u"]), str(data["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    user = User.objects.filter(pk=user_id).first() if _is_uuid(user_id) else None
    if user is None:
        return None
    if kind == ALL_KINDS:
        return Unsubscribe(user=user, kind=None)
    try:
        if not kind_get(kind).email:
            return None
    except KeyError:
        return None
    return Unsubscribe(user=user, kind=kind)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def absolute_url(path: str) -> str:
    return urljoin(settings.SITE_URL, path) if path else ""


def unsubscribe_url(*, user: User, kind: str | None) -> str:
    token = unsubscribe_token(user=user, kind=kind)
    return absolute_url(reverse("notifications:unsubscribe", args=[token]))


def _message(
    *, user: User, template_prefix: str, context: dict, unsubscribe: str
) -> EmailMultiAlternatives:
    context = {
        **email_layout_context(),
        "user": user,
        "unsubscribe_url": unsubscribe,
        "preferences_url": absolute_url(reverse("notifications:preferences")),
        **context,
    }
    subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template_prefix}_message.txt", context).strip(),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(
        render_to_string(f"{template_prefix}_message.html", context), "text/html"
    )
    return message


def notification_email_queue(*, notification: Notification) -> OutboundEmail:
    """The email of one notification, in the outbox (once: keyed by the notification)."""
    user = notification.user
    message = _message(
        user=user,
        template_prefix="notifications/email/notification",
        context={
            "notification": notification,
            "kind": kind_get(notification.kind),
            "notification_url": absolute_url(notification.url),
        },
        unsubscribe=unsubscribe_url(user=user, kind=notification.kind),
    )
    return email_queue(message=message, idempotency_key=f"notification:{notification.pk}")


def digest_email_queue(*, digest: Digest, items: list[Notification]) -> OutboundEmail:
    """The digest email listing `items`, in the outbox (once: keyed by the digest row)."""
    from notifications.services import DIGEST_MAX_LISTED

    user = digest.user
    listed = [
        {"notification": item, "url": absolute_url(item.url), "kind": kind_get(item.kind)}
        for item in items[:DIGEST_MAX_LISTED]
    ]
    message = _message(
        user=user,
        template_prefix="notifications/email/digest",
        context={
            "digest": digest,
            "items": listed,
            "more": max(0, len(items) - DIGEST_MAX_LISTED),
            "count": len(items),
            "list_url": absolute_url(reverse("notifications:list")),
        },
        unsubscribe=unsubscribe_url(user=user, kind=None),
    )
    return email_queue(message=message, idempotency_key=f"notification-digest:{digest.pk}")
