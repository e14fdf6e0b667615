from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "backend.core"
    label = "core"
    verbose_name = _("Socle")

    def ready(self) -> None:
        from .account import schema  # noqa: F401 - registers the token scheme with drf-spectacular
