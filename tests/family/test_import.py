"""import_families / import_schools: all or nothing, with a precise report."""

import csv

import pytest
from django.core.management import CommandError, call_command

from backend.accounts.models import User
from family.models import CatchmentArea, Child, ChildGuardian, Guardian, Household, School
from tests.factories import ParentFactory, SchoolFactory

SCHOOLS = """code,name,kind,address_line,postal_code,city,phone,email
0751234A,École Les Tilleuls,elementary,1 rue des Tilleuls,75000,Minot,,tilleuls@example.test
0751235B,École Les Chênes,nursery,2 rue des Chênes,75000,Minot,,
"""
FAMILIES = """family_ref,household_name,address_line,postal_code,city,guardian_email,guardian_first_name,guardian_last_name,guardian_phone
F1,Famille Durand,4 rue des Tilleuls,75000,Minot,anne.durand@example.test,Anne,Durand,0600000001
F1,Famille Durand,4 rue des Tilleuls,75000,Minot,paul.durand@example.test,Paul,Durand,
F2,Famille Petit,8 rue des Chênes,75000,Minot,lina.petit@example.test,Lina,Petit,
"""
CHILDREN = """family_ref,first_name,last_name,birth_date,school_code,class_name,allergies,diet,custody
F1,Jules,Durand,2018-02-03,0751234A,CE1,milk;eggs,standard,joint
F1,Rose,Durand,14/05/2020,0751234A,GS,,vegetarian,
F2,Tom,Petit,2019-09-09,0751235B,MS,,,
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_good_files_import_everything(db, tmp_path):
    call_command(
        "import_families",
        families=write(tmp_path, "f.csv", FAMILIES),
        children=write(tmp_path, "c.csv", CHILDREN),
        schools=write(tmp_path, "s.csv", SCHOOLS),
    )
    assert School.objects.count() == 2
    assert Household.objects.count() == 2
    durand = Household.objects.get(legacy_ref="F1")
    assert Guardian.objects.filter(household=durand).count() == 2
    jules = Child.objects.get(first_name="Jules")
    assert jules.allergies == ["milk", "eggs"]
    assert jules.school.code == "0751234A"
    assert Child.objects.get(first_name="Rose").birth_date.isoformat() == "2020-05-14"
    assert ChildGuardian.objects.filter(child=jules).count() == 2
    assert ChildGuardian.objects.filter(child=jules, billing_payer=True).count() == 1
    anne = User.objects.get(email="anne.durand@example.test")
    assert anne.role == "parent"
    assert not anne.has_usable_password()
    # importing the same file again is refused entirely
    with pytest.raises(CommandError):
        call_command(
            "import_families",
            families=write(tmp_path, "f.csv", FAMILIES),
            children=write(tmp_path, "c.csv", CHILDREN),
        )
    assert Household.objects.count() == 2


def test_bad_file_imports_nothing_and_reports_every_problem(db, tmp_path):
    SchoolFactory(code="0759999Z")
    ParentFactory(email="taken@example.test")
    families = """family_ref,household_name,address_line,postal_code,city,guardian_email,guardian_first_name,guardian_last_name,guardian_phone
F1,Famille Durand,4 rue des Tilleuls,75000,Minot,anne.durand@example.test,Anne,Durand,
F1,Famille Dupont,4 rue des Tilleuls,75000,Minot,not-an-email,Paul,Durand,
F2,,8 rue des Chênes,75000,Minot,taken@example.test,Lina,Petit,
F3,Famille Roux,9 rue X,75000,Minot,anne.durand@example.test,Léo,Roux,
"""
    children = """family_ref,first_name,last_name,birth_date,school_code,class_name,allergies,diet,custody
F1,Jules,Durand,2018-02-31,0759999Z,CE1,milk;chocolate,standard,joint
F9,Rose,Durand,2019-01-01,0000000Q,GS,,halal,
F1,,Durand,2019-01-01,0759999Z,,,,shared
"""
    report = tmp_path / "report.csv"
    with pytest.raises(CommandError, match="rien n'a été importé"):
        call_command(
            "import_families",
            families=write(tmp_path, "f.csv", families),
            children=write(tmp_path, "c.csv", children),
            report=str(report),
        )
    with open(report, encoding="utf-8") as handle:
        rows = [
            (r["file"], int(r["row"]), r["column"], r["reason"]) for r in csv.DictReader(handle)
        ]
    assert rows == [
        ("families", 4, "household_name", "valeur obligatoire manquante"),
        ("families", 3, "guardian_email", "adresse e-mail invalide « not-an-email »"),
        ("families", 3, "household_name", "différent de la ligne 2 pour la même famille"),
        ("families", 4, "guardian_email", "un compte existe déjà avec cette adresse"),
        ("families", 5, "guardian_email", "adresse en double (déjà ligne 2)"),
        ("children", 4, "first_name", "valeur obligatoire manquante"),
        ("children", 2, "birth_date", "date invalide « 2018-02-31 » (AAAA-MM-JJ ou JJ/MM/AAAA)"),
        ("children", 2, "allergies", "allergène inconnu « chocolate »"),
        ("children", 3, "family_ref", "famille « F9 » absente du fichier des familles"),
        ("children", 3, "school_code", "école « 0000000Q » inconnue"),
        (
            "children",
            3,
            "diet",
            "régime inconnu « halal » (standard, vegetarian, no_pork, packed_lunch)",
        ),
        ("children", 4, "custody", "garde inconnue « shared »"),
    ]
    assert Household.objects.count() == 0
    assert Child.objects.count() == 0
    assert User.objects.filter(email="anne.durand@example.test").count() == 0


def test_missing_columns_are_reported_on_the_header_row(db, tmp_path):
    with pytest.raises(CommandError):
        call_command(
            "import_families",
            families=write(tmp_path, "f.csv", "family_ref,household_name\nF1,X\n"),
            children=write(tmp_path, "c.csv", CHILDREN),
            report=str(tmp_path / "r.csv"),
        )
    text = (tmp_path / "r.csv").read_text(encoding="utf-8")
    assert "families,1,address_line,colonne obligatoire absente" in text
    assert "families,1,guardian_email,colonne obligatoire absente" in text


def test_dry_run_imports_nothing(db, tmp_path):
    call_command(
        "import_families",
        families=write(tmp_path, "f.csv", FAMILIES),
        children=write(tmp_path, "c.csv", CHILDREN),
        schools=write(tmp_path, "s.csv", SCHOOLS),
        dry_run=True,
    )
    assert Household.objects.count() == 0
    assert School.objects.count() == 0


def test_import_schools_with_catchment(db, tmp_path):
    catchment = """school_code,street,number_from,number_to,parity
0751234A,Rue des Tilleuls,,,all
0751235B,avenue du Parc,1,49,odd
0751235B,avenue du Parc,2,,even
"""
    call_command(
        "import_schools",
        write(tmp_path, "s.csv", SCHOOLS),
        catchment=write(tmp_path, "k.csv", catchment),
    )
    assert School.objects.count() == 2
    assert CatchmentArea.objects.count() == 3
    from family.selectors import catchment_school_for_address

    assert catchment_school_for_address(address_line="47 avenue du Parc").code == "0751235B"
    assert catchment_school_for_address(address_line="51 avenue du Parc") is None
    bad = "school_code,street,number_from,number_to,parity\n0751234A,Rue X,10,2,left\n"
    with pytest.raises(CommandError):
        call_command(
            "import_schools",
            write(tmp_path, "s.csv", SCHOOLS),
            catchment=write(tmp_path, "k.csv", bad),
        )
    assert CatchmentArea.objects.count() == 3
