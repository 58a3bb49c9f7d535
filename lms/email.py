"""Email: rendered in the request that causes it, delivered by a Celery task with retries.

Every email of the site (allauth's through `accounts.adapters`, invites, billing) goes
through `email_send_template` or `email_queue`, never `send_mail` directly, so that a slow
or failing mail server never holds up a request and a transient failure is retried.

Messages are rendered where the data is (templates may use models and the request) and
travel to the worker as a JSON payload: the task never reads the database.
"""

import base64
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string

# Email has its own Celery queue, so a backlog of webhooks never delays a sign-in code.
EMAIL_QUEUE = "email"


def email_layout_context(*, request: HttpRequest | None = None) -> dict[str, str]:
    """What the shared layout (`templates/email/base.*`) shows: the school's name and address
    (the request's, or `SITE_URL` for emails sent by workers)."""
    site_url = request.build_absolute_uri("/") if request is not None else settings.SITE_URL
    return {
        "site_name": settings.SITE_NAME,
        "site_url": site_url,
        "site_domain": urlsplit(site_url).netloc,
    }


def email_queue(*, message: EmailMessage) -> None:
    """Queue an already rendered message for delivery once the transaction commits.

    Nothing is sent if the transaction rolls back: an email never announces data that was
    not saved.
    """
    from lms.tasks import email_deliver

    payload = email_payload(message)
    transaction.on_commit(
        lambda: email_deliver.apply_async(kwargs={"payload": payload}, queue=EMAIL_QUEUE)
    )


def email_send_template(
    *,
    to: list[str] | str,
    template_prefix: str,
    context: dict,
    request: HttpRequest | None = None,
) -> None:
    """Render `<prefix>_subject.txt`, `<prefix>_message.txt` and `<prefix>_message.html`, queue it.

    The message templates extend `email/base.txt` and `email/base.html`, the shared layout;
    both parts are required, so every email reads well in any mail client. With `request`,
    context processors run and the layout links to the site.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    context = {**email_layout_context(request=request), **context}
    subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", context, request).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template_prefix}_message.txt", context, request).strip(),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(
        render_to_string(f"{template_prefix}_message.html", context, request), "text/html"
    )
    email_queue(message=message)


def email_payload(message: EmailMessage) -> dict:
    """A message as JSON-serializable data for the broker (the inverse of `email_build`)."""
    attachments = []
    for attachment in message.attachments:
        # MIMEBase attachments would need pickling; nothing of ours builds them.
        if not isinstance(attachment, tuple):
            raise TypeError("Queued emails take (filename, content, mimetype) attachments only.")
        filename, content, mimetype = attachment
        data = content.encode() if isinstance(content, str) else bytes(content)
        attachments.append([filename, base64.b64encode(data).decode("ascii"), mimetype])
    return {
        "subject": str(message.subject),
        "body": str(message.body),
        "content_subtype": message.content_subtype,
        "from_email": message.from_email or settings.DEFAULT_FROM_EMAIL,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": dict(message.extra_headers),
        "alternatives": [
            [str(content), mimetype] for content, mimetype in getattr(message, "alternatives", [])
        ],
        "attachments": attachments,
    }


def email_build(payload: dict) -> EmailMultiAlternatives:
    """The message `email_payload` serialized, ready to send."""
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
    message.content_subtype = payload.get("content_subtype", "plain")
    for content, mimetype in payload.get("alternatives", []):
        message.attach_alternative(content, mimetype)
    for filename, data, mimetype in payload.get("attachments", []):
        message.attach(filename, base64.b64decode(data), mimetype)
    return message


def email_recipient_domains(payload: dict) -> list[str]:
    """The recipients' domains, for logs: never the full addresses (they are personal data)."""
    addresses = [*payload.get("to", []), *payload.get("cc", []), *payload.get("bcc", [])]
    return sorted({address.rpartition("@")[2].strip(" >").lower() for address in addresses})
