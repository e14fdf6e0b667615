from django.urls import path

from . import service_apis as apis

app_name = "services-api"

urlpatterns = [
    path("", apis.ServiceListApi.as_view(), name="services"),
    path(
        "children/<int:child_id>/calendar/",
        apis.ChildServicesCalendarApi.as_view(),
        name="child-calendar",
    ),
    path("bookings/", apis.ServiceBookingsApi.as_view(), name="bookings"),
    path("bookings/cancel/", apis.ServiceCancelApi.as_view(), name="bookings-cancel"),
    path("holiday-week/", apis.HolidayWeekApi.as_view(), name="holiday-week"),
    path("roll/", apis.ServiceRollApi.as_view(), name="roll"),
    path("forecast/", apis.ServiceForecastApi.as_view(), name="forecast"),
]
