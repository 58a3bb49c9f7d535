"""`{% load paths_tags %}{% my_path_certificates %}`: the signed-in learner's path
certificates as items of a certificate list, for the pages that list their course
certificates ("My learning"). One query; nothing for visitors or learners without any."""

from django import template

from progress.paths.selectors import path_certificates_of

register = template.Library()


@register.inclusion_tag("progress/paths/_my_path_certificates.html", takes_context=True)
def my_path_certificates(context: template.Context) -> dict:
    user = context.get("user")
    certificates = (
        list(path_certificates_of(user=user)) if user is not None and user.is_authenticated else []
    )
    return {"path_certificates": certificates}
