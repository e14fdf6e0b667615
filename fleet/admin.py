from django.contrib import admin

from .models import Alert, Cart, Device, EnrollSecret, RepairTicket, SchoolFleetSettings


@admin.register(SchoolFleetSettings)
class SchoolFleetSettingsAdmin(admin.ModelAdmin):
    list_display = ["school", "inventory_interval", "missing_after_school_days", "min_os_version"]


@admin.register(EnrollSecret)
class EnrollSecretAdmin(admin.ModelAdmin):
    list_display = ["school", "hint", "created_at", "revoked_at"]
    readonly_fields = ["secret_hash", "hint", "created_at", "created_by"]


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["name", "school", "slot_count"]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["identity", "school", "cart", "slot", "status", "last_seen_at"]
    list_filter = ["status", "role"]
    search_fields = ["identity", "serial"]
    readonly_fields = ["node_key_hash"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["device", "kind", "state", "opened_at"]
    list_filter = ["kind", "state"]


@admin.register(RepairTicket)
class RepairTicketAdmin(admin.ModelAdmin):
    list_display = ["title", "device", "state", "created_at"]
    list_filter = ["state"]
