"""osquery remote API, mounted at /api/osquery/ and /api/v1/osquery/ (hence no app_name)."""

from django.urls import re_path

from . import public_views

urlpatterns = [
    re_path(r"^enroll/?$", public_views.enroll),
    re_path(r"^config/?$", public_views.config),
    re_path(r"^log/?$", public_views.log),
    re_path(r"^distributed/read/?$", public_views.read),
    re_path(r"^distributed/write/?$", public_views.write),
]
