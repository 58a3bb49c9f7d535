import factory
from allauth.account.models import EmailAddress

from accounts.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"learner{n}@example.com")
    display_name = factory.Faker("name")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def verified_email(self, create: bool, extracted: bool | None, **kwargs) -> None:
        """`UserFactory(verified_email=True)` also gives the user a verified primary allauth
        EmailAddress: with mandatory verification, only such users can sign in with the
        form (a plain factory user is sent a verification code first)."""
        if create and extracted:
            EmailAddress.objects.update_or_create(
                user=self, email=self.email.lower(), defaults={"verified": True, "primary": True}
            )
