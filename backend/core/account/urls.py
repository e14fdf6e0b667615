from django.urls import path

from . import views

urlpatterns = [
    path("", views.account, name="account"),
    path("jetons/<str:key>/revoquer/", views.token_revoke, name="account-token-revoke"),
    path("double-authentification/", views.two_factor_setup, name="account-2fa-setup"),
    path("double-authentification/verifier/", views.two_factor_verify, name="account-2fa-verify"),
    path(
        "double-authentification/desactiver/",
        views.two_factor_disable,
        name="account-2fa-disable",
    ),
    path("double-authentification/codes/", views.recovery_codes, name="account-recovery-codes"),
]
