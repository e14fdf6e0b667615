from django.urls import path

from . import apis

app_name = "payments-api"

urlpatterns = [
    path("invoices/", apis.InvoiceListApi.as_view(), name="invoices"),
    path("invoices/<int:pk>/", apis.InvoiceDetailApi.as_view(), name="invoice"),
    path("payments/", apis.PaymentListApi.as_view(), name="payments"),
    path("payments/<int:pk>/", apis.PaymentDetailApi.as_view(), name="payment"),
    path("payments/<int:pk>/refunds/", apis.RefundCreateApi.as_view(), name="payment-refunds"),
    path("billing-runs/", apis.BillingRunCreateApi.as_view(), name="billing-runs"),
]
