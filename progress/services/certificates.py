"""The learner's name on their certificates: what is printed when one is issued, and the
owner giving a missing name or correcting it (audited, the code unchanged).

A certificate is frozen when it is issued: renaming the profile later changes none of them.
A learner without a usable name (older accounts, a provider sign-up that gave none) still
gets the certificate, and with it nothing of the course is lost (completion, XP); it is
shown and downloadable once they give the name to print. After that, the owner may correct
it `LMS_CERTIFICATE_NAME_CORRECTIONS` times (typos, a married name); each change is an
audit entry with the old and the new name; past the limit, staff decide.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import PERSON_NAME_MAX_LENGTH, AuditLog, User, validate_person_name
from accounts.services import audit_record, user_profile_update
from lms.errors import ApplicationError, ErrorCode
from notifications.services import notification_send
from progress.models import Certificate


def _name_normalise(value: str) -> str:
    return " ".join(value.split())


def certificate_name_for(*, user: User) -> str:
    """The name a new certificate of `user` carries: their display name, or "" (to be given
    by them before it shows) when they have none or it looks like an email address."""
    name = _name_normalise(user.display_name)
    try:
        validate_person_name(name)
    except ValidationError:
        return ""
    return name


def certificate_name_clean(value: str) -> str:
    """A name given for a certificate, trimmed; ValidationError on `learner_name` if unusable."""
    name = _name_normalise(value)
    errors = []
    if not name:
        errors.append(ValidationError("Enter the name to print on the certificate.", "required"))
    elif len(name) > PERSON_NAME_MAX_LENGTH:
        errors.append(
            ValidationError(
                "Use at most %(max)d characters.", "max_length", {"max": PERSON_NAME_MAX_LENGTH}
            )
        )
    else:
        try:
            validate_person_name(name)
        except ValidationError as exc:
            errors.extend(exc.error_list)
    if errors:
        raise ValidationError({"learner_name": errors})
    return name


def certificate_name_corrections_left(*, certificate: Certificate) -> int:
    return max(0, settings.LMS_CERTIFICATE_NAME_CORRECTIONS - certificate.name_corrections)


@transaction.atomic
def certificate_name_set(
    *, certificate: Certificate, user: User, learner_name: str, ip_address: str | None = None
) -> Certificate:
    """The owner gives the name printed on their certificate: the first name of a certificate
    issued without one (not counted), or a correction (counted, refused past the limit with
    CERTIFICATE_NAME_CORRECTIONS_USED_UP). The code, course and date never change. Audited in
    the same transaction; the same name again changes nothing and writes nothing.

    Giving the first name also becomes the profile's display name when there is none, so the
    next certificates carry it from the start.
    """
    if certificate.user_id != user.pk:
        raise ApplicationError(ErrorCode.PERMISSION_DENIED)
    name = certificate_name_clean(learner_name)
    locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
    if name == locked.learner_name:
        return locked
    first = locked.name_pending
    if not first and not certificate_name_corrections_left(certificate=locked):
        raise ApplicationError(ErrorCode.CERTIFICATE_NAME_CORRECTIONS_USED_UP)
    old_name = locked.learner_name
    locked.learner_name = name
    if not first:
        locked.name_corrections += 1
    locked.save(update_fields=["learner_name", "name_corrections"])
    audit_record(
        action=(
            AuditLog.Action.CERTIFICATE_NAME_CONFIRMED
            if first
            else AuditLog.Action.CERTIFICATE_NAME_CORRECTED
        ),
        actor=user,
        target=locked,
        ip_address=ip_address,
        details={
            "code": locked.code,
            "course_title": locked.course_title,
            "old_name": old_name,
            "new_name": name,
            "corrections": locked.name_corrections,
        },
    )
    if first and not certificate_name_for(user=user):
        user_profile_update(user=user, display_name=name)
    return locked


def certificates_notify(*, user: User, certificates: list[Certificate]) -> None:
    """Tell the learner about each certificate (kind `certificate`): in-app, and by email as
    they chose. Once per certificate, however often it is called (the source is its code)."""
    for certificate in certificates:
        notification_send(
            user=user,
            kind="certificate",
            title=f"You earned a certificate: {certificate.course_title}",
            body="Congratulations on completing the course: open your certificate to share it.",
            url=certificate.get_absolute_url(),
            source=f"certificate:{certificate.code}",
        )
