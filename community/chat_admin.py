"""Chat in the admin (imported by `community/admin.py`): channels are created through
`chat_channel_create`; messages are read-only here, hidden through `chat_message_hide`, so
every open socket hears of it."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from community.models import ChatChannel, ChatMessage
from community.services.chat import chat_channel_create, chat_message_hide
from lms.errors import ApplicationError


@admin.register(ChatChannel)
class ChatChannelAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "is_archived", "last_seq", "created_at"]
    list_filter = ["is_archived"]
    search_fields = ["title", "course__title"]
    list_select_related = ["course"]
    autocomplete_fields = ["course"]
    fields = ["title", "course", "is_archived"]

    def save_model(self, request: HttpRequest, obj: ChatChannel, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = chat_channel_create(title=obj.title, created_by=request.user, course=obj.course)
        obj.pk, obj.created_by, obj.created_at = created.pk, created.created_by, created.created_at
        obj._state.adding = False


@admin.register(ChatMessage)
class ChatMessageAdmin(admin.ModelAdmin):
    list_display = ["channel", "seq", "author", "body", "created_at", "is_hidden", "deleted_at"]
    list_filter = ["is_hidden"]
    search_fields = ["body", "channel__title"]
    list_select_related = ["channel", "author"]
    readonly_fields = [field.name for field in ChatMessage._meta.fields]
    actions = ["hide"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description=_("Hide the selected messages from everyone"))
    def hide(self, request: HttpRequest, queryset: QuerySet[ChatMessage]) -> None:
        hidden = 0
        for message in queryset.select_related("channel__course"):
            try:
                chat_message_hide(user=request.user, message=message)
                hidden += 1
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
        self.message_user(request, _("%d messages hidden.") % hidden, messages.SUCCESS)
