from django.contrib import admin

from . import models


@admin.register(models.School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "city", "has_mobile_classroom", "is_active"]
    list_filter = ["kind", "has_mobile_classroom", "is_active"]
    search_fields = ["name", "code"]
    filter_horizontal = ["staff"]


class ClosureInline(admin.TabularInline):
    model = models.CalendarClosure
    extra = 0


@admin.register(models.SchoolYear)
class SchoolYearAdmin(admin.ModelAdmin):
    list_display = ["label", "start_date", "end_date"]
    inlines = [ClosureInline]


@admin.register(models.IncomeBracket)
class IncomeBracketAdmin(admin.ModelAdmin):
    list_display = ["number", "min_quotient", "max_quotient"]


@admin.register(models.SchoolTerm)
class SchoolTermAdmin(admin.ModelAdmin):
    list_display = ["school_year", "label", "start_date", "end_date"]
    list_filter = ["school_year"]


@admin.register(models.CatchmentArea)
class CatchmentAreaAdmin(admin.ModelAdmin):
    list_display = ["street_name", "number_from", "number_to", "parity", "school"]
    list_filter = ["parity", "school"]
    search_fields = ["street_name", "street_key", "school__name"]


class GuardianInline(admin.TabularInline):
    model = models.Guardian
    extra = 0
    raw_id_fields = ["user"]


@admin.register(models.Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ["name", "city", "legacy_ref", "created_at"]
    search_fields = ["name", "legacy_ref", "guardians__user__email"]
    inlines = [GuardianInline]


@admin.register(models.Child)
class ChildAdmin(admin.ModelAdmin):
    list_display = ["first_name", "last_name", "birth_date", "school", "class_name", "diet"]
    list_filter = ["school", "diet"]
    search_fields = ["first_name", "last_name"]
    raw_id_fields = ["household"]


@admin.register(models.IncomeAssessment)
class IncomeAssessmentAdmin(admin.ModelAdmin):
    list_display = [
        "household",
        "quotient",
        "source",
        "status",
        "bracket",
        "valid_from",
        "valid_until",
    ]
    list_filter = ["status", "source"]
    raw_id_fields = ["household", "document"]


class EventInline(admin.TabularInline):
    model = models.ApplicationEvent
    extra = 0
    can_delete = False
    readonly_fields = [
        "created_at",
        "kind",
        "from_state",
        "to_state",
        "message",
        "actor",
        "actor_kind",
    ]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(models.SchoolApplication)
class SchoolApplicationAdmin(admin.ModelAdmin):
    """Read-mostly: state changes go through the staff pages (services), never edited here."""

    list_display = ["tracking_code", "child", "school", "school_year", "state", "submitted_at"]
    list_filter = ["state", "school_year", "school"]
    search_fields = ["tracking_code", "child__last_name"]
    readonly_fields = ["state", "tracking_code", "submitted_at", "decided_at", "decided_by"]
    raw_id_fields = ["child", "household"]
    inlines = [EventInline]


@admin.register(models.Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["name", "school", "kind", "capacity", "start_date", "end_date", "is_open"]
    list_filter = ["kind", "is_open", "school"]


@admin.register(models.ChangeRequest)
class ChangeRequestAdmin(admin.ModelAdmin):
    list_display = ["household", "child", "category", "state", "created_at"]
    list_filter = ["category", "state"]
    readonly_fields = ["changes", "previous", "state"]
    raw_id_fields = ["household", "child"]
