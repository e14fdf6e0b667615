from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_v1 = [
    path("", include("backend.core.api_urls")),
    path("", include("family.api_urls")),
    path("canteen/", include("canteen.api_urls")),
    path("services/", include("canteen.service_api_urls")),
    path("", include("payments.api_urls")),
    path("fleet/", include("fleet.api_urls")),
    path("osquery/", include("fleet.public_urls")),
]

urlpatterns = [
    path("", include("backend.core.urls")),
    path("", include("backend.citizen.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("compte/", include("backend.core.account.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/osquery/", include("fleet.public_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("famille/", include("family.urls")),
    path("cantine/", include("canteen.urls")),
    path("paiements/", include("payments.urls")),
    path("payments/", include("payments.public_urls")),
    path("parc/", include("fleet.urls")),
]

handler404 = "backend.core.views.error_404"
handler500 = "backend.core.views.error_500"
