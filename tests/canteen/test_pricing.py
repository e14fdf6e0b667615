"""Pricing: bracket, sibling rank, residence, PAI packed lunch, unbooked surcharge, no assessment."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.core.exceptions import ApplicationError
from canteen.pricing import (
    PACKED_LUNCH,
    UNBOOKED_MEAL,
    AssessmentBook,
    TariffBook,
    sibling_ranks,
)
from canteen.selectors import meal_price
from family.models import CarePlan, IncomeAssessment
from tests.canteen.factories import make_assessment, make_tariff, make_year
from tests.factories import ChildFactory, SchoolFactory, household_with_parent

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 5)


@pytest.fixture
def kids():
    make_year()
    make_tariff()
    household, _user, kids = household_with_parent(children=3, school=SchoolFactory())
    for i, kid in enumerate(kids):
        kid.birth_date = dt.date(2016 + i, 1, 1)
        kid.save()
    return household, kids


def test_bracket_rank_resident_explained(kids):
    household, (first, second, third) = kids
    make_assessment(household, bracket=3)
    quote = meal_price(child=second, day=DAY)
    assert quote.amount_cents == 245
    assert quote.currency == "EUR"
    assert quote.explanation == "tranche 3, 2e enfant, résident : 2,45\u00a0€"
    assert (
        meal_price(child=first, day=DAY).explanation
        == "tranche 3, 1er enfant, résident : 2,65\u00a0€"
    )
    assert meal_price(child=third, day=DAY).amount_cents == 225


def test_fourth_child_uses_the_highest_rank_of_the_grid(kids):
    household, _k = kids
    make_assessment(household, bracket=1)
    fourth = ChildFactory(
        household=household, birth_date=dt.date(2020, 1, 1), school=SchoolFactory()
    )
    quote = meal_price(child=fourth, day=DAY)
    assert quote.amount_cents == 140
    assert quote.sibling_rank == 4
    assert "4e enfant" in quote.explanation


def test_no_assessment_is_full_price_explained(kids):
    household, (first, _s, _t) = kids
    make_assessment(household, bracket=1, status=IncomeAssessment.Status.PENDING)
    make_assessment(
        household, bracket=1, valid_from=dt.date(2025, 9, 1), valid_until=dt.date(2026, 8, 31)
    )
    quote = meal_price(child=first, day=DAY)
    assert quote.amount_cents == 367
    assert quote.bracket is None
    assert quote.explanation.startswith("plein tarif (aucun quotient familial validé), 1er enfant")


def test_non_resident(kids):
    household, (first, _s, _t) = kids
    household.is_resident = False
    household.save()
    make_assessment(household, bracket=2)
    assert meal_price(child=first, day=DAY).amount_cents == 310
    assert "non-résident" in meal_price(child=first, day=DAY).explanation


def test_bracket_from_quotient_when_assessment_has_none(kids):
    from family.models import IncomeBracket

    for number, low in [(1, 0), (2, 451), (3, 701)]:
        IncomeBracket.objects.create(number=number, min_quotient=low)
    household, (first, _s, _t) = kids
    make_assessment(household, bracket=None, quotient=500)
    assert meal_price(child=first, day=DAY).bracket == 2


def test_pai_packed_lunch_price(kids):
    household, (first, _s, _t) = kids
    make_assessment(household, bracket=5)
    CarePlan.objects.create(
        child=first,
        valid_from=dt.date(2026, 9, 1),
        valid_until=dt.date(2027, 7, 3),
        packed_lunch=True,
    )
    quote = meal_price(child=first, day=DAY)
    assert (quote.kind, quote.amount_cents) == (PACKED_LUNCH, 64)
    assert quote.explanation == "panier-repas PAI : 0,64\u00a0€"


def test_unbooked_surcharge(kids):
    household, (first, _s, _t) = kids
    make_assessment(household, bracket=3)
    quote = meal_price(child=first, day=DAY, unbooked=True)
    assert (quote.kind, quote.amount_cents, quote.surcharge_cents) == (UNBOOKED_MEAL, 415, 150)
    assert "majoration repas non réservé 1,50" in quote.explanation


def test_validity_periods_pick_the_tariff_in_force(kids):
    household, (first, _s, _t) = kids
    make_assessment(household, bracket=3, valid_until=dt.date(2027, 8, 31))
    later = make_tariff(
        valid_from=dt.date(2027, 9, 1), valid_until=dt.date(2028, 8, 31), name="2027"
    )
    later.lines.filter(bracket=3, sibling_rank=1, resident=True).update(amount_cents=299)
    assert meal_price(child=first, day=DAY).amount_cents == 265
    assert meal_price(child=first, day=dt.date(2027, 8, 31)).amount_cents == 265


def test_no_tariff_in_force_is_a_clear_error(kids):
    _h, (first, _s, _t) = kids
    with pytest.raises(ApplicationError, match="Aucune grille tarifaire"):
        meal_price(child=first, day=dt.date(2030, 1, 7))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 5), st.dates(dt.date(2005, 1, 1), dt.date(2022, 1, 1))),
        max_size=20,
    )
)
def test_sibling_ranks_are_a_permutation_per_household(rows):
    data = [(i, h, b) for i, (h, b) in enumerate(rows)]
    ranks = sibling_ranks(data)
    for household in {h for _i, h, _b in data}:
        members = [i for i, h, _b in data if h == household]
        assert sorted(ranks[i] for i in members) == list(range(1, len(members) + 1))


def test_books_are_loaded_in_constant_queries(kids, django_assert_max_num_queries):
    household, _k = kids
    make_assessment(household, bracket=3)
    with django_assert_max_num_queries(4):
        TariffBook.load(start=DAY, end=DAY)
        AssessmentBook.load(household_ids=[household.id], start=DAY, end=DAY)
