from django.contrib import admin

from .models import CitizenLink, StaffGroupRole


@admin.register(CitizenLink)
class CitizenLinkAdmin(admin.ModelAdmin):
    list_display = ("user", "issuer", "sub", "created_at", "last_login_at")
    search_fields = ("user__email", "sub")
    list_filter = ("issuer",)
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "last_login_at")


@admin.register(StaffGroupRole)
class StaffGroupRoleAdmin(admin.ModelAdmin):
    list_display = ("group", "role", "priority")
    list_editable = ("role", "priority")
    search_fields = ("group",)
    filter_horizontal = ("schools",)
