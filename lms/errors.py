"""The one catalog of error codes, and the exception services raise.

Codes are UPPER_SNAKE and never change meaning once released; add new ones, never reuse.
The API turns every error into `{"error": {"code", "message", "fields"}}`
(`lms.api.exceptions`); HTML views show the same messages.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.http import Http404


class ErrorCode(StrEnum):
    # Generic HTTP-level errors.
    BAD_REQUEST = "BAD_REQUEST"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    PARSE_ERROR = "PARSE_ERROR"
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    NOT_FOUND = "NOT_FOUND"
    PAGE_NOT_FOUND = "PAGE_NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    # Request guards (lms.middleware): a body over the limit.
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    THROTTLED = "THROTTLED"
    SERVER_ERROR = "SERVER_ERROR"
    # Outages: a write that needs a service that is down right now (the task broker).
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    # Catalog.
    COURSE_NOT_FOUND = "COURSE_NOT_FOUND"
    LESSON_NOT_FOUND = "LESSON_NOT_FOUND"
    LOGIN_REQUIRED = "LOGIN_REQUIRED"
    UPGRADE_REQUIRED = "UPGRADE_REQUIRED"
    # Accounts.
    SESSION_NOT_FOUND = "SESSION_NOT_FOUND"
    # Invites.
    INVITE_NOT_FOUND = "INVITE_NOT_FOUND"
    INVITE_EXPIRED = "INVITE_EXPIRED"
    INVITE_REVOKED = "INVITE_REVOKED"
    INVITE_USED_UP = "INVITE_USED_UP"
    INVITE_ALREADY_REDEEMED = "INVITE_ALREADY_REDEEMED"
    # issue 11 (D2): an invite addressed to one email, redeemed by another account.
    INVITE_NOT_FOR_YOU = "INVITE_NOT_FOR_YOU"
    # Learning.
    ENROLLMENT_NOT_ALLOWED = "ENROLLMENT_NOT_ALLOWED"
    NOT_ENROLLED = "NOT_ENROLLED"
    JOIN_CODE_NOT_FOUND = "JOIN_CODE_NOT_FOUND"
    COMPLETION_NOT_MANUAL = "COMPLETION_NOT_MANUAL"
    POSITION_NOT_VIDEO = "POSITION_NOT_VIDEO"
    QUIZ_NOT_FOUND = "QUIZ_NOT_FOUND"
    # issue 12 (quizzes): the attempt limit and the wait between attempts.
    QUIZ_ATTEMPTS_EXHAUSTED = "QUIZ_ATTEMPTS_EXHAUSTED"
    QUIZ_RETRY_NOT_YET = "QUIZ_RETRY_NOT_YET"
    EVENT_IN_FUTURE = "EVENT_IN_FUTURE"
    CERTIFICATE_NOT_FOUND = "CERTIFICATE_NOT_FOUND"
    # issue 12 (certificates): the learner's name printed on a certificate.
    CERTIFICATE_NAME_PENDING = "CERTIFICATE_NAME_PENDING"
    CERTIFICATE_NAME_CORRECTIONS_USED_UP = "CERTIFICATE_NAME_CORRECTIONS_USED_UP"
    PREVIEW_ONLY = "PREVIEW_ONLY"
    # Webhooks.
    WEBHOOK_NOT_CONFIGURED = "WEBHOOK_NOT_CONFIGURED"
    WEBHOOK_SIGNATURE_INVALID = "WEBHOOK_SIGNATURE_INVALID"
    WEBHOOK_TIMESTAMP_STALE = "WEBHOOK_TIMESTAMP_STALE"
    WEBHOOK_PAYLOAD_INVALID = "WEBHOOK_PAYLOAD_INVALID"
    # Media: Mux and storage.
    MUX_NOT_CONFIGURED = "MUX_NOT_CONFIGURED"
    MUX_UNAVAILABLE = "MUX_UNAVAILABLE"
    STORAGE_NOT_CONFIGURED = "STORAGE_NOT_CONFIGURED"
    UPLOAD_TYPE_NOT_ALLOWED = "UPLOAD_TYPE_NOT_ALLOWED"
    UPLOAD_TOO_LARGE = "UPLOAD_TOO_LARGE"
    UPLOAD_NOT_FOUND = "UPLOAD_NOT_FOUND"
    UPLOAD_INCOMPLETE = "UPLOAD_INCOMPLETE"
    UPLOAD_MISMATCH = "UPLOAD_MISMATCH"
    FILE_NOT_FOUND = "FILE_NOT_FOUND"
    # Media: video files (the source beside Mux).
    VIDEO_FILE_UNREADABLE = "VIDEO_FILE_UNREADABLE"
    # Billing.
    BILLING_NOT_CONFIGURED = "BILLING_NOT_CONFIGURED"
    BILLING_UNAVAILABLE = "BILLING_UNAVAILABLE"
    PLAN_NOT_FOUND = "PLAN_NOT_FOUND"
    ALREADY_SUBSCRIBED = "ALREADY_SUBSCRIBED"
    NO_BILLING_ACCOUNT = "NO_BILLING_ACCOUNT"
    CHECKOUT_NOT_FOUND = "CHECKOUT_NOT_FOUND"
    # issue 13 (notifications).
    NOTIFICATION_NOT_FOUND = "NOTIFICATION_NOT_FOUND"
    NOTIFICATION_KIND_UNKNOWN = "NOTIFICATION_KIND_UNKNOWN"
    # issue 13 (announcements).
    ANNOUNCEMENT_NOT_ALLOWED = "ANNOUNCEMENT_NOT_ALLOWED"
    ANNOUNCEMENT_NOT_FOUND = "ANNOUNCEMENT_NOT_FOUND"
    # issue 13 (live chat).
    CHAT_CHANNEL_NOT_FOUND = "CHAT_CHANNEL_NOT_FOUND"
    CHAT_MESSAGE_NOT_FOUND = "CHAT_MESSAGE_NOT_FOUND"
    CHAT_CHANNEL_ARCHIVED = "CHAT_CHANNEL_ARCHIVED"
    CHAT_NOT_YOUR_MESSAGE = "CHAT_NOT_YOUR_MESSAGE"
    CHAT_CLIENT_ID_REUSED = "CHAT_CLIENT_ID_REUSED"
    CHAT_RATE_LIMITED = "CHAT_RATE_LIMITED"
    # issue 13 (lesson discussions).
    THREAD_NOT_FOUND = "THREAD_NOT_FOUND"
    REPLY_NOT_FOUND = "REPLY_NOT_FOUND"
    THREAD_LOCKED = "THREAD_LOCKED"
    NOT_YOUR_POST = "NOT_YOUR_POST"
    NOT_A_MODERATOR = "NOT_A_MODERATOR"
    REPORT_NOT_FOUND = "REPORT_NOT_FOUND"
    REPORT_ALREADY_HANDLED = "REPORT_ALREADY_HANDLED"
    DISCUSSION_RATE_LIMITED = "DISCUSSION_RATE_LIMITED"
    # issue 14 (learners' own data: export and account deletion).
    DATA_EXPORT_PENDING = "DATA_EXPORT_PENDING"
    DATA_EXPORT_NOT_FOUND = "DATA_EXPORT_NOT_FOUND"
    DATA_EXPORT_NOT_READY = "DATA_EXPORT_NOT_READY"
    DATA_EXPORT_EXPIRED = "DATA_EXPORT_EXPIRED"
    ACCOUNT_DELETION_BLOCKED = "ACCOUNT_DELETION_BLOCKED"
    # issue 14 (analytics ingestion): the batch as a whole, then one event of it.
    ANALYTICS_BATCH_TOO_LARGE = "ANALYTICS_BATCH_TOO_LARGE"
    ANALYTICS_RATE_LIMITED = "ANALYTICS_RATE_LIMITED"
    EVENT_INVALID = "EVENT_INVALID"
    EVENT_TYPE_UNKNOWN = "EVENT_TYPE_UNKNOWN"
    EVENT_TYPE_SERVER_ONLY = "EVENT_TYPE_SERVER_ONLY"
    EVENT_PROPERTIES_INVALID = "EVENT_PROPERTIES_INVALID"
    EVENT_LESSON_REQUIRED = "EVENT_LESSON_REQUIRED"
    EVENT_LESSON_UNKNOWN = "EVENT_LESSON_UNKNOWN"
    EVENT_COURSE_UNKNOWN = "EVENT_COURSE_UNKNOWN"
    EVENT_TOO_OLD = "EVENT_TOO_OLD"
    # issue 15 (AI assistant): the provider boundary (assistant.llm).
    AI_NOT_CONFIGURED = "AI_NOT_CONFIGURED"
    AI_BUDGET_EXHAUSTED = "AI_BUDGET_EXHAUSTED"
    AI_PROVIDER_ERROR = "AI_PROVIDER_ERROR"
    AI_TIMEOUT = "AI_TIMEOUT"
    # issue 15 (AI drafts): review of a draft, and a model answer that is no usable draft.
    DRAFT_NOT_REVIEWABLE = "DRAFT_NOT_REVIEWABLE"
    DRAFT_OUTPUT_INVALID = "DRAFT_OUTPUT_INVALID"
    # issue 15 (the lesson tutor): its daily quota per tier, conversations and answers.
    TUTOR_NOT_IN_PLAN = "TUTOR_NOT_IN_PLAN"
    TUTOR_QUOTA_EXHAUSTED = "TUTOR_QUOTA_EXHAUSTED"
    TUTOR_CONVERSATION_NOT_FOUND = "TUTOR_CONVERSATION_NOT_FOUND"
    TUTOR_MESSAGE_NOT_FOUND = "TUTOR_MESSAGE_NOT_FOUND"
    # issue 16 (authoring API, helper A).
    SECTION_NOT_FOUND = "SECTION_NOT_FOUND"
    QUESTION_NOT_FOUND = "QUESTION_NOT_FOUND"
    CLIENT_ID_CONFLICT = "CLIENT_ID_CONFLICT"
    CONTENT_IN_USE = "CONTENT_IN_USE"
    LESSON_NOT_A_QUIZ = "LESSON_NOT_A_QUIZ"
    # issue 16 (course documents, helper B).
    COURSE_DOCUMENT_TOO_LARGE = "COURSE_DOCUMENT_TOO_LARGE"
    COURSE_DOCUMENT_CONFLICT = "COURSE_DOCUMENT_CONFLICT"
    COURSE_DOCUMENT_DELETES_LEARNER_DATA = "COURSE_DOCUMENT_DELETES_LEARNER_DATA"
    # issue 16 (offline bundles, helper C).
    APP_UPDATE_REQUIRED = "APP_UPDATE_REQUIRED"
    BUNDLE_URL_INVALID = "BUNDLE_URL_INVALID"
    BUNDLE_URL_EXPIRED = "BUNDLE_URL_EXPIRED"
    BUNDLE_GONE = "BUNDLE_GONE"
    # issue 16 (showcase, helper D).
    PROJECT_NOT_FOUND = "PROJECT_NOT_FOUND"
    PROJECT_NOT_YOURS = "PROJECT_NOT_YOURS"
    PROJECT_LOCKED = "PROJECT_LOCKED"
    PROJECT_NOT_REVIEWABLE = "PROJECT_NOT_REVIEWABLE"
    PROJECT_RESTORE_EXPIRED = "PROJECT_RESTORE_EXPIRED"
    # issue 16 (media downloads, helper E).
    # issue 17 (structure rules): locks of the course's own rules, distinct from tier locks.
    LOCKED_PREREQUISITE = "LOCKED_PREREQUISITE"
    LOCKED_UNTIL = "LOCKED_UNTIL"
    # issue 17 (early unlocks, release notices: helper A).
    # issue 17 (cohorts: helper C).
    COHORT_ADD_TOO_MANY = "COHORT_ADD_TOO_MANY"
    COHORT_NOT_FOUND = "COHORT_NOT_FOUND"
    COHORT_COURSE_CLOSED = "COHORT_COURSE_CLOSED"
    # issue 17 (learning paths: helper C).
    PATH_NOT_FOUND = "PATH_NOT_FOUND"


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    message: str


CATALOG: dict[ErrorCode, ErrorSpec] = {
    ErrorCode.BAD_REQUEST: ErrorSpec(400, "The request could not be understood."),
    ErrorCode.VALIDATION_ERROR: ErrorSpec(400, "Some fields are invalid."),
    ErrorCode.PARSE_ERROR: ErrorSpec(400, "The request body is not valid JSON."),
    ErrorCode.NOT_AUTHENTICATED: ErrorSpec(401, "Sign in to continue."),
    ErrorCode.AUTHENTICATION_FAILED: ErrorSpec(401, "The credentials are not valid."),
    ErrorCode.PERMISSION_DENIED: ErrorSpec(403, "You do not have permission to do this."),
    ErrorCode.NOT_FOUND: ErrorSpec(404, "Not found."),
    ErrorCode.PAGE_NOT_FOUND: ErrorSpec(404, "That page of results does not exist."),
    ErrorCode.METHOD_NOT_ALLOWED: ErrorSpec(405, "This method is not allowed here."),
    ErrorCode.NOT_ACCEPTABLE: ErrorSpec(406, "The requested response format is not available."),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: ErrorSpec(415, "The request body format is not supported."),
    ErrorCode.PAYLOAD_TOO_LARGE: ErrorSpec(413, "The request body is larger than allowed here."),
    ErrorCode.THROTTLED: ErrorSpec(429, "Too many requests. Try again later."),
    ErrorCode.SERVER_ERROR: ErrorSpec(500, "Something went wrong on our side."),
    ErrorCode.SERVICE_UNAVAILABLE: ErrorSpec(
        503, "This cannot be done right now: a service it needs is down. Try again in a minute."
    ),
    ErrorCode.COURSE_NOT_FOUND: ErrorSpec(404, "There is no course at this address."),
    ErrorCode.LESSON_NOT_FOUND: ErrorSpec(404, "There is no lesson at this address."),
    ErrorCode.LOGIN_REQUIRED: ErrorSpec(403, "Sign in to open this lesson."),
    ErrorCode.UPGRADE_REQUIRED: ErrorSpec(403, "This lesson needs a higher plan."),
    ErrorCode.SESSION_NOT_FOUND: ErrorSpec(404, "You have no session with this id."),
    ErrorCode.INVITE_NOT_FOUND: ErrorSpec(404, "There is no invite with this code."),
    ErrorCode.INVITE_EXPIRED: ErrorSpec(410, "This invite has expired."),
    ErrorCode.INVITE_REVOKED: ErrorSpec(410, "This invite has been revoked."),
    ErrorCode.INVITE_USED_UP: ErrorSpec(409, "This invite has already been used up."),
    ErrorCode.INVITE_ALREADY_REDEEMED: ErrorSpec(409, "You have already redeemed this invite."),
    ErrorCode.INVITE_NOT_FOR_YOU: ErrorSpec(
        403,
        "This invite was sent to another email address. Sign in with the account of that "
        "address (verified) to redeem it.",
    ),
    ErrorCode.ENROLLMENT_NOT_ALLOWED: ErrorSpec(403, "This course is not open for enrollment."),
    ErrorCode.NOT_ENROLLED: ErrorSpec(409, "You are not enrolled in this course."),
    ErrorCode.JOIN_CODE_NOT_FOUND: ErrorSpec(404, "No course has this join code."),
    ErrorCode.COMPLETION_NOT_MANUAL: ErrorSpec(
        409, "This lesson completes by watching the video or passing the quiz."
    ),
    ErrorCode.POSITION_NOT_VIDEO: ErrorSpec(409, "Only video lessons have a position."),
    ErrorCode.QUIZ_NOT_FOUND: ErrorSpec(404, "This lesson has no quiz."),
    ErrorCode.QUIZ_ATTEMPTS_EXHAUSTED: ErrorSpec(
        409, "You have used all your attempts at this quiz."
    ),
    # 429 with Retry-After, as for throttles; the envelope's `retry_at` says when it opens.
    ErrorCode.QUIZ_RETRY_NOT_YET: ErrorSpec(
        429, "Your next attempt at this quiz is not open yet: see when it opens."
    ),
    ErrorCode.EVENT_IN_FUTURE: ErrorSpec(400, "The event is dated in the future."),
    ErrorCode.CERTIFICATE_NOT_FOUND: ErrorSpec(404, "There is no certificate with this code."),
    ErrorCode.CERTIFICATE_NAME_PENDING: ErrorSpec(
        409, "This certificate shows once its owner has confirmed the name to print on it."
    ),
    ErrorCode.CERTIFICATE_NAME_CORRECTIONS_USED_UP: ErrorSpec(
        409,
        "The name on this certificate has been corrected as many times as allowed; "
        "contact us to change it again.",
    ),
    ErrorCode.WEBHOOK_NOT_CONFIGURED: ErrorSpec(
        503, "Webhooks from this provider are not configured on this site."
    ),
    ErrorCode.WEBHOOK_SIGNATURE_INVALID: ErrorSpec(
        400, "The webhook signature is missing or does not match."
    ),
    ErrorCode.WEBHOOK_TIMESTAMP_STALE: ErrorSpec(
        400, "The webhook signature's timestamp is more than 5 minutes away from our clock."
    ),
    ErrorCode.WEBHOOK_PAYLOAD_INVALID: ErrorSpec(400, "The webhook payload is not a valid event."),
    ErrorCode.MUX_NOT_CONFIGURED: ErrorSpec(
        503, "Video uploads are not configured: set MUX_TOKEN_ID and MUX_TOKEN_SECRET."
    ),
    ErrorCode.MUX_UNAVAILABLE: ErrorSpec(502, "Mux could not be reached. Try again in a moment."),
    ErrorCode.STORAGE_NOT_CONFIGURED: ErrorSpec(
        503, "File uploads are not available: no S3-compatible storage is configured."
    ),
    ErrorCode.UPLOAD_TYPE_NOT_ALLOWED: ErrorSpec(400, "This type of file cannot be uploaded here."),
    ErrorCode.UPLOAD_TOO_LARGE: ErrorSpec(400, "The file is larger than allowed here."),
    ErrorCode.UPLOAD_NOT_FOUND: ErrorSpec(404, "You have no upload with this id."),
    ErrorCode.UPLOAD_INCOMPLETE: ErrorSpec(409, "The file has not been uploaded yet."),
    ErrorCode.UPLOAD_MISMATCH: ErrorSpec(
        400, "The uploaded file does not match what was announced; it has been removed."
    ),
    ErrorCode.FILE_NOT_FOUND: ErrorSpec(404, "There is no file with this id."),
    ErrorCode.VIDEO_FILE_UNREADABLE: ErrorSpec(
        400, "This MP4 or WebM file's header gives no duration: it may be incomplete."
    ),
    ErrorCode.BILLING_NOT_CONFIGURED: ErrorSpec(503, "Payments are not set up on this site yet."),
    ErrorCode.BILLING_UNAVAILABLE: ErrorSpec(
        502, "Our payment provider could not be reached. Try again in a moment."
    ),
    ErrorCode.PLAN_NOT_FOUND: ErrorSpec(404, "There is no plan on sale with this id and billing."),
    ErrorCode.ALREADY_SUBSCRIBED: ErrorSpec(
        409, "You already have a subscription: switch plans from the billing portal."
    ),
    ErrorCode.NO_BILLING_ACCOUNT: ErrorSpec(
        409, "You have no billing account yet: choose a plan first."
    ),
    ErrorCode.CHECKOUT_NOT_FOUND: ErrorSpec(404, "You have no checkout with this id."),
    ErrorCode.NOTIFICATION_NOT_FOUND: ErrorSpec(404, "You have no notification with this id."),
    ErrorCode.NOTIFICATION_KIND_UNKNOWN: ErrorSpec(
        400, "There is no notification kind with this name: see the preferences list."
    ),
    ErrorCode.ANNOUNCEMENT_NOT_ALLOWED: ErrorSpec(
        403, "Only the course's instructors and staff can announce to its learners."
    ),
    ErrorCode.ANNOUNCEMENT_NOT_FOUND: ErrorSpec(404, "There is no announcement with this id."),
    ErrorCode.CHAT_CHANNEL_NOT_FOUND: ErrorSpec(404, "There is no chat channel with this id."),
    ErrorCode.CHAT_MESSAGE_NOT_FOUND: ErrorSpec(404, "There is no chat message with this id."),
    ErrorCode.CHAT_CHANNEL_ARCHIVED: ErrorSpec(409, "This chat channel is archived: read only."),
    ErrorCode.CHAT_NOT_YOUR_MESSAGE: ErrorSpec(
        403, "Only its author (or a moderator, to delete) can change this message."
    ),
    ErrorCode.CHAT_CLIENT_ID_REUSED: ErrorSpec(
        409, "This client_id was already used for another of your messages."
    ),
    ErrorCode.CHAT_RATE_LIMITED: ErrorSpec(
        429, "You are sending messages too fast: wait a few seconds."
    ),
    ErrorCode.THREAD_NOT_FOUND: ErrorSpec(404, "There is no discussion thread with this id."),
    ErrorCode.REPLY_NOT_FOUND: ErrorSpec(404, "There is no reply with this id."),
    ErrorCode.THREAD_LOCKED: ErrorSpec(409, "This thread is locked: it takes no new replies."),
    ErrorCode.NOT_YOUR_POST: ErrorSpec(403, "Only its author can change or delete this post."),
    ErrorCode.NOT_A_MODERATOR: ErrorSpec(
        403, "Only moderators, the course's instructors and staff can do this."
    ),
    ErrorCode.REPORT_NOT_FOUND: ErrorSpec(404, "There is no report with this id."),
    ErrorCode.REPORT_ALREADY_HANDLED: ErrorSpec(409, "This report has already been handled."),
    # 429 with Retry-After; `retry_at` says when the next post is accepted.
    ErrorCode.DISCUSSION_RATE_LIMITED: ErrorSpec(
        429, "You are posting too fast: wait a minute before posting again."
    ),
    ErrorCode.DATA_EXPORT_PENDING: ErrorSpec(
        409, "Your previous data export is still being prepared: we email you when it is ready."
    ),
    ErrorCode.DATA_EXPORT_NOT_FOUND: ErrorSpec(404, "You have no data export with this id."),
    ErrorCode.DATA_EXPORT_NOT_READY: ErrorSpec(409, "This data export is not ready yet."),
    ErrorCode.DATA_EXPORT_EXPIRED: ErrorSpec(
        410, "This download has expired and its file is deleted: ask for a new export."
    ),
    ErrorCode.ACCOUNT_DELETION_BLOCKED: ErrorSpec(409, "This account cannot be deleted yet."),
    ErrorCode.PREVIEW_ONLY: ErrorSpec(
        409, "This is a preview of unpublished content: progress is not recorded."
    ),
    # issue 14 (analytics ingestion). The EVENT_* codes answer one event of a batch (its
    # result's `code`; EVENT_IN_FUTURE too); the batch itself still answers 200.
    ErrorCode.ANALYTICS_BATCH_TOO_LARGE: ErrorSpec(
        413, "This batch has more events than allowed: send them in smaller batches."
    ),
    # 429 with Retry-After: the batch is refused whole, nothing of it is stored.
    ErrorCode.ANALYTICS_RATE_LIMITED: ErrorSpec(
        429, "This app is sending events too fast for you: send the batch again later."
    ),
    ErrorCode.EVENT_INVALID: ErrorSpec(
        400, "The event needs an `id` (UUID), a `type` and an `occurred_at` (ISO 8601 with zone)."
    ),
    ErrorCode.EVENT_TYPE_UNKNOWN: ErrorSpec(400, "There is no event type with this name."),
    ErrorCode.EVENT_TYPE_SERVER_ONLY: ErrorSpec(
        400, "Only the server records events of this type."
    ),
    ErrorCode.EVENT_PROPERTIES_INVALID: ErrorSpec(
        400, "The event's properties do not match its type in the catalog."
    ),
    ErrorCode.EVENT_LESSON_REQUIRED: ErrorSpec(400, "Events of this type name their lesson."),
    ErrorCode.EVENT_LESSON_UNKNOWN: ErrorSpec(400, "There is no lesson with this id."),
    ErrorCode.EVENT_COURSE_UNKNOWN: ErrorSpec(400, "There is no course with this id."),
    ErrorCode.EVENT_TOO_OLD: ErrorSpec(400, "The event is older than the server accepts."),
    # issue 15 (AI assistant). Nothing is sent to a provider for the first two.
    ErrorCode.AI_NOT_CONFIGURED: ErrorSpec(
        503, "AI features are not configured on this site: set LLM_BASE_URL and LLM_MODEL."
    ),
    ErrorCode.AI_BUDGET_EXHAUSTED: ErrorSpec(
        503, "This month's AI budget is used up: AI features open again next month."
    ),
    ErrorCode.AI_PROVIDER_ERROR: ErrorSpec(
        502, "The AI provider could not answer. Try again in a moment."
    ),
    ErrorCode.AI_TIMEOUT: ErrorSpec(504, "The AI provider took too long to answer. Try again."),
    ErrorCode.DRAFT_NOT_REVIEWABLE: ErrorSpec(
        409,
        "This draft is not waiting for review: it is still being written, or was already "
        "approved or discarded.",
    ),
    ErrorCode.DRAFT_OUTPUT_INVALID: ErrorSpec(
        502, "The model's answer could not be used as a draft."
    ),
    ErrorCode.TUTOR_NOT_IN_PLAN: ErrorSpec(
        403, "The tutor is not part of your plan: upgrade to ask it about lessons."
    ),
    # 429 with Retry-After; `retry_at` is the learner's next local midnight.
    ErrorCode.TUTOR_QUOTA_EXHAUSTED: ErrorSpec(
        429, "You have asked all of today's tutor questions: ask again after midnight."
    ),
    ErrorCode.TUTOR_CONVERSATION_NOT_FOUND: ErrorSpec(
        404, "You have no tutor conversation with this id."
    ),
    ErrorCode.TUTOR_MESSAGE_NOT_FOUND: ErrorSpec(404, "You have no tutor answer with this id."),
    # issue 16 (authoring API, helper A).
    ErrorCode.SECTION_NOT_FOUND: ErrorSpec(
        404, "There is no section with this id that you can edit."
    ),
    ErrorCode.QUESTION_NOT_FOUND: ErrorSpec(
        404, "There is no quiz question with this id that you can edit."
    ),
    # A retried create whose client_id names a row somewhere else (another course, section
    # or quiz, or one the caller cannot edit): nothing is created.
    ErrorCode.CLIENT_ID_CONFLICT: ErrorSpec(
        409, "This client_id already names another item: use a new client_id for a new item."
    ),
    # `fields.records` lists what learners have on it (progress, attempts, enrollments...).
    ErrorCode.CONTENT_IN_USE: ErrorSpec(
        409,
        "Learners have records on this (progress, attempts, certificates, invites...): "
        "unpublish or archive it instead of deleting it.",
    ),
    ErrorCode.LESSON_NOT_A_QUIZ: ErrorSpec(
        409, "Only a quiz lesson has a quiz: change the lesson's kind to quiz first."
    ),
    # issue 16 (course documents, helper B).
    ErrorCode.COURSE_DOCUMENT_TOO_LARGE: ErrorSpec(
        413,
        "This request has more sections or lessons than this site takes at once: "
        "send them in parts.",
    ),
    ErrorCode.COURSE_DOCUMENT_CONFLICT: ErrorSpec(
        409, "The course changed while this was being written: nothing was saved. Send it again."
    ),
    ErrorCode.COURSE_DOCUMENT_DELETES_LEARNER_DATA: ErrorSpec(
        409,
        "Replacing the course would delete lessons that learners have progress, attempts or "
        "discussions in: nothing was changed. Keep those lessons in the document.",
    ),
    # issue 16 (offline bundles, helper C).
    # 426 Upgrade Required: the app's version is below LMS_APP_MIN_VERSIONS for its name.
    ErrorCode.APP_UPDATE_REQUIRED: ErrorSpec(
        426, "This version of the app is too old: update it to keep downloading courses."
    ),
    ErrorCode.BUNDLE_URL_INVALID: ErrorSpec(
        403, "This download link is not valid: check for updates to get a new one."
    ),
    ErrorCode.BUNDLE_URL_EXPIRED: ErrorSpec(
        410, "This download link has expired: check for updates to get a new one."
    ),
    ErrorCode.BUNDLE_GONE: ErrorSpec(
        410, "This version of the section was replaced: check for updates to get the new one."
    ),
    # issue 16 (showcase, helper D).
    ErrorCode.PROJECT_NOT_FOUND: ErrorSpec(404, "There is no project at this address."),
    ErrorCode.PROJECT_NOT_YOURS: ErrorSpec(
        403, "Only the person who wrote this project (or the school's staff) can change it."
    ),
    ErrorCode.PROJECT_LOCKED: ErrorSpec(
        409, "This project is approved and public: ask the school's staff to change it."
    ),
    ErrorCode.PROJECT_NOT_REVIEWABLE: ErrorSpec(
        409, "This project is deleted: restore it before reviewing it."
    ),
    ErrorCode.PROJECT_RESTORE_EXPIRED: ErrorSpec(
        410, "This project was deleted too long ago to restore it yourself: ask the school's staff."
    ),
    # issue 16 (media downloads, helper E).
    # issue 17 (structure rules). The message names what to complete; LOCKED_UNTIL carries
    # the opening instant as `retry_at` when it is known.
    ErrorCode.LOCKED_PREREQUISITE: ErrorSpec(403, "Complete the earlier part of the course first."),
    ErrorCode.LOCKED_UNTIL: ErrorSpec(403, "This part of the course has not opened yet."),
    # issue 17 (early unlocks, release notices: helper A).
    # issue 17 (cohorts: helper C).
    ErrorCode.COHORT_ADD_TOO_MANY: ErrorSpec(400, "Too many addresses at once: split the list."),
    ErrorCode.COHORT_NOT_FOUND: ErrorSpec(404, "There is no such cohort in this course."),
    ErrorCode.COHORT_COURSE_CLOSED: ErrorSpec(
        409, "This course is archived: it takes no new learners, in a cohort or not."
    ),
    # issue 17 (learning paths: helper C).
    ErrorCode.PATH_NOT_FOUND: ErrorSpec(404, "There is no learning path here."),
}


class ApplicationError(Exception):
    """A business-rule failure with a stable code from the catalog."""

    def __init__(
        self,
        code: ErrorCode,
        message: str | None = None,
        *,
        fields: dict[str, list[str]] | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        self.code = code
        self.message = message or CATALOG[code].message
        self.fields = fields or {}
        # When the refused action opens (QUIZ_RETRY_NOT_YET): `retry_at` in the API envelope
        # and a Retry-After header.
        self.retry_at = retry_at
        super().__init__(self.message)

    @property
    def status(self) -> int:
        return CATALOG[self.code].status


class NotFoundError(ApplicationError, Http404):
    """Also an Http404, so HTML views render the 404 page without translating it."""


class AccessDeniedError(ApplicationError, PermissionDenied):
    """Also a PermissionDenied, so HTML views render the 403 page without translating it."""


# --- Transient failures: what tasks retry ---------------------------------------------------
# A task retries a failure only when it may go away by itself (a network error, a provider's
# overload or 5xx); a bug or a refusal (a provider's 4xx, bad data) is permanent and retrying
# it only hides it. Each provider's module registers the classifier that knows its SDK's
# errors (`billing.gateway`, `media.mux`), so `lms` imports none of them.
class TransientError(Exception):
    """A failure worth retrying later; raised from the error it classifies (`__cause__`)."""


_transient_classifiers: list = []


def transient_error_classifier(classifier):
    """Register `classifier(exc) -> bool`, which says whether a provider's error is transient."""
    if classifier not in _transient_classifiers:
        _transient_classifiers.append(classifier)
    return classifier


def error_is_transient(exc: BaseException) -> bool:
    """Whether `exc`, or the error it was raised from, may succeed when tried again later.

    TransientError, connection errors and timeouts are; a registered classifier decides for
    its provider's errors; anything else is permanent.
    """
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:  # an ApplicationError raised from an SDK error
        if isinstance(current, TransientError | ConnectionError | TimeoutError):
            return True
        if any(classifier(current) for classifier in _transient_classifiers):
            return True
        current, seen = current.__cause__, seen + 1
    return False
