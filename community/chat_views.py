"""Chat pages: `/chat/course/<course>/` (the course's channels) and `/chat/<channel id>/`.

The page shows the latest messages and a send form that works without JavaScript (a POST
here, then a redirect back); `static/js/chat.js` connects the socket, catches up from the
last number shown and sends through it. Refusals are the access policy's (404/403).
"""

import uuid

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from catalog.selectors import course_get
from community.services.chat import (
    chat_channel_get,
    chat_channels_for,
    chat_message_delete,
    chat_message_get,
    chat_message_hide,
    chat_message_post,
    chat_messages_list,
    chat_user_can_moderate,
)
from lms.errors import ApplicationError

PAGE_MESSAGES = 50


@login_required
def course_chat(request: HttpRequest, slug: str) -> HttpResponse:
    """The course's channels: straight to the only one, else a list (maybe empty)."""
    course = course_get(user=request.user, slug=slug)
    channels = list(chat_channels_for(user=request.user).filter(course=course))
    if len(channels) == 1:
        return HttpResponseRedirect(reverse("community:chat", args=[channels[0].pk]))
    return render(request, "community/chat_channels.html", {"course": course, "channels": channels})


def _page(request: HttpRequest, channel, *, error: ApplicationError | None = None, body: str = ""):
    messages = chat_messages_list(channel=channel, limit=PAGE_MESSAGES)
    context = {
        "channel": channel,
        "chat_messages": messages,
        "last_seq": messages[-1].seq if messages else 0,
        "can_moderate": chat_user_can_moderate(user=request.user, channel=channel),
        "client_id": uuid.uuid4(),
        "error": error,
        "body": body,
    }
    return render(request, "community/chat.html", context, status=error.status if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def chat_page(request: HttpRequest, channel_id: uuid.UUID) -> HttpResponse:
    channel = chat_channel_get(user=request.user, channel_id=channel_id)
    if request.method == "GET":
        return _page(request, channel)
    body = request.POST.get("body", "")
    try:
        client_id = uuid.UUID(request.POST.get("client_id", ""))
    except ValueError:
        client_id = None
    try:
        message = chat_message_post(
            user=request.user, channel=channel, body=body, client_id=client_id
        )
    except ApplicationError as error:
        return _page(request, channel, error=error, body=body)
    return HttpResponseRedirect(f"{reverse('community:chat', args=[channel.pk])}#m-{message.seq}")


@login_required
@require_POST
def chat_message_remove(request: HttpRequest, channel_id: uuid.UUID, message_id: uuid.UUID):
    """Delete (own) or hide (moderators) one message, from the page's buttons."""
    channel = chat_channel_get(user=request.user, channel_id=channel_id)
    message = chat_message_get(channel=channel, message_id=message_id)
    if request.POST.get("action") == "hide":
        chat_message_hide(user=request.user, message=message)
    else:
        chat_message_delete(user=request.user, message=message)
    return HttpResponseRedirect(reverse("community:chat", args=[channel.pk]))


urlpatterns = [
    path("chat/course/<slug:slug>/", course_chat, name="course-chat"),
    path("chat/<uuid:channel_id>/", chat_page, name="chat"),
    path(
        "chat/<uuid:channel_id>/messages/<uuid:message_id>/remove/",
        chat_message_remove,
        name="chat-message-remove",
    ),
]
