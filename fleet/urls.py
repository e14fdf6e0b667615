from django.urls import path

from . import views

app_name = "fleet"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("ecoles/<int:school_id>/", views.school_detail, name="school"),
    path("ecoles/<int:school_id>/secret/", views.school_secret, name="school-secret"),
    path("ecoles/<int:school_id>/chariots/", views.cart_create, name="cart-create"),
    path("chariots/<int:cart_id>/", views.cart_detail, name="cart"),
    path("appareils/", views.device_list, name="devices"),
    path("appareils/export.csv", views.device_export, name="devices-csv"),
    path("appareils/<int:device_id>/", views.device_detail, name="device"),
    path("appareils/<int:device_id>/<slug:action>/", views.device_action, name="device-action"),
    path("alertes/", views.alert_list, name="alerts"),
    path("alertes/<int:alert_id>/<slug:action>/", views.alert_action, name="alert-action"),
    path("reparations/", views.ticket_list, name="tickets"),
    path("reparations/<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("requetes/", views.live_query_list, name="live-queries"),
    path("requetes/<int:query_id>/", views.live_query_detail, name="live-query"),
    path(
        "requetes/<int:query_id>/resultats.json",
        views.live_query_results,
        name="live-query-results",
    ),
    path("rapport/", views.report, name="report"),
]
