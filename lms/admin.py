"""The webhook inbox and the email outbox in the admin: read only, with Replay and Send again."""

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from lms.email import email_resend
from lms.models import OutboundEmail, WebhookEvent
from lms.webhooks import webhook_event_replay


class ReadOnlyAdminMixin:
    """For records only our services write (ledgers, inboxes, event stores): viewable by
    whoever may view the model; nobody adds, edits or deletes a row by hand (a deleted
    ledger row would silently change a learner's XP, an edited event a dashboard)."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Events are written by the providers' views only: nobody adds, edits or deletes one
    (the inbox is the record of what the provider told us). Staff who may change events can
    replay them."""

    list_display = (
        "event_type",
        "provider",
        "status",
        "attempts",
        "occurred_at",
        "received_at",
        "processed_at",
    )
    list_filter = ("provider", "status", "retryable", "event_type")
    search_fields = ("=event_id",)
    search_help_text = _("The provider's event id, exactly.")
    date_hierarchy = "received_at"
    actions = ("replay_selected",)
    fields = (
        "provider",
        "event_id",
        "event_type",
        "status",
        "attempts",
        "retryable",
        "retry_at",
        "last_error",
        "occurred_at",
        "received_at",
        "processed_at",
        "payload_pretty",
    )
    readonly_fields = fields

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("lms.change_webhookevent")

    @admin.display(description=_("payload"))
    def payload_pretty(self, obj: WebhookEvent) -> str:
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>',
            json.dumps(obj.payload, indent=2, sort_keys=True, ensure_ascii=False),
        )

    @admin.action(description=_("Replay selected events"), permissions=["replay"])
    def replay_selected(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        processed, failures = 0, []
        for event in queryset.order_by("occurred_at", "received_at"):
            try:
                webhook_event_replay(event_id=event.pk)
            except Exception:  # recorded on the event (the handler's own error); shown here
                event.refresh_from_db(fields=["last_error"])
                failures.append(f"{event.event_id}: {event.last_error}")
            else:
                processed += 1
        if processed:
            self.message_user(
                request,
                ngettext("Replayed %(count)d event.", "Replayed %(count)d events.", processed)
                % {"count": processed},
                messages.SUCCESS,
            )
        for failure in failures:
            self.message_user(request, _("Replay failed: %s") % failure, messages.ERROR)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox: what was sent, what waits, what failed and why. Read only, and without
    the messages' text or addresses (sign-in codes, reset links, personal data); staff who
    may change outbound emails can send one again."""

    list_display = (
        "subject",
        "to_domains",
        "status",
        "attempts",
        "last_error_short",
        "created_at",
        "sent_at",
    )
    list_filter = ("status",)
    search_fields = ("=message_id", "=idempotency_key", "to_domains")
    search_help_text = _("A Message-ID or idempotency key exactly, or a recipient's domain.")
    date_hierarchy = "created_at"
    actions = ("send_again",)
    fields = (
        "subject",
        "to_domains",
        "status",
        "attempts",
        "last_error",
        "message_id",
        "idempotency_key",
        "created_at",
        "next_attempt_at",
        "claimed_at",
        "sent_at",
    )
    readonly_fields = fields

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("lms.change_outboundemail")

    @admin.display(description=_("last error"))
    def last_error_short(self, obj: OutboundEmail) -> str:
        return obj.last_error[:120]

    @admin.action(description=_("Send selected emails again"), permissions=["resend"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[OutboundEmail]) -> None:
        queued = 0
        for outbound in queryset:
            outbound = email_resend(email_id=outbound.pk)
            queued += outbound.status == OutboundEmail.Status.PENDING
        self.message_user(
            request,
            ngettext("Queued %(count)d email again.", "Queued %(count)d emails again.", queued)
            % {"count": queued},
            messages.SUCCESS,
        )
