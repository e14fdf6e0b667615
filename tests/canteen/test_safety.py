"""Allergen logic: unknown is never safe, variants replace standard dishes, packed lunch for PAI."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.core.allergens import ALLERGEN_CODES
from canteen.models import AllergenPresence, Dish
from canteen.safety import Level, check_menu, child_variant, kitchen_action, served_dishes

presences = st.sampled_from(["contains", "may_contain", "free", None])


def dish(course="main", variant="standard", name="Plat", **allergens):
    return Dish(course=course, variant=variant, name=name, allergens=allergens)


def all_free(**overrides):
    data = {code: "free" for code in ALLERGEN_CODES}
    data.update(overrides)
    return data


def test_contains_beats_everything():
    dishes = [
        dish(name="Satay", **all_free(peanuts="contains")),
        dish("dessert", name="Gâteau", **all_free(nuts="may_contain")),
    ]
    check = check_menu(allergies=["peanuts", "nuts"], variant="standard", dishes=dishes)
    assert check.level == Level.CONTAINS
    assert check.warn
    assert "Arachides (Satay)" in check.message


def test_missing_allergen_data_is_unknown_never_safe():
    dishes = [dish(name="Poisson pané", **{k: v for k, v in all_free().items() if k != "milk"})]
    check = check_menu(allergies=["milk"], variant="standard", dishes=dishes)
    assert check.level == Level.UNKNOWN
    assert check.warn
    assert dishes[0].presence("milk") == AllergenPresence.UNKNOWN


def test_no_menu_is_unknown():
    check = check_menu(allergies=["eggs"], variant="standard", dishes=None)
    assert check.level == Level.UNKNOWN
    assert check.warn


def test_safe_only_when_every_dish_states_free():
    check = check_menu(allergies=["eggs"], variant="standard", dishes=[dish(**all_free())])
    assert check.level == Level.SAFE
    assert not check.warn


def test_variant_dish_replaces_standard_dish_of_same_course():
    dishes = [
        dish(name="Rôti de porc", **all_free(mustard="contains")),
        dish(variant="no_pork", name="Dinde", **all_free()),
    ]
    assert [d.name for d in served_dishes(dishes, "no_pork")] == ["Dinde"]
    assert check_menu(allergies=["mustard"], variant="no_pork", dishes=dishes).level == Level.SAFE
    assert (
        check_menu(allergies=["mustard"], variant="standard", dishes=dishes).level == Level.CONTAINS
    )


def test_packed_lunch_and_no_allergy():
    assert (
        check_menu(allergies=["peanuts"], variant="packed_lunch", dishes=None).level
        == Level.PACKED_LUNCH
    )
    assert check_menu(allergies=[], variant="standard", dishes=None).level == Level.NO_ALLERGY
    assert child_variant(diet="vegetarian", packed_lunch_pai=True) == "packed_lunch"
    assert child_variant(diet="vegetarian", packed_lunch_pai=False) == "vegetarian"
    assert child_variant(diet="standard", packed_lunch_pai=False) == "standard"


def test_kitchen_action_names_pai():
    check = check_menu(
        allergies=["peanuts"],
        variant="standard",
        dishes=[dish(name="Satay", **all_free(peanuts="contains"))],
    )
    text = kitchen_action(check=check, pai_instructions="Trousse d'urgence en classe")
    assert "substitution" in text
    assert "PAI : Trousse" in text


@given(
    allergies=st.lists(st.sampled_from(ALLERGEN_CODES), min_size=1, max_size=4),
    menu=st.lists(
        st.dictionaries(st.sampled_from(ALLERGEN_CODES), presences), min_size=1, max_size=5
    ),
)
def test_property_safe_implies_every_allergy_stated_free(allergies, menu):
    dishes = [
        dish(course=course, name=f"d{i}", **{k: v for k, v in data.items() if v})
        for i, (course, data) in enumerate(
            zip(["starter", "main", "side", "dairy", "dessert"], menu, strict=False)
        )
    ]
    check = check_menu(allergies=allergies, variant="standard", dishes=dishes)
    explicitly_free = all(d.allergens.get(a) == "free" for d in dishes for a in allergies)
    assert (check.level == Level.SAFE) == explicitly_free
    if any(d.allergens.get(a) == "contains" for d in dishes for a in allergies):
        assert check.level == Level.CONTAINS


@pytest.mark.parametrize("code", ["peanuts", "gluten"])
def test_each_finding_lists_the_dishes(code):
    dishes = [
        dish("starter", name="A", **all_free(**{code: "may_contain"})),
        dish(name="B", **all_free(**{code: "may_contain"})),
    ]
    check = check_menu(allergies=[code], variant="standard", dishes=dishes)
    assert check.findings[0].dishes == ["A", "B"]
