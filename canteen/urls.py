from django.urls import path

from . import service_views, setup_views, views

app_name = "canteen"

urlpatterns = [
    path("", views.home, name="home"),
    path("enfant/<int:child_id>/", views.child_calendar, name="calendar-current"),
    path("enfant/<int:child_id>/<int:year>/<int:month>/", views.child_calendar, name="calendar"),
    path("menus/", views.public_menu_index, name="menus"),
    path("menus/<str:school_code>/", views.public_menu_week, name="menu-week-public"),
    path("personnel/appel/<int:school_id>/", views.roll, name="roll"),
    path("personnel/menus/<str:scope>/", views.menu_week_edit, name="menu-week"),
    path("personnel/menus/<str:scope>/<str:day>/", views.menu_day_edit, name="menu-day"),
    path("personnel/previsions/", views.forecast, name="forecast"),
    path("services/enfant/<int:child_id>/", service_views.child_services, name="services-current"),
    path(
        "services/enfant/<int:child_id>/<int:year>/<int:month>/",
        service_views.child_services,
        name="services-calendar",
    ),
    path("personnel/services/", service_views.staff_services, name="services-staff"),
    path("personnel/services/reglages/", setup_views.setup_list, name="setup-list"),
    path(
        "personnel/services/reglages/<int:service_id>/",
        setup_views.setup_service,
        name="setup-service",
    ),
    path(
        "personnel/services/<int:service_id>/appel/<int:school_id>/",
        service_views.service_roll,
        name="service-roll",
    ),
]
