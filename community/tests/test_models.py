import pytest
from django.db import IntegrityError, transaction

from community.models import Report
from community.tests.factories import ReplyFactory, ReportFactory, ThreadFactory

pytestmark = pytest.mark.django_db


def test_a_report_is_about_exactly_one_post():
    reply = ReplyFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportFactory(thread=reply.thread, reply=reply)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportFactory(thread=None, reply=None)
    assert Report.objects.count() == 0


def test_one_open_report_per_person_and_post():
    report = ReportFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportFactory(thread=report.thread, reporter=report.reporter)
    assert Report.objects.count() == 1


def test_threads_need_a_title_and_a_body():
    with pytest.raises(IntegrityError), transaction.atomic():
        ThreadFactory(title="")
    with pytest.raises(IntegrityError), transaction.atomic():
        ThreadFactory(body="")
