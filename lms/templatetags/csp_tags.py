"""`{% csp_component "name" %}`: a partial declares the third-party component it embeds.

The response then carries that component's extra CSP sources (lms.csp.COMPONENT_SOURCES),
and pages without the component keep the strict policy.
"""

from django import template

from lms.csp import csp_component_use

register = template.Library()


@register.simple_tag(takes_context=True)
def csp_component(context: template.Context, name: str) -> str:
    request = context.get("request")
    if request is not None:
        csp_component_use(request, name)
    return ""
