from django.urls import path

from . import views

urlpatterns = [
    path("oidc/authenticate/", views.authenticate_citizen, name="citizen-authenticate"),
    path("oidc/agents/authenticate/", views.authenticate_staff, name="citizen-staff-authenticate"),
    path("oidc/callback/", views.callback, name="citizen-callback"),
    path("oidc/confirmer/", views.confirm, name="citizen-confirm"),
    path("compte/compte-citoyen/", views.account, name="citizen-account"),
]
