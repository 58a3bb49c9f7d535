"""The JSON API: DRF, its throttles and the OpenAPI schema; the request guards' limits."""

from lms.errors import CATALOG, ErrorCode
from lms.settings.base import env

# --- API --------------------------------------------------------------------------------
# Request guards (lms.middleware) for bodies that are not forms (JSON: the API, app sign-in,
# webhooks): larger ones answer 413 PAYLOAD_TOO_LARGE, deeper nesting 400 PARSE_ERROR. 1 MiB
# holds a full progress sync batch (LMS_PROGRESS_SYNC_MAX_EVENTS) several times over; forms
# and uploads keep Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB, then the 413 page).
LMS_API_MAX_BODY_BYTES = env.int("LMS_API_MAX_BODY_BYTES", default=1024 * 1024)
LMS_API_MAX_JSON_DEPTH = env.int("LMS_API_MAX_JSON_DEPTH", default=32)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "allauth.headless.contrib.rest_framework.authentication.JWTTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "lms.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    # drf-spectacular's, plus the error statuses every view's machinery can answer.
    "DEFAULT_SCHEMA_CLASS": "lms.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "lms.api.exceptions.exception_handler",
    # DRF's throttles, failing open when the cache is unreachable (lms.throttling).
    "DEFAULT_THROTTLE_CLASSES": [
        "lms.throttling.AnonRateThrottle",
        "lms.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="120/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=None),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LMS API",
    "DESCRIPTION": "Versioned JSON API for mobile apps and the video player.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from our static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice fields named alike ("kind", "status", "type") in several apps get distinct names.
    "ENUM_NAME_OVERRIDES": {
        "TypeEnum": "catalog.models.Course.CourseType",
        "KindEnum": "catalog.models.Lesson.Kind",
        "QuestionKindEnum": "catalog.models.Question.Kind",
        "LessonProgressStatusEnum": "progress.models.LessonProgress.Status",
        "ProgressEventKindEnum": "progress.models.ProgressEvent.Kind",
        "DiscussionReportReasonEnum": "community.models.discussions.Report.Reason",
        "DiscussionReportStatusEnum": "community.models.discussions.Report.Status",
        # issue 16 (authoring API): a course's and a video's status.
        "CourseStatusEnum": "catalog.models.Course.Status",
        "VideoStatusEnum": "media.models.Video.Status",
        # issue 17: the structure locks in outlines, apart from the error envelope's codes.
        "StructureLockCodeEnum": ["LOCKED_PREREQUISITE", "LOCKED_UNTIL"],
        "CodeEnum": [(code.value, CATALOG[code].message) for code in ErrorCode],
        "LearningPathStatusEnum": "progress.paths.models.LearningPath.Status",
    },
}
