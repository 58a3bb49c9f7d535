"""Every write of notifications: sending (one or many), read state, preferences, unsubscribe,
immediate emails and digests.

Any app above `accounts` may send: `notification_send(user=..., kind="reply", title=...,
url=..., source=f"reply:{post.pk}")`. Sending is idempotent per user and `source`, never
raises for a recipient who cannot get it (inactive, or the actor themselves: None), and
emails by the recipient's preference for the kind: at once (an outbox row in the same
transaction, sent after commit), in the daily or weekly digest, or not at all.
"""

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from lms.errors import ApplicationError, ErrorCode, NotFoundError
from notifications.kinds import Delivery, kind_get, kinds_emailed
from notifications.models import Digest, Notification, NotificationPreference
from notifications.selectors import notification_preferences_get

logger = logging.getLogger(__name__)

# Fan-out (`notifications_send_many`) writes this many notifications per INSERT; the email
# tasks and the digest beat task take this many per run and re-queue themselves for the rest.
SEND_BATCH = 500
EMAIL_BATCH = 200
DIGEST_USER_BATCH = 200
# A digest lists this many notifications; it counts the rest and links to the list page.
DIGEST_MAX_LISTED = 50
# An immediate email still unsent this long after its notification (its task never ran:
# the broker was down) is sent by the sweep.
EMAIL_SWEEP_AFTER = timedelta(minutes=2)

_TITLE_MAX = Notification._meta.get_field("title").max_length
_URL_MAX = Notification._meta.get_field("url").max_length
_SOURCE_MAX = Notification._meta.get_field("source").max_length


# --- Sending ---------------------------------------------------------------------------------


def _can_receive(user: User | None, actor: User | None) -> bool:
    # Nobody is told about their own action (replying in their own thread).
    if user is None or user.pk is None or not user.is_active:
        return False
    return actor is None or actor.pk != user.pk


def _fields(*, kind: str, title: str, body: str, url: str, actor: User | None, source: str):
    if not source or len(source) > _SOURCE_MAX:
        raise ValueError(f"A notification source is 1 to {_SOURCE_MAX} characters: {source!r}")
    return {
        "kind": kind,
        "title": title[:_TITLE_MAX],
        "body": body,
        "url": url if len(url) <= _URL_MAX else "",  # a cut address leads nowhere
        "actor": actor,
        "source": source,
    }


def notification_send(
    *,
    user: User,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    actor: User | None = None,
    source: str,
) -> Notification | None:
    """Tell `user` about something, once per `source`; the notification, or None when the
    user cannot receive it (inactive, unsaved, or the actor themselves).

    Sending the same source again returns the first notification and emails nothing more.
    With the preference "immediately" for `kind`, the email is an outbox row of this
    transaction, delivered after commit; with a digest it waits for the digest's beat task.
    `kind` must be registered (`notifications.kinds.kind_register`): KeyError otherwise.
    """
    registered = kind_get(kind)
    if not _can_receive(user, actor):
        return None
    fields = _fields(kind=kind, title=title, body=body, url=url, actor=actor, source=source)
    delivery = notification_preferences_get(user=user, kinds=[registered])[kind]
    with transaction.atomic():
        notification, created = Notification.objects.get_or_create(
            user=user, source=source, defaults={**fields, "email_delivery": delivery}
        )
        if created and delivery == Delivery.IMMEDIATELY:
            _email_immediately(notification=notification)
    return notification


def _batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def notifications_send_many(
    *,
    users: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    actor: User | None = None,
    source: str,
) -> int:
    """`notification_send` to many users (an announcement to a course's learners): one
    INSERT per SEND_BATCH users, immediate emails sent by a task after commit, in batches.

    Idempotent per user and `source` as one by one: running it again adds nobody twice.
    `users` may be a queryset (read in chunks). Returns how many users could receive it
    (active, not the actor), counting those an earlier run already told.
    """
    registered = kind_get(kind)
    fields = _fields(kind=kind, title=title, body=body, url=url, actor=actor, source=source)
    if isinstance(users, Iterable) and hasattr(users, "iterator"):
        users = users.iterator(chunk_size=SEND_BATCH)
    recipients = 0
    for batch in _batched(users, SEND_BATCH):
        batch = [user for user in batch if _can_receive(user, actor)]
        stored = dict(
            NotificationPreference.objects.filter(user__in=batch, kind=kind).values_list(
                "user_id", "delivery"
            )
        )
        rows = [
            Notification(
                user=user,
                email_delivery=(
                    stored.get(user.pk, registered.default) if registered.email else Delivery.OFF
                ),
                **fields,
            )
            for user in batch
        ]
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        recipients += len(rows)
    if registered.email and recipients:
        transaction.on_commit(lambda: _emails_publish(source=source))
    return recipients


def _emails_publish(*, source: str) -> None:
    from notifications.tasks import notification_emails_send

    try:
        notification_emails_send.delay(source=source)
    except Exception as error:  # the broker's many errors: the sweep sends them later
        logger.warning("Could not queue notification emails for %s (%s)", source, error)


# --- Read state ------------------------------------------------------------------------------


def notification_get_for(*, user: User, notification_id: UUID | str) -> Notification:
    """The user's notification `notification_id`; another user's is NOTIFICATION_NOT_FOUND,
    like one that does not exist."""
    notification = (
        Notification.objects.filter(user=user, pk=notification_id).select_related("actor").first()
    )
    if notification is None:
        raise NotFoundError(ErrorCode.NOTIFICATION_NOT_FOUND)
    return notification


def notification_mark_read(*, user: User, notification_id: UUID | str) -> Notification:
    """Mark one of the user's notifications read (again: unchanged, first time kept)."""
    notification = notification_get_for(user=user, notification_id=notification_id)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of the user read; returns how many there were."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


# --- Preferences and unsubscribe -------------------------------------------------------------


@transaction.atomic
def notification_preferences_set(*, user: User, deliveries: dict[str, str]) -> dict[str, str]:
    """Set the email delivery of some kinds (`{kind: delivery}`); returns every kind's.

    An unknown kind, or one never emailed, is NOTIFICATION_KIND_UNKNOWN; an unknown delivery
    VALIDATION_ERROR. Notifications waiting for a digest follow the new choice: "off" drops
    them from it, the other digest moves them there; "immediately" leaves them in their
    digest (what was not sent at once is not sent late one by one).
    """
    emailed = {kind.key for kind in kinds_emailed()}
    unknown = sorted(key for key in deliveries if key not in emailed)
    if unknown:
        raise ApplicationError(
            ErrorCode.NOTIFICATION_KIND_UNKNOWN,
            fields={key: ["There is no notification kind with this name."] for key in unknown},
        )
    valid = dict(Delivery.CHOICES)
    wrong = sorted(key for key, delivery in deliveries.items() if delivery not in valid)
    if wrong:
        choices = ", ".join(valid)
        raise ApplicationError(
            ErrorCode.VALIDATION_ERROR,
            fields={key: [f"Choose one of: {choices}."] for key in wrong},
        )
    for kind, delivery in deliveries.items():
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"delivery": delivery}
        )
        if delivery != Delivery.IMMEDIATELY:
            Notification.objects.filter(
                user=user,
                kind=kind,
                emailed_at__isnull=True,
                email_delivery__in=Delivery.DIGESTS,
            ).update(email_delivery=delivery)
    return notification_preferences_get(user=user)


def notifications_unsubscribe(*, user: User, kind: str | None) -> dict[str, str]:
    """Stop the emails of one kind (or, None, of every kind) for the user: "off". They
    still see the notifications in-app; the preferences page turns email on again."""
    kinds = [kind] if kind else [item.key for item in kinds_emailed()]
    deliveries = {key: Delivery.OFF for key in kinds}
    return notification_preferences_set(user=user, deliveries=deliveries)


# --- Immediate emails ------------------------------------------------------------------------


def _email_immediately(*, notification: Notification) -> None:
    """Queue the email of one notification (the caller holds its row) and mark it emailed."""
    from notifications.emails import notification_email_queue

    user = notification.user
    if not user.is_active or not user.email:
        Notification.objects.filter(pk=notification.pk).update(email_delivery=Delivery.OFF)
        return
    notification_email_queue(notification=notification)
    notification.emailed_at = timezone.now()
    Notification.objects.filter(pk=notification.pk).update(emailed_at=notification.emailed_at)


def notification_email_send(*, notification_id: UUID | str) -> bool:
    """Send the immediate email of one notification unless it went already; whether it was
    queued now. Safe to run twice, and at once: the row is locked."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("user", "actor")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.emailed_at is not None:
            return False
        if notification.email_delivery != Delivery.IMMEDIATELY:
            return False
        _email_immediately(notification=notification)
        return notification.emailed_at is not None


def notification_emails_pending(
    *, source: str | None = None, older_than: timedelta | None = None, limit: int = EMAIL_BATCH
) -> list[UUID]:
    """Ids of notifications whose immediate email has not gone yet (of `source`, or created
    more than `older_than` ago), oldest first, at most `limit`."""
    pending = Notification.objects.filter(
        email_delivery=Delivery.IMMEDIATELY, emailed_at__isnull=True
    )
    if source is not None:
        pending = pending.filter(source=source)
    if older_than is not None:
        pending = pending.filter(created_at__lt=timezone.now() - older_than)
    return list(pending.order_by("created_at").values_list("pk", flat=True)[:limit])


# --- Digests ---------------------------------------------------------------------------------


def digest_period_bounds(*, period: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last whole period before `now`: the 24 hours up to the last LMS_DIGEST_HOUR
    o'clock (UTC) for "daily", the week up to the last Monday at that hour for "weekly"."""
    now = (now or timezone.now()).astimezone(UTC)
    anchor = now.replace(hour=settings.LMS_DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if anchor > now:
        anchor -= timedelta(days=1)
    if period == Delivery.DAILY:
        return anchor - timedelta(days=1), anchor
    if period == Delivery.WEEKLY:
        end = anchor - timedelta(days=anchor.weekday())
        return end - timedelta(days=7), end
    raise ValueError(f"Unknown digest period {period!r}")


def _digest_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    # The period, and the one before it: notifications a missed run left behind come in the
    # next digest (never twice: a sent one is marked emailed).
    return start - (end - start), end


def _digest_pending(*, period: str, start: datetime, end: datetime):
    since, until = _digest_window(start, end)
    return Notification.objects.filter(
        email_delivery=period,
        emailed_at__isnull=True,
        created_at__gte=since,
        created_at__lt=until,
    )


def digest_users_pending(
    *, period: str, start: datetime, end: datetime, after_user_id: str = "", limit: int
) -> list[UUID]:
    """The users with notifications waiting for this period's digest, by id after
    `after_user_id`, at most `limit` (a batch of the beat task)."""
    pending = _digest_pending(period=period, start=start, end=end)
    if after_user_id:
        pending = pending.filter(user_id__gt=after_user_id)
    return list(pending.order_by("user_id").values_list("user_id", flat=True).distinct()[:limit])


def digest_send(
    *, user_id: UUID | str, period: str, start: datetime, end: datetime
) -> Digest | None:
    """Send the user's digest of one period: one email listing the notifications waiting
    for it, once; the digest this call sent, or None when it sent nothing (sent already,
    nothing waiting, an inactive or unknown user, no email address).

    The digest row (unique user, period, start) is created first in this transaction: a
    second run finds it, and a concurrent one waits on the unique index until this one
    commits, then finds it; neither sends anything."""
    from notifications.emails import digest_email_queue

    with transaction.atomic():
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            return None
        digest, created = Digest.objects.get_or_create(
            user=user, period=period, period_start=start, defaults={"period_end": end}
        )
        if not created:
            return None
        pending = _digest_pending(period=period, start=start, end=end).filter(user=user)
        items = list(
            pending.select_for_update(of=("self",)).select_related("actor").order_by("created_at")
        )
        if not items:
            return None
        now = timezone.now()
        Notification.objects.filter(pk__in=[item.pk for item in items]).update(
            emailed_at=now, digest=digest
        )
        digest.item_count = len(items)
        if user.email:
            digest.email_id = digest_email_queue(digest=digest, items=items).pk
        digest.save(update_fields=["item_count", "email_id"])
    return digest if digest.email_id else None
