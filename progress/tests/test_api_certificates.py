"""The name on my certificate through the API (`POST /api/v1/me/certificates/{code}/name/`):
the same rules as the certificate page, with the API's error envelope."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from progress.models import Certificate
from progress.services import lesson_complete
from progress.tests.test_api_learning import course_of, error, iso

pytestmark = pytest.mark.django_db


def name_url(code: str) -> str:
    return reverse("progress-api:my-certificate-name", kwargs={"code": code})


def certificate_of(user) -> Certificate:
    _course, (lesson,) = course_of("text", slug="salsa", title="Salsa basics")
    lesson_complete(user=user, lesson=lesson)
    return Certificate.objects.get(user=user)


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def body(certificate: Certificate, **changes) -> dict:
    return {
        "code": certificate.code,
        "course": {"slug": "salsa", "title": "Salsa basics"},
        "issued_at": iso(certificate.issued_at),
        "learner_name": certificate.learner_name,
        "name_pending": certificate.name_pending,
        "name_corrections_left": 2 - certificate.name_corrections,
        "url": f"http://testserver/certificates/{certificate.code}/",
        **changes,
    }


def test_the_endpoint_is_at_its_documented_address():
    assert name_url("ABC") == "/api/v1/me/certificates/ABC/name/"


def test_an_app_gives_the_missing_name_and_the_certificate_shows(api_client):
    learner = UserFactory(email="zoe.quiet@example.com", display_name="")
    certificate = certificate_of(learner)
    assert as_user(learner).get("/api/v1/me/certificates/").json()["results"] == [
        body(certificate, learner_name="", name_pending=True)
    ]
    verify = f"/api/v1/certificates/{certificate.code}/"
    assert api_client.get(verify).json()["name_pending"] is True

    response = as_user(learner).post(
        name_url(certificate.code.lower()), {"learner_name": " Zoë Quiet "}, format="json"
    )

    certificate.refresh_from_db()
    assert response.status_code == 200
    assert response.json() == body(certificate, learner_name="Zoë Quiet", name_pending=False)
    assert api_client.get(verify).json()["learner_name"] == "Zoë Quiet"
    entry = AuditLog.objects.get()
    assert (entry.action, entry.actor, entry.details["new_name"]) == (
        "certificate.name_confirmed",
        learner,
        "Zoë Quiet",
    )


def test_an_app_corrects_the_name_and_the_code_stays():
    learner = UserFactory(display_name="Ada Lovelace")
    certificate = certificate_of(learner)

    response = as_user(learner).post(
        name_url(certificate.code), {"learner_name": "Ada King"}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == body(certificate, learner_name="Ada King", name_corrections_left=1)
    certificate.refresh_from_db()
    assert (certificate.learner_name, certificate.name_corrections) == ("Ada King", 1)
    assert AuditLog.objects.get().details["old_name"] == "Ada Lovelace"


def test_an_unusable_name_is_a_validation_error_on_learner_name():
    learner = UserFactory(display_name="Ada Lovelace")
    certificate = certificate_of(learner)

    response = as_user(learner).post(
        name_url(certificate.code), {"learner_name": "ada@example.com"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {"learner_name": ["Enter your name, not an email address."]},
    )
    assert not AuditLog.objects.exists()


def test_past_the_limit_a_correction_is_refused(settings):
    settings.LMS_CERTIFICATE_NAME_CORRECTIONS = 0
    learner = UserFactory(display_name="Ada Lovelace")
    certificate = certificate_of(learner)

    response = as_user(learner).post(
        name_url(certificate.code), {"learner_name": "Ada King"}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == error(
        "CERTIFICATE_NAME_CORRECTIONS_USED_UP",
        "The name on this certificate has been corrected as many times as allowed; "
        "contact us to change it again.",
    )
    certificate.refresh_from_db()
    assert certificate.learner_name == "Ada Lovelace"


def test_someone_elses_certificate_is_not_found_and_stays_as_it_is(api_client):
    certificate = certificate_of(UserFactory(display_name="Ada Lovelace"))
    mallory = UserFactory(display_name="Mallory")

    refused = as_user(mallory).post(
        name_url(certificate.code), {"learner_name": "Mallory"}, format="json"
    )
    anonymous = api_client.post(name_url(certificate.code), {"learner_name": "X"}, format="json")

    assert refused.status_code == 404
    assert refused.json() == error(
        "CERTIFICATE_NOT_FOUND", "There is no certificate with this code."
    )
    assert anonymous.status_code == 401
    certificate.refresh_from_db()
    assert certificate.learner_name == "Ada Lovelace"
    assert not AuditLog.objects.exists()
