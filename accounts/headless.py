"""Our seams in allauth headless (`/_allauth/app/v1/...`), routed ahead of allauth's own.

Changing the password in the app (`POST /_allauth/app/v1/account/password/change`): allauth
keeps the device signed in (ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE is off) by cycling its session
(Django's `update_session_auth_hash`), which kills the JWTs the device holds, but answers
without new ones, so the app would find itself signed out. Here the answer also carries a
fresh `access_token` and `refresh_token` for the device's new session, and every other
session of the user (browsers and other devices) is ended: a password is most often changed
because the old one may be known to someone else.
"""

import json
from http import HTTPStatus
from typing import Any

from allauth.headless import app_settings as headless_settings
from allauth.headless.account.views import ChangePasswordView
from allauth.headless.constants import Client
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.cache import add_never_cache_headers

from accounts.services import user_sessions_end_others


class AppPasswordChangeView(ChangePasswordView):
    """allauth's password change for apps, answering with fresh tokens for this device."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        if response.status_code != HTTPStatus.OK or not request.user.is_authenticated:
            return response
        user_sessions_end_others(user=request.user, keep_session_key=request.session.session_key)
        # The refresh tokens issued before were for the session that was just cycled away.
        request.session.pop("headless_refresh_tokens", None)
        tokens = headless_settings.TOKEN_STRATEGY.create_access_token_payload(request) or {}
        request.session.save()
        return _with_meta(response, tokens)


def _with_meta(response: HttpResponse, extra: dict[str, Any]) -> HttpResponse:
    """allauth's JSON answer, its status kept, with `extra` added to its `meta`; never cached."""
    body = json.loads(response.content)
    body.setdefault("meta", {}).update(extra)
    answer = JsonResponse(body, status=response.status_code)
    add_never_cache_headers(answer)
    return answer


urlpatterns = [
    path(
        "app/v1/account/password/change",
        AppPasswordChangeView.as_api_view(client=Client.APP),
        name="app-password-change",
    ),
]
