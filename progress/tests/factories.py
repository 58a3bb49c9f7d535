import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.tests.factories import CourseFactory
from progress.models import Enrollment


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    user = factory.SubFactory(UserFactory)
    course = factory.SubFactory(CourseFactory)
    source = Enrollment.Source.SELF
    created_at = factory.LazyFunction(timezone.now)
