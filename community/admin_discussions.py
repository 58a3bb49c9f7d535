"""Discussions in the admin: threads, replies, and the reports moderation queue (open
reports first). Everything is read-only here; moderation happens through actions that call
the services, so the admin writes the same audit rows as the site. Moderators (accounts
role) see these three lists and nothing else of the admin."""

from django.contrib import admin, messages
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from community.models import Reply, Report, Thread
from community.services import discussions as services
from lms.errors import ApplicationError


def _run(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset, call) -> None:
    done, refused = 0, []
    for item in queryset:
        try:
            call(item)
        except ApplicationError as exc:
            refused.append(f"{item}: {exc.message}")
        else:
            done += 1
    modeladmin.message_user(
        request,
        ngettext("%(count)d item done.", "%(count)d items done.", done) % {"count": done},
        messages.SUCCESS,
    )
    for line in refused:
        modeladmin.message_user(request, line, messages.WARNING)


class _PostAdmin(admin.ModelAdmin):
    list_select_related = ("author",)
    search_fields = ("body", "author__email", "author__display_name")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Deleting a post is a soft delete, through the "Delete" action.
        return False

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    @admin.display(description=_("body"))
    def excerpt(self, obj) -> str:
        return Truncator(obj.body).chars(80)

    @admin.action(description=_("Hide the selected posts"), permissions=["change"])
    def hide(self, request: HttpRequest, queryset: QuerySet) -> None:
        _run(self, request, queryset, lambda p: services.post_hide(actor=request.user, post=p))

    @admin.action(description=_("Show the selected posts again"), permissions=["change"])
    def unhide(self, request: HttpRequest, queryset: QuerySet) -> None:
        _run(
            self,
            request,
            queryset,
            lambda p: services.post_hide(actor=request.user, post=p, hidden=False),
        )

    @admin.action(description=_("Delete the selected posts"), permissions=["change"])
    def soft_delete(self, request: HttpRequest, queryset: QuerySet) -> None:
        _run(self, request, queryset, lambda p: services.post_delete(user=request.user, post=p))


@admin.register(Thread)
class ThreadAdmin(_PostAdmin):
    list_display = (
        "title",
        "lesson",
        "author",
        "is_pinned",
        "is_locked",
        "is_hidden",
        "deleted_at",
        "last_activity_at",
    )
    list_filter = (
        "is_pinned",
        "is_locked",
        "is_hidden",
        ("deleted_at", admin.EmptyFieldListFilter),
    )
    list_select_related = ("author", "lesson", "lesson__course")
    search_fields = ("title", *_PostAdmin.search_fields)
    actions = ("pin", "unpin", "lock", "unlock", "hide", "unhide", "soft_delete")

    @admin.action(description=_("Pin the selected threads"), permissions=["change"])
    def pin(self, request: HttpRequest, queryset: QuerySet) -> None:
        _run(self, request, queryset, lambda t: services.thread_pin(actor=request.user, thread=t))

    @admin.action(description=_("Unpin the selected threads"), permissions=["change"])
    def unpin(self, request: HttpRequest, queryset: QuerySet) -> None:
        _run(
            self,
            request,
            queryset,
            lambda t: services.thread_pin(actor=request.user, thread=t, pinned=False),
        )

    @admin.action(description=_("Lock the selected threads"), permissions=["change"])
    def lock(self, request: HttpRequest, queryset: QuerySet) -> None:
        _run(self, request, queryset, lambda t: services.thread_lock(actor=request.user, thread=t))

    @admin.action(description=_("Unlock the selected threads"), permissions=["change"])
    def unlock(self, request: HttpRequest, queryset: QuerySet) -> None:
        _run(
            self,
            request,
            queryset,
            lambda t: services.thread_lock(actor=request.user, thread=t, locked=False),
        )


@admin.register(Reply)
class ReplyAdmin(_PostAdmin):
    list_display = (
        "excerpt",
        "thread",
        "author",
        "is_instructor_answer",
        "is_hidden",
        "deleted_at",
        "created_at",
    )
    list_filter = ("is_instructor_answer", "is_hidden", ("deleted_at", admin.EmptyFieldListFilter))
    list_select_related = ("author", "thread", "thread__lesson", "thread__lesson__course")
    actions = ("hide", "unhide", "soft_delete")


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """The moderation queue: open reports first, oldest first."""

    list_display = ("created_at", "reason", "post_excerpt", "post_author", "reporter", "status")
    list_filter = ("status", "reason")
    list_select_related = (
        "reporter",
        "thread",
        "thread__author",
        "reply",
        "reply__author",
        "handled_by",
    )
    search_fields = ("details", "thread__title", "thread__body", "reply__body")
    actions = ("dismiss", "hide_post", "delete_post")

    def get_ordering(self, request: HttpRequest) -> list:
        open_first = Case(
            When(status=Report.Status.OPEN, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
        return [open_first.asc(), "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [field.name for field in Report._meta.fields]

    @admin.display(description=_("post"))
    def post_excerpt(self, obj: Report) -> str:
        post = obj.post
        text = post.title if isinstance(post, Thread) else post.body
        return Truncator(text).chars(80)

    @admin.display(description=_("author"))
    def post_author(self, obj: Report) -> str:
        return str(obj.post.author)

    def _resolve(self, request: HttpRequest, queryset: QuerySet, action: str) -> None:
        _run(
            self,
            request,
            queryset.filter(status=Report.Status.OPEN),
            lambda r: services.report_resolve(actor=request.user, report=r, action=action),
        )

    @admin.action(description=_("Dismiss: the posts are fine"), permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._resolve(request, queryset, services.ReportAction.DISMISS)

    @admin.action(description=_("Hide the reported posts"), permissions=["change"])
    def hide_post(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._resolve(request, queryset, services.ReportAction.HIDE)

    @admin.action(description=_("Delete the reported posts"), permissions=["change"])
    def delete_post(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._resolve(request, queryset, services.ReportAction.DELETE)
