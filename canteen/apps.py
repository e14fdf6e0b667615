from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CanteenConfig(AppConfig):
    name = "canteen"
    verbose_name = _("Restauration scolaire")

    def ready(self) -> None:
        # Booking guards come from settings: a wrong dotted path stops start-up with its name.
        from django.core.exceptions import ImproperlyConfigured

        from .services import booking_guards
        from .shared import connect_signals

        connect_signals()

        try:
            booking_guards()
        except ImportError as exc:
            raise ImproperlyConfigured(f"MINOT_BOOKING_GUARDS: {exc}") from exc
