"""The media library: videos on Mux, or video files in the default storage.

Videos are added from an upload page: "Create upload" asks our server for a Mux direct upload
(`media.services.video_create`), then the browser sends the file straight to Mux with UpChunk
(`static/js/admin-upload.js`), showing progress, and follows the video's status until Mux has
it ready. The list shows how many lessons and course previews use each video; videos are soft
deleted and restored through the services (their Mux asset is deleted by a task), never
deleted outright. Without a Mux token the pages say so instead of failing.

The same upload page also takes an MP4/WebM file (the source beside Mux, which needs nothing
configured): `static/js/admin-video-file.js` posts it to `upload_file_view` with a progress
bar, and `media.services.video_file_create` checks and stores it. The list and the change page
say which source each video uses.

Downloads for offline apps (`media.downloads`): a Mux video's static renditions (MP4/M4A
files Mux makes when settings MUX_STATIC_RENDITIONS asks, or when "Ask Mux for MP4
downloads" does for older videos) are listed on its page with their size and status; a file
video's download is its file.
"""

import logging
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from lms.errors import ApplicationError, ErrorCode
from media import (
    admin_files,  # noqa: F401 (registers the file library: StoredFileAdmin)
    mux,
)
from media.models import Video
from media.renditions import DELETED
from media.services import (
    video_create,
    video_file_create,
    video_file_max_bytes,
    video_refresh_from_mux,
    video_restore,
    video_soft_delete,
    video_static_renditions_request,
    video_update,
    video_upload_replace,
)

logger = logging.getLogger(__name__)

# UpChunk (npm @mux/upchunk) is served from our static files: STATICFILES_DIRS maps
# "vendor/upchunk" to node_modules/@mux/upchunk/dist.
UPCHUNK_STATIC_PATH = "vendor/upchunk/upchunk.js"
VALIDATION_ERROR = "VALIDATION_ERROR"


def upchunk_url() -> str | None:
    """The UpChunk script's static URL, or None when `npm install` has not been run."""
    return static(UPCHUNK_STATIC_PATH) if finders.find(UPCHUNK_STATIC_PATH) else None


def error_response(
    status: int, code: str, message: str, fields: dict | None = None
) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "fields": fields or {}}}, status=status
    )


def mux_failure_response(exc: Exception) -> JsonResponse | None:
    """The answer for a failure to talk to Mux, or None for a bug (which should be a 500)."""
    if isinstance(exc, ApplicationError):  # e.g. SERVICE_UNAVAILABLE: the broker is down
        return error_response(exc.status, exc.code, exc.message)
    if isinstance(exc, mux.MuxNotConfiguredError):
        return error_response(503, exc.code, exc.message)
    if isinstance(exc, mux.ApiException) and exc.status in (401, 403):
        logger.error("Mux refused our access token", exc_info=exc)
        return error_response(
            502,
            ErrorCode.MUX_UNAVAILABLE,
            gettext("Mux refused our access token: check MUX_TOKEN_ID and MUX_TOKEN_SECRET."),
        )
    if mux.mux_error_is_transient(exc):
        logger.warning("Mux could not be reached: %s", exc)
        return error_response(
            502,
            ErrorCode.MUX_UNAVAILABLE,
            gettext("Mux could not be reached. Try again in a moment."),
        )
    return None


def cors_origin(request: HttpRequest) -> str:
    """The origin of the admin page, the only one Mux lets upload to the URL."""
    return f"{request.scheme}://{request.get_host()}"


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _admin_link(url_name: str, obj: Any) -> str | None:
    try:
        return reverse(url_name, args=[obj.pk])
    except NoReverseMatch:
        return None


RENDITION_STATUSES = {
    "preparing": _("preparing"),
    "ready": _("ready"),
    "errored": _("failed at Mux"),
    "skipped": _("skipped (above the video's resolution)"),
}


def _rendition_details(entry: dict) -> list[str]:
    details = []
    if entry.get("width") and entry.get("height"):
        details.append(f"{entry['width']}×{entry['height']}")
    if entry.get("size_bytes") is not None:
        details.append(str(filesizeformat(entry["size_bytes"])))
    return details


class DeletedFilter(admin.SimpleListFilter):
    title = _("deleted")
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("no", _("In the library")), ("yes", _("Deleted"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Video]) -> QuerySet[Video]:
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "source",
        "status",
        "playback_policy",
        "duration",
        "usage_count",
        "created_at",
    )
    list_filter = ("source", "status", "playback_policy", "static_renditions_status", DeletedFilter)
    search_fields = ("title", "=mux_upload_id", "=mux_asset_id", "=playback_id")
    list_per_page = 50
    date_hierarchy = "created_at"
    actions = [
        "soft_delete_selected",
        "restore_selected",
        "refresh_selected",
        "request_downloads_selected",
    ]
    fieldsets = [
        (None, {"fields": ("title", "source", "playback_policy", "live_status", "usage")}),
        (_("File"), {"fields": ("file_link", "file_content_type", "file_size")}),
        (
            _("Mux"),
            {
                "fields": (
                    "duration",
                    "aspect_ratio",
                    "playback_id",
                    "mux_upload_id",
                    "mux_asset_id",
                    "error",
                    "state_at",
                    "downloads",
                )
            },
        ),
        (_("Record"), {"fields": ("created_by", "created_at", "updated_at", "deleted_at")}),
    ]
    readonly_fields = (
        "source",
        "file_link",
        "file_content_type",
        "file_size",
        "playback_policy",
        "live_status",
        "usage",
        "duration",
        "aspect_ratio",
        "playback_id",
        "mux_upload_id",
        "mux_asset_id",
        "error",
        "state_at",
        "downloads",
        "created_by",
        "created_at",
        "updated_at",
        "deleted_at",
    )

    # --- queries ----------------------------------------------------------------------------
    def get_queryset(self, request: HttpRequest) -> QuerySet[Video]:
        return (
            super()
            .get_queryset(request)
            .select_related("created_by")
            .annotate(
                lesson_count=Count("lessons", distinct=True),
                course_count=Count("previewed_courses", distinct=True),
            )
        )

    def has_delete_permission(self, request: HttpRequest, obj: Video | None = None) -> bool:
        return False  # soft delete and restore instead: lessons may point here

    def get_fieldsets(self, request: HttpRequest, obj: Video | None = None) -> list:
        # Each video shows the fields of its own source only.
        hidden = _("Mux") if obj is not None and obj.is_file else _("File")
        return [fieldset for fieldset in self.fieldsets if fieldset[0] != hidden]

    # --- columns and fields -----------------------------------------------------------------
    @admin.display(description=_("file"))
    def file_link(self, video: Video) -> str:
        return video.file.name or "—"

    @admin.display(description=_("duration"), ordering="duration_seconds")
    def duration(self, video: Video) -> str:
        return duration_text(video.duration_seconds)

    @admin.display(description=_("used by"))
    def usage_count(self, video: Video) -> int:
        return video.lesson_count + video.course_count

    @admin.display(description=_("used by"))
    def usage(self, video: Video) -> str:
        if not video.pk:
            return "—"
        items = [
            (gettext("Lesson"), _admin_link("admin:catalog_lesson_change", lesson), lesson)
            for lesson in video.lessons.select_related("course").order_by("course__title", "order")
        ] + [
            (gettext("Course preview"), _admin_link("admin:catalog_course_change", course), course)
            for course in video.previewed_courses.order_by("title")
        ]
        if not items:
            return gettext("Not used by any lesson or course.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li>{}: <a href="{}">{}</a></li>',
                ((kind, url or "#", str(obj)) for kind, url, obj in items),
            ),
        )

    @admin.display(description=_("downloads (MP4)"))
    def downloads(self, video: Video) -> str:
        """The static renditions Mux reported, largest first, deleted ones left out."""
        renditions = [
            entry
            for entry in video.static_renditions or []
            if isinstance(entry, dict) and entry.get("status") != DELETED
        ]
        if not renditions:
            return gettext("None. Offline apps cannot download this video.")
        renditions.sort(key=lambda entry: -(entry.get("height") or 0))
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} ({}): {}</li>",
                (
                    (
                        entry.get("name"),
                        ", ".join(_rendition_details(entry)) or "—",
                        RENDITION_STATUSES.get(entry.get("status"), entry.get("status")),
                    )
                    for entry in renditions
                ),
            ),
        )

    @admin.display(description=_("status"))
    def live_status(self, video: Video) -> str:
        return format_html(
            '<span data-video-status data-status-url="{}" data-status="{}">{}</span>'
            '<span class="help" data-video-error>{}</span>',
            reverse("admin:media_video_status", args=[video.pk]),
            video.status,
            video.get_status_display(),
            video.error,
        )

    # --- writes through the services -------------------------------------------------------
    def save_model(self, request: HttpRequest, obj: Video, form: Any, change: bool) -> None:
        video_update(video=obj, title=obj.title)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        return HttpResponseRedirect(reverse("admin:media_video_upload"))

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        if object_id is not None:
            extra_context.update(
                replace_url=reverse("admin:media_video_replace", args=[unquote(object_id)]),
                **self._upload_context(),
            )
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Delete selected videos (restorable)"), permissions=["change"])
    def soft_delete_selected(self, request: HttpRequest, queryset: QuerySet[Video]) -> None:
        videos = [video for video in queryset if video.deleted_at is None]
        in_use = [video for video in videos if video.lesson_count + video.course_count]
        for done, video in enumerate(videos):
            try:
                video_soft_delete(video=video)
            except ApplicationError as exc:  # the broker is down: the rest stay as they were
                self.message_user(
                    request,
                    gettext("Deleted %(done)d of %(total)d videos. %(reason)s")
                    % {"done": done, "total": len(videos), "reason": exc.message},
                    messages.ERROR,
                )
                return
        self.message_user(
            request,
            ngettext("Deleted %d video.", "Deleted %d videos.", len(videos)) % len(videos),
            messages.SUCCESS,
        )
        if in_use:
            self.message_user(
                request,
                gettext("Still used by lessons or courses, which no longer play them: %s")
                % ", ".join(video.title for video in in_use),
                messages.WARNING,
            )

    @admin.action(description=_("Restore selected videos"), permissions=["change"])
    def restore_selected(self, request: HttpRequest, queryset: QuerySet[Video]) -> None:
        videos = [video for video in queryset if video.deleted_at is not None]
        for video in videos:
            video_restore(video=video)
        self.message_user(
            request,
            ngettext(
                "Restored %d video: upload its file again.",
                "Restored %d videos: upload their files again.",
                len(videos),
            )
            % len(videos),
            messages.SUCCESS,
        )

    @admin.action(description=_("Refresh selected videos from Mux"), permissions=["change"])
    def refresh_selected(self, request: HttpRequest, queryset: QuerySet[Video]) -> None:
        if not mux.mux_configured():
            self.message_user(request, mux.MuxNotConfiguredError.message, messages.ERROR)
            return
        changed = failed = 0
        for video in queryset:
            try:
                changed += video_refresh_from_mux(video=video)
            except Exception as exc:
                if not mux.mux_error_is_transient(exc):
                    raise
                failed += 1
        self.message_user(request, gettext("%d video(s) updated from Mux.") % changed)
        if failed:
            self.message_user(
                request,
                gettext("Mux could not be reached for %d video(s).") % failed,
                messages.ERROR,
            )

    @admin.action(description=_("Ask Mux for MP4 downloads (offline apps)"), permissions=["change"])
    def request_downloads_selected(self, request: HttpRequest, queryset: QuerySet[Video]) -> None:
        if not mux.mux_configured():
            self.message_user(request, mux.MuxNotConfiguredError.message, messages.ERROR)
            return
        asked = skipped = failed = 0
        for video in queryset:
            try:
                asked += bool(video_static_renditions_request(video=video))
            except ValidationError:
                skipped += 1
            except Exception as exc:
                if not mux.mux_error_is_transient(exc):
                    raise
                failed += 1
        self.message_user(
            request,
            gettext("Mux is making downloads of %d video(s); they appear when ready.") % asked,
        )
        if skipped:
            self.message_user(
                request,
                gettext("%d video(s) are not ready Mux videos and were left alone.") % skipped,
                messages.WARNING,
            )
        if failed:
            self.message_user(
                request,
                gettext("Mux could not be reached for %d video(s).") % failed,
                messages.ERROR,
            )

    # --- the upload page and its JSON views ------------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("upload/", wrap(self.upload_view), name="media_video_upload"),
            path("upload/create/", wrap(self.upload_create_view), name="media_video_upload_create"),
            path("upload/file/", wrap(self.upload_file_view), name="media_video_upload_file"),
            path("<path:object_id>/replace/", wrap(self.replace_view), name="media_video_replace"),
            path("<path:object_id>/status/", wrap(self.status_view), name="media_video_status"),
            *super().get_urls(),
        ]

    def _upload_context(self) -> dict:
        return {
            "mux_configured": mux.mux_configured(),
            "mux_not_configured_message": mux.MuxNotConfiguredError.message,
            "upchunk_url": upchunk_url(),
        }

    def _video_or_404(self, request: HttpRequest, object_id: str) -> Video:
        # Not `get_object`: the list's usage counts are not needed by these views, and the
        # status view is polled every few seconds while a video uploads.
        video = Video.objects.filter(pk=unquote(object_id)).first()
        if video is None:
            raise Http404
        return video

    def upload_view(
        self,
        request: HttpRequest,
        *,
        file_errors: dict | None = None,
        status: int = 200,
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            **self._upload_context(),
            "opts": self.opts,
            "title": gettext("Upload a video"),
            "create_url": reverse("admin:media_video_upload_create"),
            "policies": Video.PlaybackPolicy.choices,
            "default_policy": request.GET.get("policy", Video.PlaybackPolicy.SIGNED),
            "file_create_url": reverse("admin:media_video_upload_file"),
            "file_max_bytes": video_file_max_bytes(),
            "file_errors": file_errors or {},
            "file_values": request.POST if file_errors else {},
        }
        return TemplateResponse(request, "admin/media/video/upload.html", context, status=status)

    def _upload_payload(self, video: Video, upload_url: str) -> dict:
        return {
            "video": self._status(video),
            "upload_url": upload_url,
            "status_url": reverse("admin:media_video_status", args=[video.pk]),
            "change_url": reverse("admin:media_video_change", args=[video.pk]),
        }

    @staticmethod
    def _status(video: Video) -> dict:
        return {
            "id": str(video.pk),
            "title": video.title,
            "source": video.source,
            "status": video.status,
            "status_label": str(video.get_status_display()),
            "playback_policy": video.playback_policy,
            "playback_id": video.playback_id,
            "duration_seconds": video.duration_seconds,
            "aspect_ratio": video.aspect_ratio,
            "error": video.error,
            "deleted": video.deleted_at is not None,
        }

    def upload_create_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        return require_POST(self._upload_create)(request)

    def _upload_create(self, request: HttpRequest) -> JsonResponse:
        title = request.POST.get("title", "").strip()
        policy = request.POST.get("playback_policy", Video.PlaybackPolicy.SIGNED)
        try:
            video, upload_url = video_create(
                title=title,
                playback_policy=policy,
                created_by=request.user,
                cors_origin=cors_origin(request),
            )
        except ValidationError as exc:
            return error_response(
                400,
                VALIDATION_ERROR,
                gettext("Some fields are invalid."),
                {name: [str(m) for m in errors] for name, errors in exc.message_dict.items()},
            )
        except Exception as exc:
            response = mux_failure_response(exc)
            if response is None:
                raise
            return response
        return JsonResponse(self._upload_payload(video, upload_url), status=201)

    def upload_file_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        return require_POST(self._upload_file)(request)

    def _upload_file(self, request: HttpRequest) -> HttpResponse:
        """Store the posted file as a file video. JSON for the page's script (XHR), else the
        upload page again with its errors (400) or the new video's page."""
        wants_json = "application/json" in request.headers.get("Accept", "")
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationError({"file": [gettext("Choose an MP4 or WebM file.")]})
            video = video_file_create(
                title=request.POST.get("title", ""),
                playback_policy=request.POST.get("playback_policy", Video.PlaybackPolicy.SIGNED),
                file=upload,
                created_by=request.user,
            )
        except ValidationError as exc:
            fields = {name: [str(m) for m in errors] for name, errors in exc.message_dict.items()}
            if wants_json:
                return error_response(
                    400, VALIDATION_ERROR, gettext("Some fields are invalid."), fields
                )
            return self.upload_view(request, file_errors=fields, status=400)
        change_url = reverse("admin:media_video_change", args=[video.pk])
        if wants_json:
            return JsonResponse(
                {"video": self._status(video), "change_url": change_url}, status=201
            )
        self.message_user(request, gettext("The video file is uploaded and ready."))
        return HttpResponseRedirect(change_url)

    def replace_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        video = self._video_or_404(request, object_id)
        if not self.has_change_permission(request, video):
            raise PermissionDenied
        return require_POST(self._replace)(request, video)

    def _replace(self, request: HttpRequest, video: Video) -> JsonResponse:
        try:
            upload_url = video_upload_replace(video=video, cors_origin=cors_origin(request))
        except ValidationError as exc:
            return error_response(400, VALIDATION_ERROR, " ".join(exc.messages))
        except Exception as exc:
            response = mux_failure_response(exc)
            if response is None:
                raise
            return response
        video.refresh_from_db()
        return JsonResponse(self._upload_payload(video, upload_url))

    def status_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        video = self._video_or_404(request, object_id)
        if not self.has_view_permission(request, video):
            raise PermissionDenied
        return require_GET(lambda request: JsonResponse(self._status(video)))(request)
