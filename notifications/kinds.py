"""The registry of notification kinds: one entry per kind, and nothing else to change.

A kind is what a learner chooses email delivery for on the preferences page (replies,
mentions, announcements, ...). An app adds its own in its `AppConfig.ready` with
`kind_register("quiz_graded", label=_("Quiz graded"))`, and sends with
`notification_send(kind="quiz_graded", ...)`. This app registers the kinds of issue 13 itself
(`NotificationsConfig.ready`), so senders lower in the start-up order never find one missing.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Delivery:
    """How the learner wants a kind's notifications by email (always shown in-app)."""

    IMMEDIATELY = "immediately"
    DAILY = "daily"
    WEEKLY = "weekly"
    OFF = "off"

    CHOICES = [
        (IMMEDIATELY, _("Immediately")),
        (DAILY, _("Daily digest")),
        (WEEKLY, _("Weekly digest")),
        (OFF, _("Off (in-app only)")),
    ]
    DIGESTS = (DAILY, WEEKLY)


@dataclass(frozen=True)
class Kind:
    key: str
    label: str | Promise
    # False: in-app only, never emailed (another email already tells the learner).
    email: bool = True
    default: str = Delivery.IMMEDIATELY
    description: str | Promise = ""


_kinds: dict[str, Kind] = {}


def kind_register(
    key: str,
    *,
    label: str | Promise,
    email: bool = True,
    default: str = Delivery.IMMEDIATELY,
    description: str | Promise = "",
) -> Kind:
    """Add (or, registered again, replace) the kind `key`; returns it."""
    if not key or len(key) > 40 or not key.replace("_", "").isalnum() or key != key.lower():
        raise ValueError(f"A kind key is lower_snake, at most 40 characters: {key!r}")
    if default not in dict(Delivery.CHOICES):
        raise ValueError(f"Unknown default delivery {default!r} for kind {key!r}")
    kind = Kind(
        key=key,
        label=label,
        email=email,
        default=default if email else Delivery.OFF,
        description=description,
    )
    _kinds[key] = kind
    return kind


def kind_get(key: str) -> Kind:
    """The registered kind `key`; KeyError for one nobody registered (a programming error)."""
    try:
        return _kinds[key]
    except KeyError:
        raise KeyError(f"Notification kind {key!r} is not registered (kind_register)") from None


def kinds_all() -> list[Kind]:
    """Every registered kind, in registration order."""
    return list(_kinds.values())


def kinds_emailed() -> list[Kind]:
    """The kinds a learner can choose email delivery for (the preferences page)."""
    return [kind for kind in _kinds.values() if kind.email]


def kinds_register_builtin() -> None:
    """The kinds of issue 13. Later features register theirs in their own AppConfig.ready."""
    kind_register(
        "reply",
        label=_("Replies to my posts"),
        description=_("Someone replied in a discussion thread you started or posted in."),
    )
    kind_register(
        "mention",
        label=_("Mentions"),
        description=_("Someone mentioned you with @ in a discussion or chat."),
    )
    kind_register(
        "announcement",
        label=_("Course announcements"),
        description=_("An instructor posted an announcement in one of your courses."),
    )
    kind_register(
        "certificate",
        label=_("Certificates"),
        description=_("You earned a certificate for completing a course."),
    )
    # Billing already emails about a failed payment (billing/email/payment_failed): the
    # notification is the in-app side of it, so the learner never gets the same news twice.
    kind_register(
        "payment_problem",
        label=_("Payment problems"),
        email=False,
        description=_("A payment for your subscription failed (billing emails you about it)."),
    )
    # issue 17: a scheduled section of a course opened for the learner
    # (`progress.cohorts.releases`, a beat task: once per learner and section).
    kind_register(
        "section_released",
        label=_("Sections opening"),
        description=_("A scheduled section of one of your courses has opened for you."),
    )
