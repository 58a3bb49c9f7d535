"""Signed playback tokens, checked as Mux checks them: with the public half of the key."""

import base64
import datetime as dt

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from media.playback import PlaybackNotConfiguredError, playback_configured, playback_tokens_issue

KEY_ID = "signing-key-123"
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def key_pair() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) of a fresh RSA key, as a Mux URL signing key would be."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


@pytest.fixture
def signing_key(settings, key_pair) -> bytes:
    """Configure the key the way Mux hands it out (base64 of the PEM); returns the public PEM."""
    private_pem, public_pem = key_pair
    settings.MUX_SIGNING_KEY_ID = KEY_ID
    settings.MUX_SIGNING_KEY_PRIVATE = base64.b64encode(private_pem).decode()
    settings.LMS_PLAYBACK_TOKEN_TTL = 3600
    return public_pem


def _verify(token: str, public_pem: bytes, audience: str) -> dict:
    return jwt.decode(
        token,
        public_pem,
        algorithms=["RS256"],
        audience=audience,
        options={"verify_exp": False},  # NOW is fixed in the past; expiry is asserted below
    )


def test_each_token_verifies_with_the_public_key_for_its_own_audience(signing_key):
    tokens = playback_tokens_issue(playback_id="PLAYBACK123", now=NOW)

    expected_exp = int((NOW + dt.timedelta(hours=1)).timestamp())
    for token, audience in [(tokens.video, "v"), (tokens.thumbnail, "t"), (tokens.storyboard, "s")]:
        assert _verify(token, signing_key, audience) == {
            "sub": "PLAYBACK123",
            "aud": audience,
            "exp": expected_exp,
            "kid": KEY_ID,
        }
        assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": KEY_ID, "typ": "JWT"}
    assert tokens.expires_at == NOW + dt.timedelta(hours=1)


def test_a_token_is_refused_for_another_audience(signing_key):
    tokens = playback_tokens_issue(playback_id="PLAYBACK123", now=NOW)

    with pytest.raises(jwt.InvalidAudienceError):
        _verify(tokens.thumbnail, signing_key, "v")


def test_tokens_expire_after_the_configured_lifetime(settings, signing_key):
    settings.LMS_PLAYBACK_TOKEN_TTL = 600
    tokens = playback_tokens_issue(playback_id="PLAYBACK123", now=NOW)

    assert tokens.expires_at == NOW + dt.timedelta(minutes=10)
    with pytest.raises(jwt.ExpiredSignatureError):
        # Verified at the real clock, long after NOW + 10 minutes.
        jwt.decode(tokens.video, signing_key, algorithms=["RS256"], audience="v")


def test_fresh_tokens_verify_with_expiry_checked(signing_key):
    tokens = playback_tokens_issue(playback_id="PLAYBACK123")

    claims = jwt.decode(tokens.video, signing_key, algorithms=["RS256"], audience="v")

    assert claims["sub"] == "PLAYBACK123"


def test_a_token_signed_by_another_key_does_not_verify(signing_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_public = other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    tokens = playback_tokens_issue(playback_id="PLAYBACK123")

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(tokens.video, other_public, algorithms=["RS256"], audience="v")


def test_a_raw_pem_key_is_accepted_too(settings, key_pair, signing_key):
    settings.MUX_SIGNING_KEY_PRIVATE = key_pair[0].decode()

    tokens = playback_tokens_issue(playback_id="PLAYBACK123", now=NOW)

    assert _verify(tokens.video, signing_key, "v")["sub"] == "PLAYBACK123"


def test_without_a_signing_key_playback_is_not_configured(settings):
    settings.MUX_SIGNING_KEY_ID = ""
    settings.MUX_SIGNING_KEY_PRIVATE = ""

    assert playback_configured() is False
    with pytest.raises(PlaybackNotConfiguredError):
        playback_tokens_issue(playback_id="PLAYBACK123")


def test_a_key_that_is_not_rsa_is_reported_as_not_configured(settings):
    settings.MUX_SIGNING_KEY_ID = KEY_ID
    settings.MUX_SIGNING_KEY_PRIVATE = base64.b64encode(b"not a key").decode()

    assert playback_configured() is True
    with pytest.raises(PlaybackNotConfiguredError):
        playback_tokens_issue(playback_id="PLAYBACK123")
