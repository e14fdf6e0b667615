from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import (
    AttendanceRecord,
    AttendanceRoll,
    Booking,
    DeadlineRule,
    Dish,
    Menu,
    Service,
    Tariff,
    TariffLine,
    Unit,
    UnitDay,
)


class UnitInline(admin.TabularInline):
    model = Unit
    extra = 0
    fields = ["code", "name", "kind", "includes_meal", "capacity", "position"]


class DeadlineRuleInline(admin.TabularInline):
    model = DeadlineRule
    extra = 0
    max_num = 2


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    """Service set-up: units and capacity, opening days, site, conditions, deadlines (tariffs in
    "Grilles tarifaires"). Raising a unit's capacity does not promote the waiting list by itself:
    staff do it per day in "Places par jour" (action), so nobody is booked without being told."""

    list_display = ["code", "name", "kind", "site", "is_active", "position"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]
    filter_horizontal = ["schools"]
    inlines = [UnitInline, DeadlineRuleInline]


@admin.action(description=_("Promouvoir la liste d'attente (places libres)"))
def promote_waiting_list(modeladmin, request, queryset):
    from .services import waitlist_promote

    slots = {(d.unit, d.site_id, d.day) for d in queryset.select_related("unit__service")}
    promoted = waitlist_promote(slots=slots)
    modeladmin.message_user(
        request,
        ngettext("%(n)s réservation confirmée.", "%(n)s réservations confirmées.", len(promoted))
        % {"n": len(promoted)},
    )


@admin.register(UnitDay)
class UnitDayAdmin(admin.ModelAdmin):
    """A unit's capacity on one day at one site (leave empty for the unit's capacity)."""

    list_display = ["day", "unit", "site", "capacity"]
    list_filter = ["unit__service"]
    date_hierarchy = "day"
    actions = [promote_waiting_list]


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(admin.ModelAdmin):
    list_display = [
        "service",
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
        "service",
        "mode",
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

    list_display = ["day", "child", "service", "unit", "status", "variant", "created_at"]
    list_filter = ["service", "status", "variant"]
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

    list_display = ["day", "school", "service", "taken_by", "taken_at"]
    list_filter = ["service", "school"]
    date_hierarchy = "day"
    inlines = [AttendanceRecordInline]
    readonly_fields = ["school", "service", "day", "taken_by", "taken_at"]

    def has_add_permission(self, request):
        return False
