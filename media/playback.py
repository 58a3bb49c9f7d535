"""Signed playback: short-lived RS256 tokens for Mux playback ids with a signed policy.

Mux checks a token's signature with the public half of a URL signing key it created for us;
we sign with the private half (settings MUX_SIGNING_KEY_ID and MUX_SIGNING_KEY_PRIVATE, the
base64-encoded PEM exactly as Mux returns it). One token per audience: "v" the video stream,
"t" thumbnails (the poster), "s" the storyboard (seek previews). See Mux's "Secure video
playback" guide for the claims.

This module decides nothing about who may watch: callers ask `catalog.access` first.
"""

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import jwt
from django.conf import settings
from django.utils import timezone

VIDEO_AUDIENCE = "v"
THUMBNAIL_AUDIENCE = "t"
STORYBOARD_AUDIENCE = "s"


class PlaybackNotConfiguredError(Exception):
    """No usable signing key: signed videos cannot be played (the page says so)."""


@dataclass(frozen=True)
class PlaybackTokens:
    video: str
    thumbnail: str
    storyboard: str
    expires_at: dt.datetime


def playback_configured() -> bool:
    """Whether a signing key is set, so signed videos can be played."""
    return bool(
        getattr(settings, "MUX_SIGNING_KEY_ID", "")
        and getattr(settings, "MUX_SIGNING_KEY_PRIVATE", "")
    )


@lru_cache(maxsize=4)
def _private_key_pem(encoded: str) -> bytes:
    # Mux hands out the PEM base64-encoded; a raw PEM (pasted by hand) is accepted as well.
    if encoded.lstrip().startswith("-----BEGIN"):
        return encoded.encode()
    try:
        return base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError) as error:
        raise PlaybackNotConfiguredError("MUX_SIGNING_KEY_PRIVATE is not base64") from error


def playback_token_sign(*, playback_id: str, audience: str, expires_at: dt.datetime) -> str:
    """One RS256 token for a signed playback id and audience, valid until `expires_at`.

    Raises PlaybackNotConfiguredError when no signing key is configured or it is unusable.
    """
    if not playback_configured():
        raise PlaybackNotConfiguredError("MUX_SIGNING_KEY_ID/MUX_SIGNING_KEY_PRIVATE are not set")
    key_id = settings.MUX_SIGNING_KEY_ID
    key = _private_key_pem(settings.MUX_SIGNING_KEY_PRIVATE)
    claims = {
        "sub": playback_id,
        "aud": audience,
        "exp": int(expires_at.timestamp()),
        "kid": key_id,
    }
    try:
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": key_id})
    except (ValueError, TypeError, jwt.PyJWTError) as error:
        raise PlaybackNotConfiguredError("MUX_SIGNING_KEY_PRIVATE is not an RSA key") from error


def playback_tokens_issue(*, playback_id: str, now: dt.datetime | None = None) -> PlaybackTokens:
    """Tokens for one signed playback id, valid for settings LMS_PLAYBACK_TOKEN_TTL seconds.

    Raises PlaybackNotConfiguredError when no signing key is configured or it is unusable.
    """
    now = now or timezone.now()
    ttl = int(getattr(settings, "LMS_PLAYBACK_TOKEN_TTL", 3600))
    expires_at = now + dt.timedelta(seconds=ttl)

    def sign(audience: str) -> str:
        return playback_token_sign(
            playback_id=playback_id, audience=audience, expires_at=expires_at
        )

    return PlaybackTokens(
        video=sign(VIDEO_AUDIENCE),
        thumbnail=sign(THUMBNAIL_AUDIENCE),
        storyboard=sign(STORYBOARD_AUDIENCE),
        expires_at=expires_at.replace(microsecond=0),
    )
