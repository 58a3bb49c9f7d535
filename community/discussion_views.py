"""Discussion pages under a lesson: `/courses/<course>/<lesson>/discussion/...`.

Thin: load with the selectors (the access policy answers 404/403 as for the lesson page),
call a service, redirect; an invalid form is shown again with its errors at 400 (or the
refusal's own status: 409 for a locked thread, 429 when posting too fast).
"""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from catalog.models import Lesson
from catalog.selectors import course_get, lesson_get
from community.discussion_forms import ReplyForm, ReportForm, ThreadForm, timestamp_format
from community.models import Reply, Thread
from community.selectors.discussions import (
    discussion_can_moderate,
    discussion_lesson_open_require,
    replies_list,
    reply_get,
    thread_get,
    threads_list,
)
from community.services import discussions as services
from lms.errors import AccessDeniedError, ApplicationError, ErrorCode, NotFoundError

THREADS_PER_PAGE = 20
REPLIES_PER_PAGE = 30


def _lesson(request: HttpRequest, course_slug: str, lesson_slug: str) -> Lesson:
    course = course_get(user=request.user, slug=course_slug)
    lesson = lesson_get(user=request.user, course=course, slug=lesson_slug)
    discussion_lesson_open_require(user=request.user, lesson=lesson)
    return lesson


def _thread(request: HttpRequest, lesson: Lesson, thread_id) -> Thread:
    thread = thread_get(user=request.user, thread_id=thread_id)
    if thread.lesson_id != lesson.pk:
        raise Http404
    return thread


def _reply(request: HttpRequest, thread: Thread, reply_id) -> Reply:
    reply = reply_get(user=request.user, reply_id=reply_id)
    if reply.thread_id != thread.pk:
        raise Http404
    return reply


def _refusal_to_form(form, exc: ApplicationError) -> int:
    """Put a service's refusal on the form; the status to answer with. Not-found and
    access refusals are not the form's business: they answer with their own pages."""
    if isinstance(exc, NotFoundError | AccessDeniedError):
        raise exc
    if exc.fields:
        for field, errors in exc.fields.items():
            name = "timestamp" if field == "timestamp_seconds" else field
            for error in errors:
                form.add_error(name if name in form.fields else None, error)
    else:
        form.add_error(None, exc.message)
    return exc.status


def _signed_in_or_login(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return None


def _page(request: HttpRequest, queryset, per_page: int):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


@require_http_methods(["GET", "POST"])
def discussion(request: HttpRequest, course_slug: str, lesson_slug: str) -> HttpResponse:
    lesson = _lesson(request, course_slug, lesson_slug)
    with_timestamp = lesson.kind == Lesson.Kind.VIDEO
    form = ThreadForm(with_timestamp=with_timestamp)
    status = 200
    if request.method == "POST":
        if redirect := _signed_in_or_login(request):
            return redirect
        form = ThreadForm(request.POST, with_timestamp=with_timestamp)
        if form.is_valid():
            try:
                thread = services.thread_create(
                    user=request.user,
                    lesson=lesson,
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                    timestamp_seconds=form.cleaned_data.get("timestamp"),
                )
            except ApplicationError as exc:
                status = _refusal_to_form(form, exc)
            else:
                return HttpResponseRedirect(thread.get_absolute_url())
        else:
            status = 400
    moderator = discussion_can_moderate(user=request.user, course=lesson.course)
    context = {
        "course": lesson.course,
        "lesson": lesson,
        "page": _page(request, threads_list(lesson=lesson, moderator=moderator), THREADS_PER_PAGE),
        "form": form,
        "can_moderate": moderator,
    }
    return render(request, "community/discussion.html", context, status=status)


@require_http_methods(["GET", "POST"])
def thread_detail(
    request: HttpRequest, course_slug: str, lesson_slug: str, thread_id
) -> HttpResponse:
    lesson = _lesson(request, course_slug, lesson_slug)
    thread = _thread(request, lesson, thread_id)
    form = ReplyForm()
    status = 200
    if request.method == "POST":
        if redirect := _signed_in_or_login(request):
            return redirect
        form = ReplyForm(request.POST)
        if form.is_valid():
            try:
                reply = services.reply_create(
                    user=request.user, thread=thread, body=form.cleaned_data["body"]
                )
            except ApplicationError as exc:
                status = _refusal_to_form(form, exc)
            else:
                return HttpResponseRedirect(f"{thread.get_absolute_url()}#reply-{reply.pk}")
        else:
            status = 400
    moderator = discussion_can_moderate(user=request.user, course=lesson.course)
    context = {
        "course": lesson.course,
        "lesson": lesson,
        "thread": thread,
        "page": _page(request, replies_list(thread=thread, moderator=moderator), REPLIES_PER_PAGE),
        "form": form,
        "report_form": ReportForm(),
        "can_moderate": moderator,
        "timestamp": timestamp_format(thread.timestamp_seconds)
        if thread.timestamp_seconds is not None
        else "",
    }
    return render(request, "community/discussion_thread.html", context, status=status)


@require_http_methods(["GET", "POST"])
def post_edit(
    request: HttpRequest, course_slug: str, lesson_slug: str, thread_id, reply_id=None
) -> HttpResponse:
    if redirect := _signed_in_or_login(request):
        return redirect
    lesson = _lesson(request, course_slug, lesson_slug)
    thread = _thread(request, lesson, thread_id)
    post = _reply(request, thread, reply_id) if reply_id else thread
    if post.author_id != request.user.pk:
        raise AccessDeniedError(ErrorCode.NOT_YOUR_POST)
    with_timestamp = lesson.kind == Lesson.Kind.VIDEO
    if isinstance(post, Thread):
        initial = {"title": post.title, "body": post.body}
        if post.timestamp_seconds is not None:
            initial["timestamp"] = timestamp_format(post.timestamp_seconds)
        form = ThreadForm(request.POST or None, initial=initial, with_timestamp=with_timestamp)
    else:
        form = ReplyForm(request.POST or None, initial={"body": post.body})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            values = form.cleaned_data
            extra = {}
            if isinstance(post, Thread):
                extra = {"title": values["title"], "timestamp_seconds": values.get("timestamp")}
            try:
                services.post_edit(user=request.user, post=post, body=values["body"], **extra)
            except ApplicationError as exc:
                status = _refusal_to_form(form, exc)
            else:
                anchor = f"#reply-{post.pk}" if isinstance(post, Reply) else ""
                return HttpResponseRedirect(f"{thread.get_absolute_url()}{anchor}")
    context = {"course": lesson.course, "lesson": lesson, "thread": thread, "post": post}
    context["form"] = form
    return render(request, "community/discussion_edit.html", context, status=status)


_THREAD_ACTIONS = {
    "pin": (services.thread_pin, "pinned", True),
    "unpin": (services.thread_pin, "pinned", False),
    "lock": (services.thread_lock, "locked", True),
    "unlock": (services.thread_lock, "locked", False),
}


@require_POST
def post_action(
    request: HttpRequest, course_slug: str, lesson_slug: str, thread_id, reply_id=None
) -> HttpResponse:
    """Delete (own or as a moderator), hide/unhide, pin/unpin, lock/unlock, mark as the
    instructors' answer, or report: the `action` field says which."""
    if redirect := _signed_in_or_login(request):
        return redirect
    lesson = _lesson(request, course_slug, lesson_slug)
    thread = _thread(request, lesson, thread_id)
    post = _reply(request, thread, reply_id) if reply_id else thread
    action = request.POST.get("action", "")
    user = request.user
    back = thread.get_absolute_url() + (f"#reply-{post.pk}" if reply_id else "")
    try:
        if action == "delete":
            services.post_delete(user=user, post=post)
            messages.success(request, _("The post was deleted."))
            back = (
                thread.get_absolute_url()
                if reply_id
                else reverse("community:discussion", args=[lesson.course.slug, lesson.slug])
            )
        elif action in ("hide", "unhide"):
            services.post_hide(actor=user, post=post, hidden=action == "hide")
        elif action in _THREAD_ACTIONS and not reply_id:
            service, keyword, value = _THREAD_ACTIONS[action]
            service(actor=user, thread=thread, **{keyword: value})
        elif action in ("answer", "not_answer") and reply_id:
            services.reply_answer_mark(actor=user, reply=post, marked=action == "answer")
        elif action == "report":
            form = ReportForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Choose a reason for the report."))
                return HttpResponseRedirect(back)
            services.report_create(user=user, post=post, **form.cleaned_data)
            messages.success(request, _("Thank you: the moderators will look at it."))
        else:
            return HttpResponse(status=400)
    except (NotFoundError, AccessDeniedError):
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return HttpResponseRedirect(back)


_BASE = "courses/<slug:course_slug>/<slug:lesson_slug>/discussion/"
urlpatterns = [
    path(_BASE, discussion, name="discussion"),
    path(f"{_BASE}<uuid:thread_id>/", thread_detail, name="thread_detail"),
    path(f"{_BASE}<uuid:thread_id>/edit/", post_edit, name="thread_edit"),
    path(f"{_BASE}<uuid:thread_id>/action/", post_action, name="thread_action"),
    path(f"{_BASE}<uuid:thread_id>/replies/<uuid:reply_id>/edit/", post_edit, name="reply_edit"),
    path(
        f"{_BASE}<uuid:thread_id>/replies/<uuid:reply_id>/action/",
        post_action,
        name="reply_action",
    ),
]
