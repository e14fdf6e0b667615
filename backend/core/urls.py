from django.contrib.auth import views as auth_views
from django.urls import path

from backend.core.account.forms import RateLimitedPasswordResetForm

from . import views
from .metrics import metrics_view

urlpatterns = [
    path("", views.home, name="home"),
    path("parent/", views.home_parent, name="home-parent"),
    path("ecole/", views.home_staff, name="home-staff"),
    path("ville/", views.home_admin, name="home-admin"),
    path("technicien/", views.home_technician, name="home-technician"),
    path("connexion/", views.LoginView.as_view(), name="login"),
    path("deconnexion/", views.LogoutView.as_view(), name="logout"),
    path(
        "mot-de-passe/oubli/",
        auth_views.PasswordResetView.as_view(form_class=RateLimitedPasswordResetForm),
        name="password_reset",
    ),
    path(
        "mot-de-passe/oubli/envoye/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "mot-de-passe/nouveau/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "mot-de-passe/termine/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("mot-de-passe/changer/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "mot-de-passe/change/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/lues/", views.notifications_read, name="notifications-read"),
    path(
        "compte/notifications/",
        views.notification_preferences,
        name="notification-preferences",
    ),
    path("csp-report/", views.csp_report, name="csp-report"),
    path("vie-privee/", views.privacy_notice, name="privacy"),
    path("accessibilite/", views.accessibility_statement, name="accessibility"),
    path("ville/journal-des-consultations/", views.audit_access, name="audit-access"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("readyz", views.readyz, name="readyz"),
]
