"""Reads for accounts: the profile's sessions."""

from allauth.usersessions.models import UserSession

from accounts.models import User
from lms.errors import ErrorCode, NotFoundError


def user_sessions_list(*, user: User) -> list[UserSession]:
    """The user's live sessions (browsers and apps), most recently seen first.

    Ended and expired sessions are purged on the way, by allauth's own rule, so the list
    matches what `/_allauth/app/v1/auth/sessions` answers."""
    sessions = UserSession.objects.purge_and_list(user)
    return sorted(sessions, key=lambda session: session.last_seen_at, reverse=True)


def user_session_get(*, user: User, session_id: int) -> UserSession:
    """One of the user's sessions; someone else's id is as unknown as a made-up one."""
    try:
        return UserSession.objects.get(pk=session_id, user=user)
    except UserSession.DoesNotExist:
        raise NotFoundError(ErrorCode.SESSION_NOT_FOUND) from None
