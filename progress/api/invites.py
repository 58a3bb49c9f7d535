"""Invites API: redeeming an invite."""

from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api import CourseRefSerializer, TierRefSerializer
from lms.api.schema import error_responses
from lms.http import client_ip
from progress.models import Invite
from progress.services import invite_redeem

TAG = "invites"


@extend_schema_serializer(component_name="InviteRef")
class InviteRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    role = serializers.ChoiceField(choices=Invite.Role.choices, help_text="The role it grants.")


class InviteRedeemApi(APIView):
    """Redeem an invite code for the signed-in user."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="InviteRedeem")
    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(
            max_length=32, help_text="The invite code; case and surrounding spaces are ignored."
        )

    @extend_schema_serializer(component_name="InviteRedemption")
    class OutputSerializer(serializers.Serializer):
        """What the redemption gave: the role, the course enrolled into, the tier granted."""

        invite = InviteRefSerializer()
        course = CourseRefSerializer(source="invite.course", allow_null=True)
        tier = TierRefSerializer(source="tier_grant.tier", allow_null=True)
        tier_expires_at = serializers.DateTimeField(
            source="tier_grant.expires_at",
            allow_null=True,
            help_text="When the granted tier ends; null without a tier.",
        )

    @extend_schema(
        operation_id="invites_redeem",
        tags=[TAG],
        summary="Redeem an invite",
        description=(
            "Grants the invite's role (never lowering the user's), enrolls the user in its "
            "course and grants its tier, all at once. An invite sent to one email address "
            "can be redeemed only by the account with that verified address, unless staff "
            "opened it to anyone with the code. Errors: 404 `INVITE_NOT_FOUND`, "
            "410 `INVITE_EXPIRED` or `INVITE_REVOKED`, 403 `INVITE_NOT_FOR_YOU`, "
            "409 `INVITE_USED_UP` or `INVITE_ALREADY_REDEEMED`."
        ),
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 401, 403, 404, 409, 410)},
        examples=[OpenApiExample("Code", value={"code": "ABCDE23456"}, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        redemption = invite_redeem(
            code=data.validated_data["code"], user=request.user, ip_address=client_ip(request)
        )
        return Response(self.OutputSerializer(redemption).data)


urlpatterns = [
    path("invites/redeem/", InviteRedeemApi.as_view(), name="invite-redeem"),
]
