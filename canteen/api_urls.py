from django.urls import path

from . import apis

app_name = "canteen-api"

urlpatterns = [
    path("menus/", apis.MenuListApi.as_view(), name="menus"),
    path("menus/save/", apis.MenuSaveApi.as_view(), name="menu-save"),
    path("menus/copy-week/", apis.MenuCopyWeekApi.as_view(), name="menus-copy-week"),
    path("bookings/", apis.BookingsApi.as_view(), name="bookings"),
    path("bookings/cancel/", apis.BookingsCancelApi.as_view(), name="bookings-cancel"),
    path("bookings/copy-week/", apis.BookingsCopyWeekApi.as_view(), name="bookings-copy-week"),
    path(
        "children/<int:child_id>/calendar/", apis.ChildCalendarApi.as_view(), name="child-calendar"
    ),
    path("price/", apis.PriceApi.as_view(), name="price"),
    path("attendance/", apis.AttendanceApi.as_view(), name="attendance"),
    path("forecast/", apis.ForecastApi.as_view(), name="forecast"),
    path("kitchen-list/", apis.KitchenListApi.as_view(), name="kitchen-list"),
]
