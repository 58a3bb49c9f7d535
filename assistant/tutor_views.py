"""The tutor's pages: a learner's conversations (list, one, delete) and the lesson panel's
form posts for browsers without JavaScript (ask, report an answer). The panel itself is the
`lesson_tutor` tag; tutor.js asks through the API instead."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assistant.selectors.tutor_pages import conversations_of
from assistant.services import tutor as services
from assistant.tutor_forms import TutorQuestionForm
from catalog.models import Lesson
from catalog.selectors import lesson_get_by_id
from lms.errors import AccessDeniedError, ApplicationError
from lms.paging import page_get
from progress.views import render_lesson_page

PAGE_SIZE = 20


@login_required
def tutor_list(request: HttpRequest) -> HttpResponse:
    page = page_get(request=request, items=conversations_of(user=request.user), per_page=PAGE_SIZE)
    return render(
        request,
        "assistant/tutor_list.html",
        {
            "page": page,
            "conversations": page.object_list,
            "page_numbers": page.numbers,
        },
    )


@login_required
def tutor_detail(request: HttpRequest, conversation_id) -> HttpResponse:
    conversation = services.tutor_conversation_get(
        user=request.user, conversation_id=conversation_id
    )
    return render(
        request,
        "assistant/tutor_detail.html",
        {
            "conversation": conversation,
            "messages": list(conversation.messages.order_by("created_at")),
        },
    )


@require_POST
@login_required
def tutor_delete(request: HttpRequest, conversation_id) -> HttpResponse:
    conversation = services.tutor_conversation_get(
        user=request.user, conversation_id=conversation_id
    )
    title = conversation.lesson.title
    services.tutor_conversation_delete(user=request.user, conversation=conversation)
    messages.success(
        request, _("The conversation about “%(title)s” is deleted.") % {"title": title}
    )
    return redirect("assistant:tutor_list")


@require_POST
@login_required
def tutor_ask(request: HttpRequest, lesson_id) -> HttpResponse:
    """The panel's form without JavaScript: the whole answer, then back to the panel. A
    refusal (quota, not configured, provider) shows on the lesson page, by the form."""
    lesson = lesson_get_by_id(user=request.user, lesson_id=lesson_id)  # 404 inside
    form = TutorQuestionForm(request.POST)
    if not form.is_valid():
        error = " ".join(form.errors.get("question") or [_("Write a question for the tutor.")])
        return _panel_again(request, lesson=lesson, error=error, status=400)
    question = form.cleaned_data["question"]
    try:
        services.tutor_ask(
            user=request.user,
            lesson=lesson,
            question=question,
            conversation_id=form.cleaned_data["conversation"],
            stream=False,
        )
    except AccessDeniedError:
        raise  # a locked lesson: the 403 page, as for the lesson itself
    except ApplicationError as error:
        message = " ".join(error.fields.get("question", [])) or error.message
        return _panel_again(
            request, lesson=lesson, error=message, question=question, status=error.status
        )
    return redirect(f"{lesson.get_absolute_url()}#tutor")


@require_POST
@login_required
def tutor_message_flag(request: HttpRequest, message_id) -> HttpResponse:
    answer = services.tutor_answer_get(user=request.user, message_id=message_id)
    services.tutor_message_flag(user=request.user, message=answer, reason="")
    messages.success(request, _("Thank you: staff will review this answer."))
    return redirect(f"{answer.conversation.lesson.get_absolute_url()}#tutor")


def _panel_again(
    request: HttpRequest, *, lesson: Lesson, error: str, question: str = "", status: int
) -> HttpResponse:
    return render_lesson_page(
        request,
        course=lesson.course,
        lesson=lesson,
        extra={"tutor_error": error, "tutor_question": question},
        status=status,
    )


urlpatterns = [
    path("tutor/", tutor_list, name="tutor_list"),
    path("tutor/<uuid:conversation_id>/", tutor_detail, name="tutor_detail"),
    path("tutor/<uuid:conversation_id>/delete/", tutor_delete, name="tutor_delete"),
    path("tutor/lessons/<uuid:lesson_id>/ask/", tutor_ask, name="tutor_ask"),
    path("tutor/answers/<uuid:message_id>/report/", tutor_message_flag, name="tutor_message_flag"),
]
