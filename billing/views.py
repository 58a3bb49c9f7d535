"""Billing pages. (Placeholder: being written.)"""

from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("todo")


pricing = account = checkout = checkout_success = checkout_cancel = portal = _todo
