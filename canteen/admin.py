from django.contrib import admin

from .models import (
    AttendanceRecord,
    AttendanceRoll,
    Booking,
    DeadlineRule,
    Dish,
    Menu,
    Tariff,
    TariffLine,
)


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(admin.ModelAdmin):
    list_display = [
        "action",
        "days_before",
        "cutoff_time",
        "skip_weekends",
        "skip_public_holidays",
        "skip_school_holidays",
    ]


class TariffLineInline(admin.TabularInline):
    model = TariffLine
    extra = 0


@admin.register(Tariff)
class TariffAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "valid_from",
        "valid_until",
        "currency",
        "packed_lunch_cents",
        "unbooked_surcharge_cents",
    ]
    inlines = [TariffLineInline]


class DishInline(admin.TabularInline):
    model = Dish
    extra = 0


@admin.register(Menu)
class MenuAdmin(admin.ModelAdmin):
    list_display = ["day", "school", "published"]
    list_filter = ["published", "school"]
    date_hierarchy = "day"
    inlines = [DishInline]


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    """Read-only: bookings change through the services (deadlines, audit)."""

    list_display = ["day", "child", "status", "variant", "created_at"]
    list_filter = ["status", "variant"]
    date_hierarchy = "day"
    raw_id_fields = ["child", "booked_by"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AttendanceRecordInline(admin.TabularInline):
    model = AttendanceRecord
    extra = 0
    raw_id_fields = ["child", "booking"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AttendanceRoll)
class AttendanceRollAdmin(admin.ModelAdmin):
    """Deleting a roll (administrators) unlocks the day."""

    list_display = ["day", "school", "taken_by", "taken_at"]
    list_filter = ["school"]
    date_hierarchy = "day"
    inlines = [AttendanceRecordInline]
    readonly_fields = ["school", "day", "taken_by", "taken_at"]

    def has_add_permission(self, request):
        return False
