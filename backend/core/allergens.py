"""The 14 allergens of Regulation (EU) No 1169/2011, Annex II. Shared by family and canteen."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Allergen(models.TextChoices):
    GLUTEN = "gluten", _("Céréales contenant du gluten")
    CRUSTACEANS = "crustaceans", _("Crustacés")
    EGGS = "eggs", _("Œufs")
    FISH = "fish", _("Poissons")
    PEANUTS = "peanuts", _("Arachides")
    SOYBEANS = "soybeans", _("Soja")
    MILK = "milk", _("Lait")
    NUTS = "nuts", _("Fruits à coque")
    CELERY = "celery", _("Céleri")
    MUSTARD = "mustard", _("Moutarde")
    SESAME = "sesame", _("Graines de sésame")
    SULPHITES = "sulphites", _("Anhydride sulfureux et sulfites")
    LUPIN = "lupin", _("Lupin")
    MOLLUSCS = "molluscs", _("Mollusques")


ALLERGEN_CODES: tuple[str, ...] = tuple(Allergen.values)
