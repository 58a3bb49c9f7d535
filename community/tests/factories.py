import factory

from accounts.tests.factories import UserFactory
from catalog.tests.factories import LessonFactory
from community.models import Reply, Report, Thread


class ThreadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Thread

    lesson = factory.SubFactory(LessonFactory)
    author = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Question {n}")
    body = "How do I *count* the beat?"


class ReplyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reply

    thread = factory.SubFactory(ThreadFactory)
    author = factory.SubFactory(UserFactory)
    body = "Tap your foot on one."


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report

    thread = factory.SubFactory(ThreadFactory)
    reporter = factory.SubFactory(UserFactory)
    reason = Report.Reason.SPAM
