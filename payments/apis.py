"""REST endpoints: ``/api/v1/invoices/`` and ``/api/v1/payments/`` (+ refunds, billing runs)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.access import IsFamilyMember, IsStaff, is_parent
from backend.core.api import MessageOutput, ModelSerializer, MonthField, Pagination, paginated
from backend.core.exceptions import ApplicationError

from . import permissions as perms
from .models import Invoice, Payment
from .services.billing import billing_run_request, parse_period


class InvoiceOutput(ModelSerializer):
    outstanding_cents = serializers.IntegerField(read_only=True)
    period = MonthField()

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "period",
            "status",
            "total_cents",
            "paid_cents",
            "outstanding_cents",
            "currency",
            "issued_at",
            "due_date",
            "debit_date",
            "household_id",
        ]


class InvoiceLineOutput(serializers.Serializer):
    child_id = serializers.IntegerField()
    day = serializers.DateField()
    kind = serializers.CharField()
    amount_cents = serializers.IntegerField()
    share_percent = serializers.IntegerField()
    description = serializers.CharField()


class PaymentOutput(ModelSerializer):
    receipt_number = serializers.CharField(read_only=True)
    invoices = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = [
            "id",
            "receipt_number",
            "provider",
            "status",
            "amount_cents",
            "refunded_cents",
            "currency",
            "failure_message",
            "created_at",
            "succeeded_at",
            "household_id",
            "invoices",
        ]

    def get_invoices(self, obj) -> list[int]:
        return [a.invoice_id for a in obj.allocations.all()]


class InvoiceListApi(APIView):
    """Invoices the caller may see: a parent's household, a staff member's schools, all for admins."""

    pagination_class = Pagination

    permission_classes = [IsFamilyMember]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Invoice.Status.choices, required=False)
        period = serializers.RegexField(r"^\d{4}-\d{2}$", required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=Invoice.Status.values),
            OpenApiParameter("period", str, description="AAAA-MM"),
        ],
        responses={200: InvoiceOutput(many=True)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = perms.invoices_for_user(request.user).order_by("-period", "number")
        if "status" in filters.validated_data:
            qs = qs.filter(status=filters.validated_data["status"])
        if "period" in filters.validated_data:
            qs = qs.filter(period=parse_period(filters.validated_data["period"]))
        return paginated(request, self, qs, InvoiceOutput)


class InvoiceDetailApi(APIView):
    permission_classes = [IsFamilyMember]

    class OutputSerializer(InvoiceOutput):
        lines = InvoiceLineOutput(many=True)

        class Meta(InvoiceOutput.Meta):
            fields = [*InvoiceOutput.Meta.fields, "lines"]

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request, pk: int):
        invoice = perms.invoice_for_user(request.user, pk)
        return Response(self.OutputSerializer(invoice).data)


class PaymentListApi(APIView):
    """``GET``: the caller's payments. ``POST``: pay one or several invoices in one payment."""

    pagination_class = Pagination

    permission_classes = [IsFamilyMember]

    class InputSerializer(serializers.Serializer):
        invoices = serializers.ListField(
            child=serializers.IntegerField(min_value=1), min_length=1, max_length=24
        )
        payment_method = serializers.RegexField(
            r"^pm_[A-Za-z0-9_]{1,200}$",
            required=False,
            help_text="A Stripe PaymentMethod id to confirm server-side (test mode / saved card).",
        )

    class CreatedSerializer(PaymentOutput):
        client_secret = serializers.CharField(read_only=True)

        class Meta(PaymentOutput.Meta):
            fields = [*PaymentOutput.Meta.fields, "client_secret"]

    @extend_schema(responses={200: PaymentOutput(many=True)})
    def get(self, request):
        qs = (
            perms.payments_for_user(request.user)
            .prefetch_related("allocations")
            .order_by("-created_at")
        )
        return paginated(request, self, qs, PaymentOutput)

    @extend_schema(request=InputSerializer, responses={201: CreatedSerializer})
    def post(self, request):
        from .services.payments import payment_start_online

        if not is_parent(request.user):
            raise ApplicationError(
                _("Seul un parent paie en ligne ; au guichet, enregistrez un paiement."),
                status_code=403,
            )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invoices = [
            perms.invoice_for_user(request.user, i)
            for i in dict.fromkeys(data.validated_data["invoices"])
        ]
        payment = payment_start_online(
            actor=request.user,
            invoices=invoices,
            payment_method=data.validated_data.get("payment_method"),
        )
        return Response(self.CreatedSerializer(payment).data, status=status.HTTP_201_CREATED)


class PaymentDetailApi(APIView):
    permission_classes = [IsFamilyMember]

    @extend_schema(responses={200: PaymentOutput})
    def get(self, request, pk: int):
        return Response(PaymentOutput(perms.payment_for_user(request.user, pk)).data)


class RefundCreateApi(APIView):
    """Staff: refund part or all of a payment, with a reason. Never more than what is left.

    Send an ``Idempotency-Key`` header: the same key again answers the same refund (nothing is
    refunded twice). Without it, the same refund asked twice within two minutes answers 409.
    The answer's ``status`` is ``pending`` while the provider's confirmation is awaited.
    """

    permission_classes = [IsStaff]

    class InputSerializer(serializers.Serializer):
        amount_cents = serializers.IntegerField(min_value=1, max_value=10_000_000)
        reason = serializers.CharField(max_length=255)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        amount_cents = serializers.IntegerField()
        status = serializers.CharField()
        reason = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request, pk: int):
        from .services.payments import refund_create

        payment = perms.payment_for_user(request.user, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if len(key) > 80:
            raise ApplicationError(_("Idempotency-Key : 80 caractères au plus."))
        refund = refund_create(
            actor=request.user,
            payment=payment,
            token=f"api:{request.user.pk}:{key}" if key else None,
            **data.validated_data,
        )
        return Response(self.OutputSerializer(refund).data, status=status.HTTP_201_CREATED)


class BillingRunCreateApi(APIView):
    """Staff: start the billing run of a period (in the background). Idempotent."""

    permission_classes = [IsStaff]

    class InputSerializer(serializers.Serializer):
        period = serializers.RegexField(r"^\d{4}-\d{2}$")
        issue = serializers.BooleanField(default=False)

    @extend_schema(request=InputSerializer, responses={202: MessageOutput})
    def post(self, request):
        if not perms.is_finance(request.user):
            raise ApplicationError(
                _("La facturation de la ville relève des finances (administrateurs)."),
                status_code=403,
            )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        period = billing_run_request(
            actor=request.user,
            period=parse_period(data.validated_data["period"]),
            issue=data.validated_data["issue"],
        )
        return Response(
            MessageOutput(
                {"message": _("Facturation lancée."), "extra": {"period": f"{period:%Y-%m}"}}
            ).data,
            status=202,
        )
