"""Tariff grids in memory: one price per (bracket, sibling rank, residence), with its explanation.

Loaded with a constant number of queries so that a month view and the monthly billing run of a
whole city price every meal without one query per meal.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.money import format_money
from family.models import Child, IncomeAssessment, IncomeBracket

from .models import Tariff, TariffLine

MEAL = "meal"
PACKED_LUNCH = "packed_lunch"
UNBOOKED_MEAL = "unbooked_meal"
MEMO_ENTRIES = 4096  # quotes kept per tariff book (facts × languages: a few dozen in practice)


class NoPrice(ApplicationError):
    """No tariff in force that day, or the grid has no price for this family: the day is shown
    without a price, and booking or billing it says why."""


@dataclass(frozen=True)
class PriceQuote:
    amount_cents: int
    currency: str
    explanation: str
    kind: str  # meal | packed_lunch | unbooked_meal
    base_cents: int
    surcharge_cents: int
    bracket: int | None
    sibling_rank: int
    resident: bool
    tariff_id: int


def rank_label(rank: int) -> str:
    if rank == 1:
        return _("1er enfant")
    return _("%(n)se enfant") % {"n": rank}


class TariffBook:
    """Every tariff overlapping a period, with its lines indexed in memory."""

    def __init__(
        self,
        tariffs: list[Tariff],
        lines: list[tuple] | None = None,
    ):
        """``lines``: (tariff_id, bracket, sibling_rank, resident, amount_cents[, unit_id]); when
        omitted, each tariff's own lines are read. A line without a unit prices every unit."""
        self.tariffs = sorted(tariffs, key=lambda t: t.valid_from)
        self._starts = [t.valid_from for t in self.tariffs]
        self._lines: dict[int, dict[tuple[int | None, int | None, int, bool], int]] = {
            t.id: {} for t in self.tariffs
        }
        if lines is None:
            lines = [
                (
                    t.id,
                    line.bracket,
                    line.sibling_rank,
                    line.resident,
                    line.amount_cents,
                    line.unit_id,
                )
                for t in self.tariffs
                for line in t.lines.all()
            ]
        for tariff_id, bracket, rank, resident, cents, *unit in lines:
            self._lines[tariff_id][(unit[0] if unit else None, bracket, rank, resident)] = cents
        self._max_rank = {
            tid: max((k[2] for k in grid), default=1) for tid, grid in self._lines.items()
        }

    @classmethod
    def load(cls, *, start: dt.date, end: dt.date, service_id: int | None = None) -> TariffBook:
        """Every tariff of a service (default: the canteen) in force over [start, end]: shared
        cache, else one query."""
        from .shared import cached

        return cached(
            "tariffs",
            (start, end, service_id),
            lambda: (
                TariffBook.load_all(start=start, end=end, service_ids=[service_id]).get(service_id)
                or cls([], [])
            ),
        )

    @staticmethod
    def load_all(
        *, start: dt.date, end: dt.date, service_ids: Iterable[int | None] | None = None
    ) -> dict[int | None, TariffBook]:
        """The tariff books of several services in one query, by service id (``None`` in
        ``service_ids`` is the canteen, under the key ``None``)."""
        rows = TariffLine.objects.filter(
            tariff__valid_from__lte=end, tariff__valid_until__gte=start
        ).select_related("tariff", "tariff__service")
        if service_ids is not None:
            wanted = {s for s in service_ids if s is not None}
            cond = Q(tariff__service_id__in=wanted)
            if None in service_ids:
                cond |= Q(tariff__service__kind="canteen")
            rows = rows.filter(cond)
        by_service: dict[int, tuple[dict[int, Tariff], list[tuple]]] = defaultdict(lambda: ({}, []))
        canteen_ids: set[int] = set()
        for line in rows:
            tariffs, lines = by_service[int(line.tariff.service_id or 0)]
            if line.tariff.service.kind == "canteen":
                canteen_ids.add(int(line.tariff.service_id or 0))
            tariffs.setdefault(line.tariff_id, line.tariff)
            lines.append(
                (
                    line.tariff_id,
                    line.bracket,
                    line.sibling_rank,
                    line.resident,
                    line.amount_cents,
                    line.unit_id,
                )
            )
        out: dict[int | None, TariffBook] = {
            sid: TariffBook(list(t.values()), lines) for sid, (t, lines) in by_service.items()
        }
        if service_ids is not None and None in service_ids and canteen_ids:
            out[None] = out[min(canteen_ids)]
        return out

    def tariff_for(self, day: dt.date) -> Tariff:
        i = bisect_right(self._starts, day) - 1
        while i >= 0:
            tariff = self.tariffs[i]
            if tariff.valid_from <= day <= tariff.valid_until:
                return tariff
            i -= 1
        raise NoPrice(
            _("Aucune grille tarifaire n'est en vigueur le %(day)s.")
            % {"day": day.strftime("%d/%m/%Y")}
        )

    def quote(
        self,
        *,
        day: dt.date,
        bracket: int | None,
        rank: int,
        resident: bool,
        kind: str,
        unit_id: int | None = None,
        label: str = "",
    ) -> PriceQuote:
        """The price of one unit-day. ``unit_id``: the unit's own line first, else the service's
        line for every unit. ``label`` (a unit's name) heads the explanation."""
        tariff = self.tariff_for(day)
        # The same facts give the same quote whatever the day (a month repeats a handful):
        # kept per language, the explanation is translated and formatted once.
        # (Not set in __init__: a book cached by an earlier version has no memo yet.)
        memo: dict[tuple, PriceQuote] = self.__dict__.setdefault("_memo", {})
        memo_key = (tariff.id, bracket, rank, resident, kind, unit_id, get_language())
        quote = memo.get(memo_key)
        if quote is None:
            quote = self._quote(
                tariff=tariff,
                bracket=bracket,
                rank=rank,
                resident=resident,
                kind=kind,
                unit_id=unit_id,
            )
            if len(memo) < MEMO_ENTRIES:
                memo[memo_key] = quote
        if label:
            quote = replace(quote, explanation=f"{label} · {quote.explanation}")
        return quote

    def _quote(
        self,
        *,
        tariff: Tariff,
        bracket: int | None,
        rank: int,
        resident: bool,
        kind: str,
        unit_id: int | None,
    ) -> PriceQuote:
        grid = self._lines[tariff.id]
        rank_used = min(rank, self._max_rank[tariff.id])
        residence = _("résident") if resident else _("non-résident")
        bracket_text = (
            _("tranche %(n)s") % {"n": bracket}
            if bracket is not None
            else _("plein tarif (aucun quotient familial validé)")
        )
        if kind == PACKED_LUNCH:
            amount = tariff.packed_lunch_cents
            explanation = _("panier-repas PAI : %(price)s") % {
                "price": format_money(amount, tariff.currency)
            }
            return PriceQuote(
                amount,
                tariff.currency,
                explanation,
                kind,
                amount,
                0,
                bracket,
                rank,
                resident,
                tariff.id,
            )

        def line(b: int | None) -> int | None:
            found = grid.get((unit_id, b, rank_used, resident)) if unit_id is not None else None
            return found if found is not None else grid.get((None, b, rank_used, resident))

        base = line(bracket)
        if base is None and bracket is not None:
            # A bracket the grid does not know: charge the full price, and say so.
            base = line(None)
            bracket_text = _("plein tarif (tranche %(n)s absente de la grille)") % {"n": bracket}
        if base is None:
            raise NoPrice(
                _("La grille « %(tariff)s » n'a pas de prix pour : %(what)s.")
                % {
                    "tariff": tariff.name,
                    "what": f"{bracket_text}, {rank_label(rank_used)}, {residence}",
                }
            )
        head = f"{bracket_text}, {rank_label(rank)}, {residence}"
        if kind == UNBOOKED_MEAL:
            surcharge = tariff.unbooked_surcharge_cents
            amount = base + surcharge
            explanation = _(
                "%(head)s : %(base)s + majoration repas non réservé %(surcharge)s = %(total)s"
            ) % {
                "head": head,
                "base": format_money(base, tariff.currency),
                "surcharge": format_money(surcharge, tariff.currency),
                "total": format_money(amount, tariff.currency),
            }
            return PriceQuote(
                amount,
                tariff.currency,
                explanation,
                kind,
                base,
                surcharge,
                bracket,
                rank,
                resident,
                tariff.id,
            )
        explanation = f"{head} : {format_money(base, tariff.currency)}"
        return PriceQuote(
            base, tariff.currency, explanation, MEAL, base, 0, bracket, rank, resident, tariff.id
        )


class AssessmentBook:
    """Validated income assessments of a set of households over a period, and the brackets."""

    def __init__(
        self,
        assessments: Iterable[tuple[int, dt.date, dt.date, int | None, int]],
        brackets: Iterable[tuple[int, int]],
    ) -> None:
        self._by_household: dict[int, list[tuple[dt.date, dt.date, int | None]]] = defaultdict(list)
        self._brackets = sorted(brackets)  # (min_quotient, number)
        for household_id, start, end, bracket, quotient in assessments:
            if bracket is None:
                bracket = self._bracket_for_quotient(quotient)
            self._by_household[household_id].append((start, end, bracket))
        for items in self._by_household.values():
            items.sort(
                key=lambda x: x[0], reverse=True
            )  # newest first, as household_income_assessment

    def _bracket_for_quotient(self, quotient: int) -> int | None:
        found = None
        for low, number in self._brackets:
            if quotient >= low:
                found = number
        return found

    @classmethod
    def load(
        cls, *, household_ids: Iterable[int] | None, start: dt.date, end: dt.date
    ) -> AssessmentBook:
        qs = IncomeAssessment.objects.filter(
            status=IncomeAssessment.Status.VALIDATED, valid_from__lte=end, valid_until__gte=start
        )
        if household_ids is not None:
            qs = qs.filter(household_id__in=household_ids)
        rows = list(
            qs.values_list(
                "household_id", "valid_from", "valid_until", "bracket", "quotient"
            ).iterator(chunk_size=5000)
        )
        # The bracket thresholds are read only when an assessment does not carry its bracket.
        needs_brackets = any(row[3] is None for row in rows)
        brackets = (
            list(IncomeBracket.objects.values_list("min_quotient", "number"))
            if needs_brackets
            else []
        )
        return cls(rows, brackets)

    def bracket(self, household_id: int, day: dt.date) -> int | None:
        for start, end, bracket in self._by_household.get(household_id, ()):
            if start <= day <= end:
                return bracket
        return None


def sibling_ranks(children: Iterable[tuple[int, int, dt.date]]) -> dict[int, int]:
    """Rank of each child among their household's schoolchildren, eldest first.

    ``children``: (child_id, household_id, birth_date) of every schoolchild of the households.
    """
    by_household: dict[int, list[tuple[dt.date, int]]] = defaultdict(list)
    for child_id, household_id, birth in children:
        by_household[household_id].append((birth, child_id))
    ranks = {}
    for items in by_household.values():
        for i, (_birth, child_id) in enumerate(sorted(items), start=1):
            ranks[child_id] = i
    return ranks


def household_sibling_rows(household_ids: Iterable[int]) -> list[tuple[int, int, dt.date]]:
    qs = Child.objects.filter(school__isnull=False)
    qs = qs.filter(household_id__in=household_ids)
    return list(qs.values_list("id", "household_id", "birth_date"))
