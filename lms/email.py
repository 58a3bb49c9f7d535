"""Email: rendered in the request that causes it, delivered by a Celery task with retries.

Every email of the site (allauth's through `accounts.adapters`, invites, billing) goes
through `email_send_template` or `email_queue`, never `send_mail` directly.
"""

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string


def email_queue(*, message: EmailMessage) -> None:
    """Queue an already rendered message for delivery once the transaction commits."""
    from lms.tasks import email_deliver

    payload = {
        "subject": message.subject,
        "body": message.body,
        "from_email": message.from_email or settings.DEFAULT_FROM_EMAIL,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": dict(message.extra_headers),
        "alternatives": [
            [content, mimetype] for content, mimetype in getattr(message, "alternatives", [])
        ],
    }
    transaction.on_commit(lambda: email_deliver.delay(payload=payload))


def email_send_template(*, to: list[str] | str, template_prefix: str, context: dict) -> None:
    """Render `<prefix>_subject.txt`, `<prefix>_message.txt` and `<prefix>_message.html`."""
    recipients = [to] if isinstance(to, str) else list(to)
    context = {"site_name": settings.SITE_NAME, **context}
    subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template_prefix}_message.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(
        render_to_string(f"{template_prefix}_message.html", context), "text/html"
    )
    email_queue(message=message)


def email_build(payload: dict) -> EmailMultiAlternatives:
    """The message `email_queue` serialized, ready to send."""
    message = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["body"],
        from_email=payload["from_email"],
        to=payload["to"],
        cc=payload.get("cc") or None,
        bcc=payload.get("bcc") or None,
        reply_to=payload.get("reply_to") or None,
        headers=payload.get("headers") or None,
    )
    for content, mimetype in payload.get("alternatives", []):
        message.attach_alternative(content, mimetype)
    return message
