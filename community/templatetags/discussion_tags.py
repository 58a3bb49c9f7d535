"""Discussion pieces for templates: a post's HTML, a video moment as `m:ss`, and the lesson
page's discussion section, which loads its own data (the lesson view needs to know nothing)."""

from django import template
from django.utils.safestring import SafeString

from catalog.models import Lesson
from community.discussion_forms import timestamp_format
from community.selectors.discussions import discussion_can_moderate, post_html, threads_list

register = template.Library()

LESSON_PAGE_THREADS = 5


@register.filter(name="post_html")
def post_html_filter(text: str) -> SafeString:
    return post_html(text)


@register.filter
def moment(seconds: int | None) -> str:
    return "" if seconds is None else timestamp_format(seconds)


@register.inclusion_tag("community/_discussion_section.html", takes_context=True)
def lesson_discussion(context: template.Context, lesson: Lesson) -> dict:
    """The lesson's liveliest threads (pinned first) with their reply counts. Only for a
    lesson the page shows unlocked (the lesson template includes it there), and never for a
    preview of unpublished content."""
    request = context["request"]
    moderator = discussion_can_moderate(user=request.user, course=lesson.course)
    threads = threads_list(lesson=lesson, moderator=moderator)
    shown = list(threads[: LESSON_PAGE_THREADS + 1])
    return {
        "request": request,
        "lesson": lesson,
        "course": lesson.course,
        "threads": shown[:LESSON_PAGE_THREADS],
        "more": len(shown) > LESSON_PAGE_THREADS,
        "is_preview": lesson.is_preview_only,
        "user": request.user,
    }
