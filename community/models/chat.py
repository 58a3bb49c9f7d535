"""Live chat: channels (one or more per course, or school-wide) and their messages.

Every message has a `seq`, increasing by one per channel in the order messages are committed:
the channel's `last_seq` counter is bumped under a row lock by `community.chat.chat_message_post`,
and `(channel, seq)` is unique. Clients use it to catch up after a reconnect (`?after=<seq>`).
"""

import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

CHANNEL_TITLE_MAX_LENGTH = 120
MESSAGE_MAX_LENGTH = 4_000


class ChatChannel(models.Model):
    """A chat room. With a course, its members are those the access policy lets open the
    course; without one (school-wide, created by staff), every signed-in active user."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey(
        "catalog.Course",
        verbose_name=_("course"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="chat_channels",
        help_text=_("Empty: a school-wide channel, open to every signed-in user."),
    )
    title = models.CharField(_("title"), max_length=CHANNEL_TITLE_MAX_LENGTH)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    is_archived = models.BooleanField(
        _("archived"), default=False, help_text=_("Archived channels are read-only.")
    )
    # The seq of the channel's latest message (0: none yet). Written only under a row lock.
    last_seq = models.PositiveBigIntegerField(_("last message number"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["title", "id"]
        verbose_name = _("chat channel")
        verbose_name_plural = _("chat channels")
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="chat_channel_title_not_empty"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def group_name(self) -> str:
        """The channel-layer group of the sockets open on this channel."""
        return f"chat.{self.pk}"


class ChatMessage(models.Model):
    """One message. `deleted_at` marks a delete (by its author or a moderator: the body is
    wiped); `is_hidden` a moderator's hide (the body stays, for the admin). Neither shows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey(
        ChatChannel, verbose_name=_("channel"), on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.PositiveBigIntegerField(_("number"), editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="chat_messages",
        help_text=_("Empty for messages the site posts (announcements)."),
    )
    body = models.TextField(
        _("body"),
        max_length=MESSAGE_MAX_LENGTH,
        blank=True,
        validators=[MaxLengthValidator(MESSAGE_MAX_LENGTH)],
        help_text=_("Markdown."),
    )
    body_html = models.TextField(_("body (sanitised HTML)"), blank=True, editable=False)
    # The sender's id for this message: sending again with the same id returns the first.
    client_id = models.UUIDField(_("client id"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    is_hidden = models.BooleanField(_("hidden by a moderator"), default=False)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deleted or hidden by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["channel", "seq"]
        verbose_name = _("chat message")
        verbose_name_plural = _("chat messages")
        indexes = [
            # The rate limit counts a sender's recent messages in a channel.
            models.Index(fields=["channel", "author", "created_at"], name="chat_message_rate_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["channel", "seq"], name="chat_message_channel_seq"),
            models.UniqueConstraint(
                fields=["author", "client_id"],
                condition=Q(client_id__isnull=False),
                name="chat_message_author_client_id",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} in {self.channel_id}"

    @property
    def is_visible(self) -> bool:
        return not self.is_hidden and self.deleted_at is None
