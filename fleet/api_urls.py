from django.urls import path

from . import apis

app_name = "fleet-api"

urlpatterns = [
    path("devices/", apis.DeviceListApi.as_view(), name="devices"),
    path("devices/<int:device_id>/", apis.DeviceDetailApi.as_view(), name="device"),
    path(
        "devices/<int:device_id>/unblock/",
        apis.DeviceUnblockApi.as_view(),
        name="device-unblock",
    ),
    path("alerts/", apis.AlertListApi.as_view(), name="alerts"),
    path(
        "alerts/<int:alert_id>/acknowledge/",
        apis.AlertAcknowledgeApi.as_view(),
        name="alert-acknowledge",
    ),
]
