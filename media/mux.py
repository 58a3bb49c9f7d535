"""Mux's API through its SDK (mux-python): configured clients and the few calls we make.

Configured by `MUX_TOKEN_ID`/`MUX_TOKEN_SECRET` (an access token with Video read/write);
`MUX_API_URL` is only changed by tests, which point it at a loopback fake of the API. Without
a token, `mux_configured()` is false and video features say so instead of failing.
"""

from typing import Any

import mux_python
import urllib3
from django.conf import settings
from mux_python.exceptions import ApiException, NotFoundException

from lms.errors import CATALOG, ErrorCode, transient_error_classifier

DEFAULT_API_URL = "https://api.mux.com"
# Seconds: (connect, read). The SDK waits forever by default.
REQUEST_TIMEOUT = (5, 20)
# Direct uploads the browser has not started within this many seconds expire at Mux.
UPLOAD_TIMEOUT_SECONDS = 3600
# What settings MUX_STATIC_RENDITIONS may ask for (Mux's static renditions API): "highest"
# (the asset's top resolution, as highest.mp4), "audio-only" (audio.m4a), or a resolution
# ("720p.mp4"; Mux skips one above the asset's own).
STATIC_RENDITION_RESOLUTIONS = (
    "highest",
    "audio-only",
    "2160p",
    "1440p",
    "1080p",
    "720p",
    "540p",
    "480p",
    "360p",
    "270p",
)

__all__ = [
    "ApiException",
    "MuxNotConfiguredError",
    "NotFoundException",
    "mux_asset_delete",
    "mux_asset_get",
    "mux_configured",
    "mux_error_is_transient",
    "mux_static_rendition_create",
    "mux_upload_create",
    "mux_upload_get",
    "static_renditions_wanted",
]


class MuxNotConfiguredError(Exception):
    """Raised by every call when no Mux access token is configured."""

    code = ErrorCode.MUX_NOT_CONFIGURED
    message = CATALOG[ErrorCode.MUX_NOT_CONFIGURED].message

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)


def mux_configured() -> bool:
    return bool(getattr(settings, "MUX_TOKEN_ID", "") and getattr(settings, "MUX_TOKEN_SECRET", ""))


def mux_api_client() -> mux_python.ApiClient:
    """A client for the configured account (built per call: settings may change in tests)."""
    if not mux_configured():
        raise MuxNotConfiguredError
    configuration = mux_python.Configuration(
        host=(getattr(settings, "MUX_API_URL", "") or DEFAULT_API_URL).rstrip("/"),
        username=settings.MUX_TOKEN_ID,
        password=settings.MUX_TOKEN_SECRET,
    )
    return mux_python.ApiClient(configuration)


def mux_error_is_transient(exc: BaseException) -> bool:
    """Whether the same call may succeed later: overload, server errors, network trouble."""
    if isinstance(exc, ApiException):
        return exc.status in (0, 408, 425, 429) or (exc.status or 0) >= 500
    return isinstance(exc, urllib3.exceptions.HTTPError | OSError)


@transient_error_classifier
def mux_sdk_error_is_transient(exc: BaseException) -> bool:
    """`mux_error_is_transient` for errors of the Mux SDK only (registered with `lms.errors`,
    which asks every provider's classifier about every error: a bare OSError is not Mux's)."""
    if isinstance(exc, ApiException | urllib3.exceptions.HTTPError):
        return mux_error_is_transient(exc)
    return False


def _as_dict(client: mux_python.ApiClient, model: Any) -> dict:
    """The SDK's model as the JSON object Mux sent (the shape webhooks carry too)."""
    return client.sanitize_for_serialization(model) or {}


def static_renditions_wanted() -> list[str]:
    """The static renditions new uploads ask for (settings MUX_STATIC_RENDITIONS), in order,
    without repeats; unknown values are refused by the `media` system check."""
    wanted = [str(value).strip() for value in getattr(settings, "MUX_STATIC_RENDITIONS", [])]
    return list(dict.fromkeys(value for value in wanted if value))


def mux_upload_create(*, passthrough: str, playback_policy: str, cors_origin: str) -> dict:
    """Create a direct upload whose asset gets this playback policy and passthrough, and the
    static renditions (MP4 downloads) of settings MUX_STATIC_RENDITIONS, if any.

    Returns the upload as a dict (`id`, `url`, `status`, ...); the browser PUTs the file to `url`.
    """
    client = mux_api_client()
    renditions = [
        mux_python.CreateStaticRenditionRequest(resolution=resolution)
        for resolution in static_renditions_wanted()
    ]
    request = mux_python.CreateUploadRequest(
        timeout=UPLOAD_TIMEOUT_SECONDS,
        cors_origin=cors_origin,
        new_asset_settings=mux_python.CreateAssetRequest(
            playback_policy=[playback_policy],
            passthrough=passthrough,
            static_renditions=renditions or None,
        ),
    )
    response = mux_python.DirectUploadsApi(client).create_direct_upload(
        request, _request_timeout=REQUEST_TIMEOUT
    )
    return _as_dict(client, response.data)


def mux_upload_get(upload_id: str) -> dict:
    client = mux_api_client()
    response = mux_python.DirectUploadsApi(client).get_direct_upload(
        upload_id, _request_timeout=REQUEST_TIMEOUT
    )
    return _as_dict(client, response.data)


def mux_asset_get(asset_id: str) -> dict:
    client = mux_api_client()
    response = mux_python.AssetsApi(client).get_asset(asset_id, _request_timeout=REQUEST_TIMEOUT)
    return _as_dict(client, response.data)


def mux_static_rendition_create(asset_id: str, *, resolution: str) -> dict:
    """Ask Mux for one more static rendition of an existing asset; returns the rendition
    (`id`, `name`, `resolution`, `status` "preparing", ...). Webhooks say when it is ready."""
    client = mux_api_client()
    response = mux_python.AssetsApi(client).create_asset_static_rendition(
        asset_id,
        mux_python.CreateStaticRenditionRequest(resolution=resolution),
        _request_timeout=REQUEST_TIMEOUT,
    )
    return _as_dict(client, response.data)


def mux_asset_delete(asset_id: str) -> bool:
    """Delete an asset. Returns False when Mux has no such asset (already deleted): fine."""
    client = mux_api_client()
    try:
        mux_python.AssetsApi(client).delete_asset(asset_id, _request_timeout=REQUEST_TIMEOUT)
    except NotFoundException:
        return False
    return True
