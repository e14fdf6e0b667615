from django.urls import path

from . import apis

urlpatterns = [
    path("", apis.ApiRootApi.as_view(), name="api-root"),
    path("auth/token/", apis.TokenLoginApi.as_view(), name="api-token"),
    path("auth/logout/", apis.TokenLogoutApi.as_view(), name="api-token-logout"),
    path("auth/logout-all/", apis.TokenLogoutAllApi.as_view(), name="api-token-logout-all"),
    path("auth/tokens/", apis.TokenListApi.as_view(), name="api-tokens"),
    path("auth/tokens/<str:key>/revoke/", apis.TokenRevokeApi.as_view(), name="api-token-revoke"),
    path("me/", apis.MeApi.as_view(), name="api-me"),
    path("notifications/", apis.NotificationListApi.as_view(), name="api-notifications"),
    path(
        "notifications/<int:notification_id>/read/",
        apis.NotificationReadApi.as_view(),
        name="api-notification-read",
    ),
]
