"""The tutor's piece of the lesson page: `{% lesson_tutor lesson %}` renders the panel with
its own data (the lesson view knows nothing about the tutor), and `tutor_markdown` turns a
stored answer into sanitised HTML."""

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString

from assistant.llm import llm_configured
from assistant.selectors.tutor_pages import conversation_latest_get
from assistant.services.tutor import QUESTION_MAX_CHARS
from assistant.services.tutor_quota import tutor_quota_get
from catalog.models import Lesson
from lms.markdown import render_markdown

register = template.Library()

# Any uuid: tutor.js puts the answer's id in its place.
_FLAG_URL_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


@register.filter
def tutor_markdown(text: str) -> SafeString:
    return render_markdown(text)


@register.inclusion_tag("assistant/_tutor.html", takes_context=True)
def lesson_tutor(context: template.Context, lesson: Lesson) -> dict:
    """The panel for a signed-in learner on a lesson page the access policy opened (the
    lesson template includes it only there; a locked lesson has its own template without
    it). Nothing for visitors, and nothing on an editor's preview of unpublished content.
    A no-JS question that failed comes back with `tutor_error` and `tutor_question`."""
    request = context["request"]
    user = request.user
    if not user.is_authenticated or lesson.is_preview_only:
        return {"show": False}
    configured = llm_configured()
    quota = tutor_quota_get(user=user) if configured else None
    # Past messages show beside the form only: not when the plan has no tutor.
    shown = quota is not None and quota.in_plan
    conversation = conversation_latest_get(user=user, lesson=lesson) if shown else None
    return {
        "show": True,
        "lesson": lesson,
        "configured": configured,
        "quota": quota,
        "conversation": conversation,
        "messages": list(conversation.messages.all()) if conversation else [],
        "error": context.get("tutor_error"),
        "question": context.get("tutor_question", ""),
        "max_length": QUESTION_MAX_CHARS,
        "api_url": reverse("assistant-api:tutor-ask", args=[lesson.pk]),
        "flag_url": reverse("assistant:tutor_message_flag", args=[_FLAG_URL_PLACEHOLDER]),
        "csrf_token": context.get("csrf_token"),
    }
