"""Family ledger, invoices, payments, refunds and provider events.

Money is always an integer number of cents plus an ISO currency code. The ledger is
append-only: a correction is a new entry, never an update. Every idempotency rule is a database
constraint.

Sign convention of the ledger, seen from the family: a charge is negative (the family owes),
a payment or a credit note is positive, a refund is negative (money given back). The balance of
an account is the sum of its entries; a negative balance is what the family still owes.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from backend.core.models import TimeStampedModel
from backend.core.money import format_money


def default_currency() -> str:
    return settings.MINOT_CURRENCY


class PaymentSettings(models.Model):
    """The city's payment settings (one row, pk=1, edited in the admin)."""

    class Mode(models.TextChoices):
        POSTPAID = "postpaid", _("Facturation mensuelle (post-paiement)")
        PREPAID = "prepaid", _("Compte prépayé")

    mode = models.CharField(
        _("mode de facturation"), max_length=10, choices=Mode.choices, default=Mode.POSTPAID
    )
    invoice_due_days = models.PositiveSmallIntegerField(_("délai de paiement (jours)"), default=15)
    sepa_debit_delay_days = models.PositiveSmallIntegerField(
        _("prélèvement SEPA (jours après émission)"), default=10
    )
    low_balance_threshold_cents = models.IntegerField(
        _("seuil d'alerte du solde (centimes)"), default=1000
    )
    negative_floor_cents = models.IntegerField(
        _("plancher négatif (centimes)"),
        default=-3000,
        help_text=_(
            "Solde en dessous duquel la famille est relancée. Un repas n'est jamais refusé."
        ),
    )
    block_bookings_after_days = models.PositiveSmallIntegerField(
        _("bloquer les nouvelles réservations après (jours de retard)"),
        null=True,
        blank=True,
        help_text=_("Vide : la règle est désactivée."),
    )
    dunning_days = models.JSONField(
        _("relances (jours après échéance)"), default=list, blank=True, help_text="[7, 21, 45]"
    )

    class OverpaymentPolicy(models.TextChoices):
        REFUND = "refund", _("Rembourser automatiquement")
        CREDIT = "credit", _("Garder en avoir sur le compte")

    overpayment_policy = models.CharField(
        _("trop-perçu"),
        max_length=8,
        choices=OverpaymentPolicy.choices,
        default=OverpaymentPolicy.REFUND,
        help_text=_(
            "Un paiement reçu pour une facture déjà réglée est remboursé, ou gardé en avoir "
            "(déduit de la prochaine facture)."
        ),
    )

    class Meta:
        verbose_name = _("réglages des paiements")
        verbose_name_plural = _("réglages des paiements")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="paymentsettings_singleton")]
        permissions = [
            (
                "manage_finance",
                _("Finances de la ville : facturation, émission, exports, rapprochement"),
            )
        ]

    def __str__(self) -> str:
        return str(_("Réglages des paiements"))

    @classmethod
    def current(cls) -> PaymentSettings:
        obj, _created = cls.objects.get_or_create(pk=1, defaults={"dunning_days": [7, 21, 45]})
        return obj


class Account(TimeStampedModel):
    """The payer account of one guardian (a billing payer). Its balance is the sum of its entries."""

    guardian = models.OneToOneField(
        "family.Guardian", on_delete=models.PROTECT, related_name="payment_account"
    )
    household = models.ForeignKey(
        "family.Household", on_delete=models.PROTECT, related_name="payment_accounts"
    )
    currency = models.CharField(_("devise"), max_length=3, default=default_currency)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    sepa_payment_method_id = models.CharField(
        _("moyen de paiement SEPA"), max_length=255, blank=True
    )
    sepa_iban_last4 = models.CharField(_("IBAN (4 derniers caractères)"), max_length=4, blank=True)
    sepa_mandate_at = models.DateTimeField(_("mandat SEPA signé le"), null=True, blank=True)
    low_balance_alerted = models.BooleanField(default=False)
    below_floor_alerted = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("compte payeur")
        verbose_name_plural = _("comptes payeurs")

    def __str__(self) -> str:
        return f"{self.guardian} ({self.household})"

    @property
    def has_sepa_mandate(self) -> bool:
        return bool(self.sepa_payment_method_id)


class BillingRun(models.Model):
    period = models.DateField(_("période (1er du mois)"))
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    invoices_created = models.PositiveIntegerField(default=0)
    lines_created = models.PositiveIntegerField(default=0)
    invoices_issued = models.PositiveIntegerField(default=0)
    total_cents = models.BigIntegerField(default=0)
    stats = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("lancement de facturation")
        verbose_name_plural = _("lancements de facturation")

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} ({self.started_at:%Y-%m-%d %H:%M})"


class Invoice(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        ISSUED = "issued", _("Émise")
        PARTIALLY_PAID = "partially_paid", _("Partiellement payée")
        PAID = "paid", _("Payée")
        CANCELLED = "cancelled", _("Annulée")

    OPEN_STATUSES = (Status.ISSUED, Status.PARTIALLY_PAID)

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="invoices")
    household = models.ForeignKey(
        "family.Household", on_delete=models.PROTECT, related_name="invoices"
    )
    period = models.DateField(_("période"))
    version = models.PositiveSmallIntegerField(default=1)
    number = models.CharField(_("numéro"), max_length=32, unique=True)
    status = models.CharField(
        _("statut"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    total_cents = models.BigIntegerField(_("montant (centimes)"))
    paid_cents = models.BigIntegerField(_("payé (centimes)"), default=0)
    currency = models.CharField(_("devise"), max_length=3, default=default_currency)
    issued_at = models.DateTimeField(_("émise le"), null=True, blank=True)
    due_date = models.DateField(_("échéance"), null=True, blank=True)
    debit_date = models.DateField(_("date de prélèvement"), null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(_("motif d'annulation"), max_length=255, blank=True)
    billing_run = models.ForeignKey(BillingRun, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-period", "number"]
        verbose_name = _("facture")
        verbose_name_plural = _("factures")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period"],
                condition=~Q(status="cancelled"),
                name="invoice_one_active_per_period",
            ),
            models.UniqueConstraint(
                fields=["account", "period", "version"], name="invoice_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(total_cents__gte=0), name="invoice_total_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(paid_cents__gte=0), name="invoice_paid_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return self.number

    @property
    def outstanding_cents(self) -> int:
        return max(self.total_cents - self.paid_cents, 0)

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        MEAL = "meal", _("Repas")
        PACKED_LUNCH = "packed_lunch", _("Panier-repas")
        UNBOOKED_MEAL = "unbooked_meal", _("Repas non réservé")
        ACTIVITY = "activity", _("Activité")
        SUPERVISION = "supervision", _("Surveillance de la pause méridienne")

    # No separate index on invoice: the unique (invoice, source, source_id) index starts with it.
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="lines", db_index=False
    )
    child = models.ForeignKey("family.Child", on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("jour"))
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    amount_cents = models.IntegerField(_("montant (centimes)"))
    share_percent = models.PositiveSmallIntegerField(_("part (%)"), default=100)
    description = models.CharField(_("détail"), max_length=255, blank=True)
    source = models.CharField(max_length=16)
    source_id = models.BigIntegerField()

    class Meta:
        ordering = ["child_id", "day"]
        verbose_name = _("ligne de facture")
        verbose_name_plural = _("lignes de facture")
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "source", "source_id"], name="invoiceline_source_once"
            ),
            models.CheckConstraint(
                condition=Q(amount_cents__gte=0), name="invoiceline_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.amount_cents}"


class Payment(TimeStampedModel):
    class Provider(models.TextChoices):
        STRIPE = "stripe", _("Carte bancaire en ligne")
        SEPA = "sepa", _("Prélèvement SEPA")
        CASH = "cash", _("Espèces (guichet)")
        CHEQUE = "cheque", _("Chèque (guichet)")

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente")
        PROCESSING = "processing", _("En cours")
        FAILED = "failed", _("Refusé")
        CANCELED = "canceled", _("Abandonné")
        SUCCEEDED = "succeeded", _("Réussi")
        REVERSED = "reversed", _("Rejeté après encaissement")

    # Forward-only transitions: a status only moves to a higher rank. ``reversed`` (a SEPA
    # return, a failure after success or a dispute) only follows ``succeeded``.
    STATUS_RANK: dict[str, int] = {
        Status.PENDING: 0,
        Status.PROCESSING: 1,
        Status.CANCELED: 2,
        Status.FAILED: 3,
        Status.SUCCEEDED: 4,
        Status.REVERSED: 5,
    }
    OPEN_STATUSES = (Status.PENDING, Status.PROCESSING)
    MONEY_STATUSES = (Status.SUCCEEDED, Status.REVERSED)

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="payments")
    household = models.ForeignKey(
        "family.Household", on_delete=models.PROTECT, related_name="payments"
    )
    provider = models.CharField(_("moyen"), max_length=10, choices=Provider.choices)
    status = models.CharField(
        _("statut"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    amount_cents = models.BigIntegerField(_("montant (centimes)"))
    refunded_cents = models.BigIntegerField(_("remboursé (centimes)"), default=0)
    currency = models.CharField(_("devise"), max_length=3, default=default_currency)
    idempotency_key = models.CharField(max_length=255, unique=True)
    provider_reference = models.CharField(
        _("référence"), max_length=255, null=True, blank=True, unique=True
    )
    counter_reference = models.CharField(_("n° de chèque / reçu"), max_length=64, blank=True)
    client_secret = models.CharField(max_length=255, blank=True)
    failure_message = models.CharField(_("motif du refus"), max_length=255, blank=True)
    is_top_up = models.BooleanField(_("rechargement"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    succeeded_at = models.DateTimeField(null=True, blank=True)
    # A random value sent in the provider's metadata: an event naming this row is believed only
    # when it carries the same nonce (ids are reused after a backup restore or on a shared
    # test account).
    nonce = models.CharField(max_length=32, blank=True)
    intent_canceled_at = models.DateTimeField(null=True, blank=True)
    reversed_cents = models.BigIntegerField(_("rejeté (centimes)"), default=0)
    invoices = models.ManyToManyField(Invoice, through="PaymentAllocation", related_name="payments")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("paiement")
        verbose_name_plural = _("paiements")
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_cents__gte=0) & Q(refunded_cents__lte=F("amount_cents")),
                name="payment_refunds_within_amount",
            ),
        ]
        indexes = [models.Index(fields=["status", "updated_at"])]

    def __str__(self) -> str:
        return f"{self.receipt_number} {format_money(self.amount_cents, self.currency)}"

    @property
    def receipt_number(self) -> str:
        return f"R-{self.created_at:%Y}-{self.pk:07d}" if self.pk and self.created_at else ""

    @property
    def refundable_cents(self) -> int:
        return (
            self.amount_cents - self.refunded_cents if self.status == self.Status.SUCCEEDED else 0
        )

    @property
    def provider_idempotency_key(self) -> str:
        """The key sent with every create call for this row: derived from the row, reused on
        every retry (Stripe replays the first answer)."""
        return f"minot:payment:{self.pk}:{self.nonce}" if self.nonce else self.idempotency_key


class PaymentAllocation(models.Model):
    """What a payment was meant for (``amount_cents``) and what it actually paid (``applied_cents``).

    ``applied_cents`` is set when the payment succeeds (never more than the invoice still owed:
    the rest is an overpayment), lowered by refunds and reversals, and moved to the replacing
    invoice when a paid invoice is cancelled. An invoice's ``paid_cents`` is always the sum of
    ``applied_cents`` of its allocations. ``is_open_attempt`` marks a payment attempt still in
    progress: at most one per invoice (a partial unique index).
    """

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount_cents = models.BigIntegerField()
    applied_cents = models.BigIntegerField(default=0)
    is_open_attempt = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payment", "invoice"], name="allocation_once"),
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="allocation_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(applied_cents__gte=0), name="allocation_applied_not_negative"
            ),
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(is_open_attempt=True),
                name="allocation_one_open_attempt_per_invoice",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.invoice_id}"


class Refund(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", _("En cours")
        SUCCEEDED = "succeeded", _("Effectué")
        FAILED = "failed", _("Échoué")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_cents = models.BigIntegerField(_("montant (centimes)"))
    currency = models.CharField(max_length=3, default=default_currency)
    reason = models.CharField(_("motif"), max_length=255)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    idempotency_key = models.CharField(max_length=255, unique=True)
    provider_reference = models.CharField(max_length=255, null=True, blank=True, unique=True)
    failure_message = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The form's (or the API's Idempotency-Key) token: the same request twice is one refund.
    request_token = models.CharField(max_length=100, null=True, blank=True, unique=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("remboursement")
        verbose_name_plural = _("remboursements")
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="refund_amount_positive")
        ]


class LedgerEntryQuerySet(models.QuerySet):
    """The ledger is append-only: bulk updates and deletes fail (a database trigger also refuses
    them, see migration 0004)."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise ValueError("Ledger entries are append-only: add a correcting entry instead.")

    def delete(self) -> NoReturn:
        raise ValueError("Ledger entries are append-only.")

    update.queryset_only = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]


class LedgerEntry(models.Model):
    """One append-only movement on a payer account. Never updated, never deleted."""

    class Kind(models.TextChoices):
        MEAL_CHARGE = "meal_charge", _("Repas")
        ACTIVITY_CHARGE = "activity_charge", _("Activité")
        PAYMENT = "payment", _("Paiement")
        REFUND = "refund", _("Remboursement")
        REVERSAL = "reversal", _("Paiement rejeté")
        CREDIT_NOTE = "credit_note", _("Avoir")
        ADJUSTMENT = "adjustment", _("Régularisation")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    household = models.ForeignKey(
        "family.Household", on_delete=models.PROTECT, related_name="ledger_entries"
    )
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    amount_cents = models.BigIntegerField(_("montant (centimes)"))
    currency = models.CharField(_("devise"), max_length=3, default=default_currency)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # What caused the entry: exactly one idempotency key per cause.
    source_key = models.CharField(max_length=160, unique=True)
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    refund = models.ForeignKey(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    child = models.ForeignKey(
        "family.Child", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField(null=True, blank=True)
    label = models.CharField(_("libellé"), max_length=255, blank=True)
    reason = models.CharField(_("motif"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("écriture")
        verbose_name_plural = _("écritures")
        constraints = [
            models.CheckConstraint(condition=~Q(amount_cents=0), name="ledger_amount_not_zero"),
            models.CheckConstraint(
                condition=~Q(kind="adjustment") | ~Q(reason=""), name="ledger_adjustment_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["account", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_cents} {self.currency}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Ledger entries are append-only: add a correcting entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValueError("Ledger entries are append-only.")


class StripeEvent(models.Model):
    """Every verified webhook delivery (or catch-up fetch), stored once by its Stripe id."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Reçu")
        PROCESSED = "processed", _("Traité")
        IGNORED = "ignored", _("Ignoré")
        FAILED = "failed", _("Échec")

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    livemode = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("événement Stripe")
        verbose_name_plural = _("événements Stripe")

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class DunningReminder(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="reminders")
    level = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "level"], name="dunning_once_per_level")
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} #{self.level}"


class Finding(models.Model):
    """Something about money that staff must see: never only a log line.

    Overpayments (a success for an invoice already paid), a provider refund larger than what is
    left locally, a payment reversed after success (SEPA return, dispute), an event that does not
    match our payment, an invariant broken (``payments_audit``). ``key`` makes each one unique.
    """

    class Kind(models.TextChoices):
        OVERPAYMENT = "overpayment", _("Trop-perçu")
        REFUND_EXCEEDS = "refund_exceeds", _("Remboursement supérieur au reste du paiement")
        REVERSAL = "reversal", _("Paiement rejeté après encaissement")
        EVENT_MISMATCH = "event_mismatch", _("Événement ne correspondant pas au paiement")
        AUDIT = "audit", _("Contrôle des comptes")

    class Status(models.TextChoices):
        OPEN = "open", _("À traiter")
        RESOLVED = "resolved", _("Traité")

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    status = models.CharField(
        _("statut"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    household = models.ForeignKey(
        "family.Household", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    refund = models.ForeignKey(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    amount_cents = models.BigIntegerField(_("montant (centimes)"), default=0)
    message = models.CharField(_("constat"), max_length=500)
    resolution = models.CharField(_("suite donnée"), max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("anomalie de paiement")
        verbose_name_plural = _("anomalies de paiement")
        indexes = [models.Index(fields=["status", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class BillingModeChange(models.Model):
    """A household's billing mode from a period boundary on (prepaid or postpaid, never both).

    The mode of a household for a month is the latest change effective on or before the 1st of
    that month, else the city's default (``PaymentSettings.mode``). Changes take effect on the
    1st of a month that has not started, so a month is never billed both ways.
    """

    household = models.ForeignKey(
        "family.Household", on_delete=models.CASCADE, related_name="billing_mode_changes"
    )
    mode = models.CharField(_("mode"), max_length=10, choices=PaymentSettings.Mode.choices)
    effective_from = models.DateField(_("à partir du (1er du mois)"))
    reason = models.CharField(_("motif"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["household_id", "effective_from"]
        verbose_name = _("changement de mode de facturation")
        verbose_name_plural = _("changements de mode de facturation")
        constraints = [
            models.UniqueConstraint(
                fields=["household", "effective_from"], name="billing_mode_one_per_boundary"
            )
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.mode} {self.effective_from:%Y-%m}"


class ActivityTariff(models.Model):
    """What one session of an after-school activity costs (billed per session day of a confirmed
    registration, on the monthly invoice, like meals). Childcare supervision is eligible to the
    childcare tax credit; food is not."""

    activity = models.OneToOneField(
        "family.Activity", on_delete=models.CASCADE, related_name="tariff"
    )
    amount_cents = models.PositiveIntegerField(_("prix par séance (centimes)"))
    currency = models.CharField(_("devise"), max_length=3, default=default_currency)
    is_childcare = models.BooleanField(
        _("garde (attestation fiscale)"),
        default=True,
        help_text=_("Accueil et surveillance d'enfants, hors repas."),
    )

    class Meta:
        verbose_name = _("tarif d'activité")
        verbose_name_plural = _("tarifs d'activité")

    def __str__(self) -> str:
        return f"{self.activity_id}: {self.amount_cents}"
