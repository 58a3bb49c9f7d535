"""The provider calls' ledger in the admin: staff read each call and the monthly totals
against the budget; nobody edits it; instructors do not see it."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.roles import INSTRUCTORS_GROUP
from accounts.tests.factories import UserFactory
from assistant import llm
from assistant.models import LLMCall

pytestmark = pytest.mark.django_db

MESSAGES = [{"role": "user", "content": "Explain closures."}]


def test_staff_see_each_call_and_this_months_spend_against_the_budget(
    fake_llm, settings, staff_client, django_assert_max_num_queries
):
    settings.LLM_MONTHLY_BUDGET_USD = Decimal("5")
    settings.LLM_PRICE_INPUT_PER_MILLION = Decimal("1")
    settings.LLM_PRICE_OUTPUT_PER_MILLION = Decimal("4")
    fake_llm.reply(prompt_tokens=500_000, completion_tokens=125_000)  # USD 1.00
    for purpose in ("draft.notes", "tutor"):
        llm.chat_complete(messages=MESSAGES, purpose=purpose, user=None, max_tokens=100)
    fake_llm.reply(status=500)
    with pytest.raises(llm.AIProviderError):
        llm.chat_complete(messages=MESSAGES, purpose="tutor", user=None, max_tokens=100)

    with django_assert_max_num_queries(12):
        response = staff_client.get(reverse("admin:assistant_llmcall_changelist"))

    assert response.status_code == 200
    text = " ".join(response.content.decode().split())
    assert "This month: <strong>2.00 USD</strong> spent." in text
    assert "<strong>3.00 USD</strong> left of the monthly budget of 5.00 USD." in text
    # This month's row: 3 calls, 1 failed, the tokens and the cost.
    assert "<td>3</td> <td>1</td> <td>1000000</td> <td>250000</td> <td>2.0000</td>" in text
    assert "draft.notes" in text
    assert "Provider error" in text


def test_the_admin_says_when_the_budget_is_used_up_or_ai_is_not_configured(settings, staff_client):
    settings.LLM_MONTHLY_BUDGET_USD = Decimal("1")
    LLMCall.objects.create(purpose="tutor", model="m", status="ok", cost_usd=Decimal("1.5"))

    text = " ".join(
        staff_client.get(reverse("admin:assistant_llmcall_changelist")).content.decode().split()
    )

    assert "The monthly budget is used up:" in text
    assert "<strong>Not configured:</strong> set LLM_BASE_URL and LLM_MODEL" in text


def test_the_ledger_cannot_be_edited_added_to_or_deleted_from(staff_client):
    call = LLMCall.objects.create(purpose="tutor", model="m", status="ok")

    add = staff_client.get(reverse("admin:assistant_llmcall_add"))
    change = staff_client.post(
        reverse("admin:assistant_llmcall_change", args=[call.pk]), {"purpose": "edited"}
    )
    delete = staff_client.post(
        reverse("admin:assistant_llmcall_delete", args=[call.pk]), {"post": "yes"}
    )

    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    call.refresh_from_db()
    assert call.purpose == "tutor"
    detail = staff_client.get(reverse("admin:assistant_llmcall_change", args=[call.pk]))
    assert detail.status_code == 200  # readable, field by field


def test_instructors_do_not_see_the_schools_spend(client):
    instructor = UserFactory(is_staff=True)
    instructor.groups.add(Group.objects.get(name=INSTRUCTORS_GROUP))
    client.force_login(instructor)

    response = client.get(reverse("admin:assistant_llmcall_changelist"))

    assert response.status_code == 403
