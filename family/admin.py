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
