"""Content-Security-Policy: the sources our pages need, and page parts that need more.

The policy itself is `CONTENT_SECURITY_POLICY` in settings (django-csp 4 format), built from
the functions below so that every extra source comes from a setting. It never allows inline
scripts or inline styles site-wide. A template partial that embeds a third-party component
which cannot run without one (Mux Player draws its controls with inline `<style>`s in its
shadow DOM) names that component with `{% csp_component "mux-player" %}`: only responses
that render it get the extra sources listed in `COMPONENT_SOURCES`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.constants import NONCE, UNSAFE_INLINE
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.middleware import PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

# Mux, as its CSP guide asks: its CDNs and subdomains change without notice, so wildcards.
# *.mux.com: stream (HLS), image (posters, storyboards), direct uploads; *.litix.io: Mux Data.
MUX_SOURCES = ("https://*.mux.com", "https://*.litix.io")
# Older Mux direct-upload URLs point at Google Cloud Storage.
MUX_UPLOAD_SOURCES = ("https://storage.googleapis.com",)
# Mux Player offers casting: it loads Google's Cast sender, which loads the Cast framework.
CAST_SCRIPT_SOURCES = (
    "https://www.gstatic.com/cv/js/sender/",
    "https://www.gstatic.com/cast/sdk/libs/",
)

# Extra directives per component, added only to responses that render the component.
COMPONENT_SOURCES: dict[str, dict[str, tuple[str, ...]]] = {
    # Mux Player (media-chrome) puts <style> elements and style attributes in its shadow
    # roots, and has no nonce option. Styles only: scripts stay strict on these pages too.
    "mux-player": {"style-src": (UNSAFE_INLINE,)},
    # ReDoc (styled-components) inserts <style> elements; it tags them with the nonce that
    # static/js/redoc-init.js hands it, so only styles of this response's nonce apply. Two
    # are inserted as its bundle loads, before it can know the nonce: they are allowed by
    # hash (an empty sheet and its bundled CSS; a new drf-spectacular-sidecar may change
    # the second: lms/tests/test_csp_browser.py then names the new hash).
    "redoc": {
        "style-src": (
            NONCE,
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
            "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
        )
    },
}

REQUEST_ATTRIBUTE = "_lms_csp_components"


def origin(url: str | None) -> str:
    """`https://host:port` of a URL, or "" when it has no scheme and host."""
    if not url:
        return ""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


def storage_sources(
    *,
    bucket: str,
    endpoint_url: str | None,
    region: str | None,
    custom_domain: str | None,
) -> list[str]:
    """Origins the browser talks to for S3 files: presigned PUTs (connect) and reads (img).

    Path-style (`endpoint/bucket/key`) and virtual-hosted (`bucket.endpoint/key`) addresses
    are both listed, since boto3 picks between them by endpoint and bucket name.
    """
    if not bucket:
        return []
    sources = [origin(custom_domain)]
    if endpoint_url:
        base = urlsplit(endpoint_url)
        sources += [origin(endpoint_url), f"{base.scheme}://{bucket}.{base.netloc}"]
    else:
        regional = f"s3.{region}.amazonaws.com" if region else "s3.amazonaws.com"
        sources += [f"https://{bucket}.{regional}", f"https://{regional}"]
        sources += [f"https://{bucket}.s3.amazonaws.com"]
    return list(dict.fromkeys(source for source in sources if source))


def csp_component_use(request: HttpRequest, name: str) -> None:
    """Mark the response to `request` as rendering component `name` (see COMPONENT_SOURCES)."""
    if name not in COMPONENT_SOURCES:
        raise ValueError(f"Unknown CSP component {name!r}; add it to lms.csp.COMPONENT_SOURCES.")
    # DRF's Request (API docs pages) wraps the HttpRequest that the middleware sees.
    request = getattr(request, "_request", request)
    used = getattr(request, REQUEST_ATTRIBUTE, set())
    used.add(name)
    setattr(request, REQUEST_ATTRIBUTE, used)


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware, plus the sources of the components a response rendered."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        update: dict[str, list[str]] = {
            key: list(value) for key, value in (parts.update or {}).items()
        }
        # The Mux API's origin, read per response: a non-default MUX_API_URL (a proxy, the
        # tests' loopback fake) is also where the admin uploader sends the file.
        update.setdefault("connect-src", []).append(origin(settings.MUX_API_URL))
        for name in sorted(getattr(request, REQUEST_ATTRIBUTE, ())):
            for directive, sources in COMPONENT_SOURCES[name].items():
                update.setdefault(directive, []).extend(sources)
        parts.update = update
        return parts
