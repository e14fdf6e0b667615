from django.contrib.auth import authenticate
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from backend.core.account.services import api_token_create, api_token_revoke, api_tokens_revoke_all
from backend.core.account.twofactor import two_factor_match, two_factor_required

from .api import Pagination, paginated
from .exceptions import ApplicationError
from .ratelimit import normalise_email
from .selectors import notification_exists, notification_list
from .services import notification_mark_read


class AuthThrottle(AnonRateThrottle):
    scope = "auth"


class TokenLoginApi(APIView):
    """Exchange an email and password for an API token (``Authorization: Token <token>``)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [AuthThrottle]

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        password = serializers.CharField(trim_whitespace=False, max_length=256)
        name = serializers.CharField(
            max_length=100,
            required=False,
            allow_blank=True,
            default="",
            help_text="The device that will use the token (shown on the account page).",
        )
        otp = serializers.CharField(
            max_length=32,
            required=False,
            allow_blank=True,
            default="",
            help_text="Two-factor code (authenticator app or recovery code) when the account has it.",
        )

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        expiry = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=normalise_email(data.validated_data["email"]),
            password=data.validated_data["password"],
        )
        if getattr(request._request, "axes_locked_out", False):
            raise ApplicationError(
                _(
                    "Trop de tentatives de connexion pour ce compte depuis cette adresse. Réessayez plus tard."
                ),
                status_code=429,
            )
        if user is None or not user.is_active:
            raise ApplicationError(_("Adresse e-mail ou mot de passe incorrect."), status_code=401)
        if two_factor_required(user) and not two_factor_match(
            user=user, code=data.validated_data["otp"]
        ):
            raise ApplicationError(
                _("Code de double authentification manquant ou incorrect."),
                {"otp_required": True},
                status_code=401,
            )
        token, secret = api_token_create(user=user, name=data.validated_data["name"])
        return Response(self.OutputSerializer({"token": secret, "expiry": token.expiry}).data)

    def get_authenticate_header(self, request):
        return 'Token realm="api"'


class TokenLogoutApi(APIView):
    """Revoke the token this request was made with (sign the device out)."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if request.auth is not None and hasattr(request.auth, "token_key"):
            api_token_revoke(user=request.user, token_key=request.auth.token_key)
        return Response(status=204)


class TokenLogoutAllApi(APIView):
    """Revoke every API token of the account."""

    @extend_schema(
        request=None,
        responses={200: inline_serializer("Revoked", {"revoked": serializers.IntegerField()})},
    )
    def post(self, request):
        return Response({"revoked": api_tokens_revoke_all(user=request.user, reason="logout_all")})


class TokenListApi(APIView):
    """The account's live API tokens (never the secrets)."""

    class OutputSerializer(serializers.Serializer):
        key = serializers.CharField(source="token_key")
        name = serializers.CharField()
        created = serializers.DateTimeField()
        expiry = serializers.DateTimeField()
        last_used_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(responses={200: OutputSerializer(many=True)})
    def get(self, request):
        from backend.core.account.selectors import api_token_list

        return Response(self.OutputSerializer(api_token_list(user=request.user), many=True).data)


class TokenRevokeApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request, key: str):
        api_token_revoke(user=request.user, token_key=key)
        return Response(status=204)


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        email = serializers.EmailField()
        first_name = serializers.CharField()
        last_name = serializers.CharField()
        role = serializers.CharField()
        language = serializers.CharField()

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        return Response(self.OutputSerializer(request.user).data)


class NotificationListApi(APIView):
    pagination_class = Pagination

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        created_at = serializers.DateTimeField()
        subject = serializers.CharField()
        body = serializers.CharField()
        url = serializers.CharField()
        read_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(responses={200: OutputSerializer(many=True)})
    def get(self, request):

        return paginated(request, self, notification_list(user=request.user), self.OutputSerializer)


class NotificationReadApi(APIView):
    @extend_schema(
        request=None,
        responses={200: inline_serializer("ReadCount", {"updated": serializers.IntegerField()})},
    )
    def post(self, request, notification_id: int):
        updated = notification_mark_read(user=request.user, notification_id=notification_id)
        if not updated and not notification_exists(
            user=request.user, notification_id=notification_id
        ):
            raise Http404
        return Response({"updated": updated})


class ApiRootApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request):
        names = {
            "household": "family-api:household",
            "children": "family-api:children",
            "registrations": "family-api:registrations",
            "activities": "family-api:activities",
            "canteen-menus": "canteen-api:menus",
            "canteen-bookings": "canteen-api:bookings",
            "invoices": "payments-api:invoices",
            "payments": "payments-api:payments",
            "fleet-devices": "fleet-api:devices",
            "fleet-alerts": "fleet-api:alerts",
        }
        links = {
            "auth-token": reverse("api-token", request=request),
            "schema": reverse("api-schema", request=request),
        }
        for key, name in names.items():
            links[key] = reverse(name, request=request)
        return Response(links)
