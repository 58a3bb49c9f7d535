"""`{% course_announcements course %}`: the latest announcements on the course page.

The course page is rendered by `progress`, which knows nothing of `community`; the template
loads this library, so the dependency stays pointing up. Who sees them is the access policy's
call (`community.services.announcements.announcements_latest`).
"""

from typing import Any

from django import template

from community.services.announcements import announcements_latest

register = template.Library()


@register.inclusion_tag("community/_course_announcements.html", takes_context=True)
def course_announcements(context: template.Context, course: Any) -> dict[str, Any]:
    request = context["request"]
    return {"announcements": announcements_latest(user=request.user, course=course)}
