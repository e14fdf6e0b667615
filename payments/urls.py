from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("", views.home, name="home"),
    path("factures/<int:pk>/", views.invoice_detail, name="invoice"),
    path("payer/", views.pay, name="pay"),
    path("historique/", views.history, name="history"),
    path("historique/<int:pk>/", views.payment_detail, name="payment"),
    path("historique/<int:pk>/recu.pdf", views.receipt, name="receipt"),
    path("attestation/<int:year>.pdf", views.certificate, name="certificate"),
    path("sepa/", views.sepa, name="sepa"),
    path("recharger/", views.top_up, name="top-up"),
    path("gestion/", views.staff_home, name="staff"),
    path("gestion/emettre/", views.staff_issue, name="staff-issue"),
    path("gestion/familles/<int:household_id>/", views.staff_household, name="staff-household"),
    path(
        "gestion/comptes/<int:account_id>/guichet/",
        views.staff_counter_payment,
        name="staff-counter",
    ),
    path("gestion/paiements/<int:pk>/rembourser/", views.staff_refund, name="staff-refund"),
    path("gestion/factures/<int:pk>/annuler/", views.staff_cancel_invoice, name="staff-cancel"),
    path("gestion/export/", views.staff_export, name="staff-export"),
    path("gestion/rapprochement/", views.staff_reconciliation, name="staff-reconciliation"),
    path("gestion/anomalies/", views.staff_findings, name="staff-findings"),
    path(
        "gestion/familles/<int:household_id>/mode/",
        views.staff_billing_mode,
        name="staff-billing-mode",
    ),
    path(
        "gestion/comptes/<int:account_id>/regularisation/",
        views.staff_adjustment,
        name="staff-adjustment",
    ),
]
