"""System checks of the media settings (run by `manage.py check` and at every start)."""

from typing import Any

from django.conf import settings
from django.core import checks

from media.mux import STATIC_RENDITION_RESOLUTIONS


@checks.register(checks.Tags.compatibility)
def static_renditions_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """MUX_STATIC_RENDITIONS names only resolutions Mux's static renditions API knows."""
    unknown = [
        value
        for value in getattr(settings, "MUX_STATIC_RENDITIONS", [])
        if str(value).strip() and str(value).strip() not in STATIC_RENDITION_RESOLUTIONS
    ]
    if not unknown:
        return []
    return [
        checks.Error(
            f"MUX_STATIC_RENDITIONS has unknown resolutions: {', '.join(map(str, unknown))}.",
            hint=f"Use some of: {', '.join(STATIC_RENDITION_RESOLUTIONS)} (or leave it empty).",
            id="media.E001",
        )
    ]
