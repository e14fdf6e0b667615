from django.contrib import admin

from .models import (
    Account,
    BillingRun,
    DunningReminder,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    Payment,
    PaymentSettings,
    Refund,
    StripeEvent,
)


@admin.register(PaymentSettings)
class PaymentSettingsAdmin(admin.ModelAdmin):
    list_display = ["mode", "invoice_due_days", "block_bookings_after_days"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["guardian", "household", "currency", "sepa_iban_last4"]
    search_fields = ["household__name", "guardian__user__email"]
    raw_id_fields = ["guardian", "household"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money records are changed through services only (append-only ledger, forward-only states)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "household", "kind", "amount_cents", "currency", "label"]
    list_filter = ["kind"]
    search_fields = ["household__name", "source_key"]


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    readonly_fields = [
        "child",
        "day",
        "kind",
        "amount_cents",
        "share_percent",
        "description",
        "source",
        "source_id",
    ]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "household",
        "period",
        "status",
        "total_cents",
        "paid_cents",
        "due_date",
    ]
    list_filter = ["status", "period"]
    search_fields = ["number", "household__name"]
    inlines = [InvoiceLineInline]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "household",
        "provider",
        "status",
        "amount_cents",
        "refunded_cents",
        "created_at",
    ]
    list_filter = ["provider", "status"]
    search_fields = ["provider_reference", "household__name"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["pk", "payment", "amount_cents", "status", "reason", "created_at"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "status", "received_at", "processed_at"]
    list_filter = ["status", "type"]


@admin.register(BillingRun)
class BillingRunAdmin(ReadOnlyAdmin):
    list_display = [
        "period",
        "started_at",
        "finished_at",
        "invoices_created",
        "lines_created",
        "total_cents",
    ]


@admin.register(DunningReminder)
class DunningReminderAdmin(ReadOnlyAdmin):
    list_display = ["invoice", "level", "sent_at"]
