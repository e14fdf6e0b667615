"""REST API for technicians: /api/v1/fleet/devices/ and /api/v1/fleet/alerts/."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.api import Pagination, paginated

from .models import Alert, AlertKind, DeviceStatus
from .permissions import (
    FleetApiPermission,
    alert_for_user,
    alerts_for_user,
    device_for_user,
    devices_for_user,
)
from .selectors import device_list
from .services.enrollment import device_unblock
from .services.repairs import alert_acknowledge


class DeviceOutput(serializers.Serializer):
    id = serializers.IntegerField()
    identity = serializers.CharField()
    serial = serializers.CharField()
    school = serializers.CharField(source="school.code", default=None, allow_null=True)
    school_name = serializers.CharField(source="school.name", default=None, allow_null=True)
    cart = serializers.CharField(source="cart.name", default=None, allow_null=True)
    slot = serializers.IntegerField(allow_null=True)
    role = serializers.CharField()
    status = serializers.CharField()
    status_expected = serializers.BooleanField()
    last_seen_at = serializers.DateTimeField(allow_null=True)
    hardware_vendor = serializers.CharField()
    hardware_model = serializers.CharField()
    os_name = serializers.CharField()
    os_version = serializers.CharField()
    storage_total_bytes = serializers.IntegerField(allow_null=True)
    storage_free_bytes = serializers.IntegerField(allow_null=True)
    battery_health_percent = serializers.FloatField(allow_null=True)
    battery_cycle_count = serializers.IntegerField(allow_null=True)
    battery_forecast_date = serializers.DateField(allow_null=True)
    conflict_serial = serializers.CharField()
    blocked_at = serializers.DateTimeField(source="revoked_at", allow_null=True)


class DeviceDetailOutput(DeviceOutput):
    apps = serializers.JSONField()
    network = serializers.JSONField()
    inventory_at = serializers.DateTimeField(allow_null=True)


class DeviceListApi(APIView):
    pagination_class = Pagination
    permission_classes = [FleetApiPermission]

    class FilterSerializer(serializers.Serializer):
        school = serializers.IntegerField(required=False, min_value=1, max_value=2**31)
        cart = serializers.IntegerField(required=False, min_value=1, max_value=2**31)
        status = serializers.ChoiceField(choices=DeviceStatus.choices, required=False)
        q = serializers.CharField(required=False, max_length=100)

    @extend_schema(parameters=[FilterSerializer], responses=DeviceOutput(many=True))
    def get(self, request):
        devices_for_user(request.user)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        devices = device_list(
            school_id=data.get("school"),
            cart_id=data.get("cart"),
            status=data.get("status"),
            search=data.get("q", ""),
        )
        return paginated(request, self, devices, DeviceOutput)


class DeviceDetailApi(APIView):
    permission_classes = [FleetApiPermission]

    @extend_schema(responses=DeviceDetailOutput)
    def get(self, request, device_id: int):
        return Response(DeviceDetailOutput(device_for_user(request.user, device_id)).data)


class DeviceUnblockApi(APIView):
    """Lift a device's block: it may enroll again with its school's secret."""

    permission_classes = [FleetApiPermission]

    @extend_schema(request=None, responses=DeviceDetailOutput)
    def post(self, request, device_id: int):
        device = device_unblock(device=device_for_user(request.user, device_id), actor=request.user)
        return Response(DeviceDetailOutput(device).data)


class AlertOutput(serializers.Serializer):
    id = serializers.IntegerField()
    device = serializers.IntegerField(source="device_id")
    device_identity = serializers.CharField(source="device.identity")
    school = serializers.CharField(source="device.school.code", default=None, allow_null=True)
    kind = serializers.CharField()
    state = serializers.CharField()
    message = serializers.CharField()
    opened_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    auto_resolved = serializers.BooleanField()


class AlertListApi(APIView):
    pagination_class = Pagination
    permission_classes = [FleetApiPermission]

    class FilterSerializer(serializers.Serializer):
        state = serializers.ChoiceField(
            choices=[*Alert.State.choices, ("active", "active")], required=False
        )
        kind = serializers.ChoiceField(choices=AlertKind.choices, required=False)
        school = serializers.IntegerField(required=False, min_value=1, max_value=2**31)
        device = serializers.IntegerField(required=False, min_value=1, max_value=2**31)

    @extend_schema(parameters=[FilterSerializer], responses=AlertOutput(many=True))
    def get(self, request):
        alerts = alerts_for_user(request.user)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        state = data.get("state", "active")
        alerts = (
            alerts.exclude(state=Alert.State.RESOLVED)
            if state == "active"
            else alerts.filter(state=state)
        )
        if data.get("kind"):
            alerts = alerts.filter(kind=data["kind"])
        if data.get("school"):
            alerts = alerts.filter(device__school_id=data["school"])
        if data.get("device"):
            alerts = alerts.filter(device_id=data["device"])
        return paginated(request, self, alerts, AlertOutput)


class AlertAcknowledgeApi(APIView):
    permission_classes = [FleetApiPermission]

    @extend_schema(request=None, responses=AlertOutput)
    def post(self, request, alert_id: int):
        alert = alert_acknowledge(alert=alert_for_user(request.user, alert_id), actor=request.user)
        return Response(AlertOutput(alert).data)
