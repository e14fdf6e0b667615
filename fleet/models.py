"""Classroom devices: enrollment, hierarchy (school → cart → slot), inventory, alerts, repairs.

Minimal data: no user names, no hostnames, no location, no browsing data (docs/fleet.md §Data).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.core.models import TimeStampedModel
from family.models import School


class SchoolFleetSettings(models.Model):
    """Per-school knobs; a school without a row uses the defaults below."""

    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="fleet_settings")
    inventory_interval = models.PositiveIntegerField(_("intervalle d'inventaire (s)"), default=3600)
    missing_after_school_days = models.PositiveSmallIntegerField(
        _("disparu après (jours d'école)"), default=3
    )
    min_os_version = models.CharField(_("version minimale du système"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("réglages du parc d'une école")
        verbose_name_plural = _("réglages du parc des écoles")

    def __str__(self) -> str:
        return str(self.school)


class EnrollSecret(models.Model):
    """A school's enroll secret, stored as a SHA-256 hash. One active secret per school."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="enroll_secrets")
    secret_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(_("début du secret"), max_length=8, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("secret d'inscription")
        verbose_name_plural = _("secrets d'inscription")
        constraints = [
            models.UniqueConstraint(
                fields=["school"],
                condition=Q(revoked_at__isnull=True),
                name="fleet_one_active_secret_per_school",
            )
        ]

    def __str__(self) -> str:
        return f"{self.school} ({self.hint}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Cart(TimeStampedModel):
    """A mobile classroom: a cart of devices with numbered slots."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="carts")
    name = models.CharField(_("nom"), max_length=100)
    slot_count = models.PositiveSmallIntegerField(_("nombre d'emplacements"), default=16)

    class Meta:
        ordering = ["school__name", "name"]
        verbose_name = _("chariot")
        verbose_name_plural = _("chariots")
        constraints = [
            models.UniqueConstraint(fields=["school", "name"], name="fleet_cart_name_per_school")
        ]

    def __str__(self) -> str:
        return f"{self.school} — {self.name}"


class DeviceStatus(models.TextChoices):
    ONLINE = "online", _("En ligne")
    OFFLINE = "offline", _("Hors ligne")
    MISSING = "missing", _("Disparu")
    NEVER_SEEN = "never_seen", _("Jamais vu")


class DeviceRole(models.TextChoices):
    REGULAR = "regular", _("En service")
    SPARE = "spare", _("Réserve")
    LOAN = "loan", _("Prêt")
    RETIRED = "retired", _("Retiré")


class Device(TimeStampedModel):
    """One physical device. Identity = hardware serial (or hardware UUID when there is none)."""

    # serial, else hardware UUID, else a random id the server assigned ("minot-…")
    identity = models.CharField(_("identifiant matériel"), max_length=128, unique=True)
    serial = models.CharField(_("numéro de série"), max_length=128, blank=True)
    hardware_uuid = models.CharField(max_length=64, blank=True)
    # osquery's random per-installation id: finds a device without hardware id again, tells clones apart
    instance_id = models.CharField(max_length=64, blank=True, db_index=True)
    platform_type = models.CharField(max_length=8, blank=True)
    node_key_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    enrolled_at = models.DateTimeField(null=True, blank=True)
    enroll_secret = models.ForeignKey(
        EnrollSecret, null=True, blank=True, on_delete=models.SET_NULL
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    school = models.ForeignKey(
        School, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices"
    )
    cart = models.ForeignKey(
        Cart, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices"
    )
    slot = models.PositiveSmallIntegerField(_("emplacement"), null=True, blank=True)
    role = models.CharField(
        _("usage"), max_length=16, choices=DeviceRole.choices, default=DeviceRole.REGULAR
    )
    loaned_from = models.ForeignKey(
        School, null=True, blank=True, on_delete=models.SET_NULL, related_name="loaned_devices"
    )

    last_seen_at = models.DateTimeField(null=True, blank=True, db_index=True)
    status = models.CharField(
        max_length=16, choices=DeviceStatus.choices, default=DeviceStatus.NEVER_SEEN
    )
    status_expected = models.BooleanField(
        default=False, help_text="offline at a time the school is closed"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)

    # Latest inventory, denormalised for fast pages (history in InventoryReport / BatterySample).
    hardware_vendor = models.CharField(max_length=128, blank=True)
    hardware_model = models.CharField(max_length=128, blank=True)
    cpu_brand = models.CharField(max_length=128, blank=True)
    memory_bytes = models.BigIntegerField(null=True, blank=True)
    os_name = models.CharField(max_length=64, blank=True)
    os_version = models.CharField(max_length=64, blank=True)
    os_build = models.CharField(max_length=64, blank=True)
    os_platform = models.CharField(max_length=32, blank=True)
    osquery_version = models.CharField(max_length=32, blank=True)
    storage_total_bytes = models.BigIntegerField(null=True, blank=True)
    storage_free_bytes = models.BigIntegerField(null=True, blank=True)
    battery_percent = models.SmallIntegerField(null=True, blank=True)
    battery_cycle_count = models.IntegerField(null=True, blank=True)
    battery_design_capacity = models.IntegerField(null=True, blank=True)
    battery_full_capacity = models.IntegerField(null=True, blank=True)
    battery_health_percent = models.FloatField(null=True, blank=True)
    battery_charging = models.BooleanField(null=True, blank=True)
    battery_forecast_date = models.DateField(
        _("remplacement prévu de la batterie"), null=True, blank=True
    )
    battery_wear_per_month = models.FloatField(null=True, blank=True)
    apps = models.JSONField(default=list, blank=True)
    # event-form snapshot being received: {"at": unix time, "apps": [...]} (see inventory.py)
    apps_pending = models.JSONField(default=dict, blank=True)
    network = models.JSONField(default=list, blank=True)
    inventory_at = models.DateTimeField(null=True, blank=True)

    conflict_serial = models.CharField(
        _("numéro de série signalé en conflit"), max_length=128, blank=True
    )
    conflict_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["identity"]
        verbose_name = _("appareil")
        verbose_name_plural = _("appareils")
        constraints = [
            models.UniqueConstraint(
                fields=["cart", "slot"],
                condition=Q(cart__isnull=False, slot__isnull=False),
                name="fleet_one_device_per_slot",
            )
        ]
        indexes = [models.Index(fields=["school", "status"], name="fleet_device_school_status")]

    def __str__(self) -> str:
        return self.serial or self.identity

    @property
    def storage_free_percent(self) -> float | None:
        if not self.storage_total_bytes or self.storage_free_bytes is None:
            return None
        return round(100.0 * self.storage_free_bytes / self.storage_total_bytes, 1)


class DeviceAssignment(models.Model):
    """History of where a device was: one row per placement, closed when it moves."""

    class Kind(models.TextChoices):
        ENROLL = "enroll", _("Inscription")
        MOVE = "move", _("Déplacement")
        SWAP = "swap", _("Échange")
        LOAN = "loan", _("Prêt")
        RETURN = "return", _("Retour de prêt")
        SPARE = "spare", _("Mise en réserve")
        RETIRE = "retire", _("Retrait")

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="assignments")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    school = models.ForeignKey(
        School, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cart = models.ForeignKey(
        Cart, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    slot = models.PositiveSmallIntegerField(null=True, blank=True)
    role = models.CharField(max_length=16, choices=DeviceRole.choices, default=DeviceRole.REGULAR)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("affectation")
        verbose_name_plural = _("affectations")

    def __str__(self) -> str:
        return f"{self.device} {self.kind} {self.started_at:%Y-%m-%d}"


class InventoryReport(models.Model):
    """One inventory report of one category (os, disk, apps, network, system, battery): history."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="inventory_reports")
    kind = models.CharField(max_length=16)
    collected_at = models.DateTimeField(db_index=True)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["-collected_at", "-id"]
        indexes = [
            models.Index(fields=["device", "kind", "-collected_at"], name="fleet_inv_device_kind")
        ]
        constraints = [
            # A batch replayed by an agent (stored, then the answer lost) is stored once.
            models.UniqueConstraint(
                fields=["device", "kind", "collected_at"], name="fleet_inv_unique_report"
            )
        ]

    def __str__(self) -> str:
        return f"{self.device} {self.kind} {self.collected_at:%Y-%m-%d %H:%M}"


class BatterySample(models.Model):
    """Battery time series (for charts, trend and replacement forecast)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="battery_samples")
    measured_at = models.DateTimeField()
    percent = models.SmallIntegerField(null=True, blank=True)
    cycle_count = models.IntegerField(null=True, blank=True)
    health_percent = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["measured_at", "id"]
        indexes = [models.Index(fields=["device", "measured_at"], name="fleet_battery_device_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "measured_at"], name="fleet_battery_unique_sample"
            )
        ]

    def __str__(self) -> str:
        return f"{self.device} {self.health_percent}"


class StatusLog(models.Model):
    """osqueryd status log lines (kept FLEET_STATUS_LOG_RETENTION_DAYS)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="status_logs")
    logged_at = models.DateTimeField(db_index=True)
    severity = models.SmallIntegerField(default=0)
    filename = models.CharField(max_length=128, blank=True)
    line = models.IntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    version = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-logged_at", "-id"]

    def __str__(self) -> str:
        return f"{self.device} {self.message[:40]}"


class AlertKind(models.TextChoices):
    BATTERY_WORN = "battery_worn", _("Batterie usée")
    BATTERY_FORECAST = "battery_forecast", _("Batterie bientôt usée")
    LOW_STORAGE = "low_storage", _("Stockage presque plein")
    OUTDATED_OS = "outdated_os", _("Système obsolète")
    MISSING = "missing", _("Appareil disparu")
    IDENTITY_CONFLICT = "identity_conflict", _("Conflit d'identité")
    IDENTITY_REQUEST = "identity_request", _("Demande d'inscription dans une autre école")
    DUPLICATE_HARDWARE_ID = "duplicate_hardware_id", _("Identifiant matériel en double")


class Alert(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("Ouverte")
        ACKNOWLEDGED = "acknowledged", _("Prise en compte")
        RESOLVED = "resolved", _("Résolue")

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=24, choices=AlertKind.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    message = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    auto_resolved = models.BooleanField(default=False)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("alerte")
        verbose_name_plural = _("alertes")
        constraints = [
            models.UniqueConstraint(
                fields=["device", "kind"],
                condition=~Q(state="resolved"),
                name="fleet_one_open_alert_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.device}"


class IdentityRequest(models.Model):
    """A known device asked to enroll with another school's secret. Nothing moves until a
    technician approves; the device keeps its key and school meanwhile."""

    class State(models.TextChoices):
        PENDING = "pending", _("En attente")
        APPROVED = "approved", _("Acceptée")
        REJECTED = "rejected", _("Refusée")

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="identity_requests")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    instance_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("demande de changement d'école")
        verbose_name_plural = _("demandes de changement d'école")
        constraints = [
            models.UniqueConstraint(
                fields=["device", "school"],
                condition=Q(state="pending"),
                name="fleet_one_pending_identity_request",
            )
        ]

    def __str__(self) -> str:
        return f"{self.device} → {self.school}"


class RepairTicket(TimeStampedModel):
    class State(models.TextChoices):
        OPEN = "open", _("Ouvert")
        IN_PROGRESS = "in_progress", _("En cours")
        WAITING_PART = "waiting_part", _("En attente de pièce")
        FIXED = "fixed", _("Réparé")

    TRANSITIONS = {
        "open": {"in_progress", "waiting_part", "fixed"},
        "in_progress": {"waiting_part", "fixed", "open"},
        "waiting_part": {"in_progress", "fixed"},
        "fixed": {"open"},
    }

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="tickets")
    school = models.ForeignKey(
        School, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    title = models.CharField(_("objet"), max_length=200)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ticket de réparation")
        verbose_name_plural = _("tickets de réparation")

    def __str__(self) -> str:
        return self.title


class RepairNote(models.Model):
    ticket = models.ForeignKey(RepairTicket, on_delete=models.CASCADE, related_name="notes")
    created_at = models.DateTimeField(default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(blank=True)
    state_from = models.CharField(max_length=16, blank=True)
    state_to = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket} {self.created_at:%Y-%m-%d}"

    @property
    def state_from_label(self) -> str:
        """The state before, as a person reads it; "" for a ticket's first note."""
        return str(RepairTicket.State(self.state_from).label) if self.state_from else ""

    @property
    def state_to_label(self) -> str:
        return str(RepairTicket.State(self.state_to).label) if self.state_to else ""


class LiveQuery(models.Model):
    sql = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("requête en direct")
        verbose_name_plural = _("requêtes en direct")

    def __str__(self) -> str:
        return self.external_id

    @property
    def external_id(self) -> str:
        return f"lq-{self.pk}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class LiveQueryTarget(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("En attente")
        SENT = "sent", _("Envoyée")
        DONE = "done", _("Répondue")
        FAILED = "failed", _("Échec")

    query = models.ForeignKey(LiveQuery, on_delete=models.CASCADE, related_name="targets")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="live_query_targets")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    status_code = models.IntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    rows = models.JSONField(default=list, blank=True)
    row_count = models.IntegerField(default=0)
    stats = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["query", "device"]
        constraints = [
            models.UniqueConstraint(fields=["query", "device"], name="fleet_one_target_per_device")
        ]

    def __str__(self) -> str:
        return f"{self.query} → {self.device}"
