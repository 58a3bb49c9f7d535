"""Signed bundle download URLs: `GET /api/v1/bundles/<id>/?token=...`.

The update check decides who may download a bundle and hands out a URL whose token
(`django.core.signing`, salted, with the bundle id and an expiry) is the only permission the
download needs, like a presigned storage URL: an app's download manager can fetch it without
the learner's credentials. The token expires `LMS_BUNDLE_URL_TTL_SECONDS` after the check:

- a token that does not verify, or names another bundle: 403 BUNDLE_URL_INVALID;
- a token past its expiry: 410 BUNDLE_URL_EXPIRED (check for updates again);
- a version purged since (replaced more than `LMS_BUNDLE_KEEP_HOURS` ago, or its section or
  course deleted): 410 BUNDLE_GONE.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from catalog.bundles.models import SectionBundle
from lms.errors import AccessDeniedError, ApplicationError, ErrorCode

SALT = "catalog.bundle-download"


@dataclass(frozen=True)
class BundleUrl:
    url: str  # a path on this site; the API makes it absolute
    expires_at: datetime


def bundle_url_ttl() -> int:
    return int(settings.LMS_BUNDLE_URL_TTL_SECONDS)


def bundle_download_url(*, bundle_id: uuid.UUID | str, now: datetime | None = None) -> BundleUrl:
    """A URL that downloads this bundle until `now` plus the TTL. No access check: the
    update check decides first."""
    expires_at = (now or timezone.now()).replace(microsecond=0) + timedelta(
        seconds=bundle_url_ttl()
    )
    token = signing.Signer(salt=SALT).sign_object(
        {"b": str(bundle_id), "e": int(expires_at.timestamp())}
    )
    path = reverse("bundles-api:bundle-download", args=[bundle_id])
    return BundleUrl(url=f"{path}?{urlencode({'token': token})}", expires_at=expires_at)


def bundle_for_download(*, bundle_id: uuid.UUID | str, token: str) -> SectionBundle:
    """The bundle a download token opens (see the module's docstring for the refusals)."""
    try:
        claims = signing.Signer(salt=SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError):
        raise AccessDeniedError(ErrorCode.BUNDLE_URL_INVALID) from None
    if not isinstance(claims, dict) or claims.get("b") != str(bundle_id):
        raise AccessDeniedError(ErrorCode.BUNDLE_URL_INVALID)
    expires = claims.get("e")
    if not isinstance(expires, int) or timezone.now().timestamp() >= expires:
        raise ApplicationError(ErrorCode.BUNDLE_URL_EXPIRED)
    bundle = SectionBundle.objects.filter(pk=bundle_id).only("id", "manifest", "version").first()
    if bundle is None:
        raise ApplicationError(ErrorCode.BUNDLE_GONE)
    return bundle
