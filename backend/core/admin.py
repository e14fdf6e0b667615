"""Read-only views of the outbox and the outgoing emails, for operators chasing a stuck task."""

from django.contrib import admin

from .models import OutboxMessage, OutgoingEmail


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "task", "created_at", "attempts", "published_at", "done_at"]
    list_filter = ["task"]
    search_fields = ["task", "request_id"]


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ReadOnlyAdmin):
    list_display = ["id", "subject", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status"]
    search_fields = ["subject", "key"]
