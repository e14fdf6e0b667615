"""Demo data for families: ~20 schools, a school year with its holidays, households and children."""

import datetime as dt

from django.utils import timezone

from backend.accounts.models import Role, User

from .models import (
    CarePlan,
    Child,
    ChildGuardian,
    Guardian,
    Household,
    IncomeAssessment,
    IncomeBracket,
    School,
    SchoolYear,
)

SCHOOL_NAMES = [
    "Jules Ferry",
    "Jean Jaurès",
    "Louise Michel",
    "Victor Hugo",
    "Marie Curie",
    "Jean Moulin",
    "Pasteur",
    "Paul Bert",
    "Condorcet",
    "Jacques Prévert",
    "Anatole France",
    "George Sand",
    "Simone Veil",
    "Lucie Aubrac",
    "Émile Zola",
    "Jean de la Fontaine",
    "Pablo Picasso",
    "Saint-Exupéry",
    "Olympe de Gouges",
    "Aimé Césaire",
]
BRACKETS = [(1, 0, 450), (2, 451, 700), (3, 701, 1000), (4, 1001, 1400), (5, 1401, None)]


def school_year_dates(today: dt.date) -> tuple[str, dt.date, dt.date]:
    start_year = today.year if today.month >= 8 else today.year - 1
    return (
        f"{start_year}-{start_year + 1}",
        dt.date(start_year, 9, 1),
        dt.date(start_year + 1, 7, 4),
    )


def seed_school_year(today: dt.date) -> SchoolYear:
    label, start, end = school_year_dates(today)
    year, _ = SchoolYear.objects.get_or_create(
        label=label, defaults={"start_date": start, "end_date": end}
    )
    # Public holidays from the ``holidays`` library, school holidays of the city's zone from
    # the dataset shipped in family/data (no hand-typed dates: they were wrong).
    from .services.calendars import school_calendar_load

    school_calendar_load(actor=None, school_year=year)
    return year


def seed(*, progress) -> None:
    today = timezone.localdate()
    seed_school_year(today)
    for number, low, high in BRACKETS:
        IncomeBracket.objects.get_or_create(
            number=number, defaults={"min_quotient": low, "max_quotient": high}
        )

    schools = []
    for i, name in enumerate(progress("schools", SCHOOL_NAMES)):
        school, _ = School.objects.get_or_create(
            code=f"0759{i:03d}X",
            defaults={
                "name": f"École élémentaire {name}",
                "address_line": f"{10 + i} rue {name}",
                "postal_code": "75000",
                "city": "Minot",
                "has_mobile_classroom": i < 12,
            },
        )
        schools.append(school)

    staff = User.objects.get(email="staff@example.org")
    staff.staff_schools.add(schools[0], schools[1])

    _household(
        email="parent@example.org",
        name="Famille Martin",
        address="12 rue Jules Ferry",
        quotient=820,
        children=[
            (
                "Léa",
                "Martin",
                dt.date(2017, 3, 14),
                schools[0],
                "CE2",
                ["peanuts", "nuts"],
                "standard",
                True,
            ),
            ("Hugo", "Martin", dt.date(2019, 9, 2), schools[0], "CP", [], "vegetarian", False),
        ],
        today=today,
    )
    _household(
        email="parent2@example.org",
        name="Famille Benali",
        address="3 avenue Jean Jaurès",
        quotient=560,
        children=[
            ("Inès", "Benali", dt.date(2018, 1, 22), schools[1], "CE1", ["milk"], "no_pork", False)
        ],
        today=today,
    )
    _seed_extensions(today=today, schools=schools, progress=progress)
    _seed_messages(today=today, school=schools[0])


def _seed_messages(*, today: dt.date, school: School) -> None:
    """A conversation of the Martin family with their school, answered, and two office slots."""
    from .message_models import MessageThread, OfficeSlot
    from .services import messages

    parent = User.objects.get(email="parent@example.org")
    staff = User.objects.get(email="staff@example.org")
    if not MessageThread.objects.filter(household__guardians__user=parent).exists():
        thread = messages.thread_start(
            actor=parent,
            school=school,
            subject="Sortie scolaire de jeudi",
            body="Bonjour, faut-il prévoir un pique-nique pour la sortie de jeudi ?",
        )
        messages.message_post(
            actor=staff, thread=thread, body="Bonjour, oui : un pique-nique et une gourde."
        )
    for days, hour in ((2, 16), (3, 8)):
        day = today + dt.timedelta(days=days)
        OfficeSlot.objects.get_or_create(
            school=school, date=day, start_time=dt.time(hour, 30), defaults={"created_by": staff}
        )


def _household(*, email, name, address, quotient, children, today) -> Household:
    user = User.objects.get(email=email, role=Role.PARENT)
    guardian = Guardian.objects.filter(user=user).select_related("household").first()
    if guardian:
        return guardian.household
    household = Household.objects.create(
        name=name, address_line=address, postal_code="75000", city="Minot"
    )
    guardian = Guardian.objects.create(household=household, user=user, relationship="parent")
    bracket = (
        IncomeBracket.objects.filter(min_quotient__lte=quotient).order_by("-min_quotient").first()
    )
    _, start, end = school_year_dates(today)
    IncomeAssessment.objects.create(
        household=household,
        quotient=quotient,
        source=IncomeAssessment.Source.CAF,
        valid_from=start,
        valid_until=end,
        status=IncomeAssessment.Status.VALIDATED,
        bracket=bracket.number if bracket else None,
    )
    for first, last, birth, school, klass, allergies, diet, pai in children:
        child = Child.objects.create(
            household=household,
            first_name=first,
            last_name=last,
            birth_date=birth,
            school=school,
            class_name=klass,
            allergies=allergies,
            diet=diet,
        )
        ChildGuardian.objects.create(child=child, guardian=guardian)
        if pai:
            CarePlan.objects.create(
                child=child,
                valid_from=start,
                valid_until=end,
                packed_lunch=False,
                instructions="Allergie sévère à l'arachide : trousse d'urgence en classe.",
            )
    return household


# --- Extensions (family module): terms, next year, catchment, activities, a registration in
# --- progress for parent@example.org and a pending invitation of a second guardian.

DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _seed_extensions(*, today: dt.date, schools: list[School], progress) -> None:
    import io

    from .models import (
        Activity,
        GuardianInvitation,
        SchoolApplication,
        SchoolTerm,
    )
    from .services import (
        application_create,
        application_submit,
        document_upload,
        emergency_contact_create,
        guardian_invite,
    )

    label, start, end = school_year_dates(today)
    year = SchoolYear.objects.get(label=label)
    y = start.year
    for term_label, t_start, t_end in [
        ("Trimestre 1", dt.date(y, 9, 1), dt.date(y, 12, 18)),
        ("Trimestre 2", dt.date(y + 1, 1, 5), dt.date(y + 1, 4, 9)),
        ("Trimestre 3", dt.date(y + 1, 4, 27), end),
    ]:
        SchoolTerm.objects.get_or_create(
            school_year=year, label=term_label, defaults={"start_date": t_start, "end_date": t_end}
        )
    next_year, _ = SchoolYear.objects.get_or_create(
        label=f"{y + 1}-{y + 2}",
        defaults={"start_date": dt.date(y + 1, 9, 1), "end_date": dt.date(y + 2, 7, 3)},
    )
    from .services.calendars import school_calendar_load

    school_calendar_load(actor=None, school_year=next_year)

    # Catchment: each school serves "rue <its name>"; avenue Jean Jaurès is split by side.
    for i, (name, school) in enumerate(zip(SCHOOL_NAMES, schools, strict=True)):
        if i == 1:
            continue
        _catchment(school=school, street=f"rue {name}")
    _catchment(school=schools[1], street="avenue Jean Jaurès", parity="odd")
    _catchment(school=schools[2], street="avenue Jean Jaurès", parity="even")
    _catchment(school=schools[1], street="rue Jean Jaurès")

    for school in schools[:4]:
        for name, kind, capacity, weekdays, hours in [
            (
                "Accueil du matin",
                Activity.Kind.MORNING_CARE,
                30,
                [0, 1, 3, 4],
                (dt.time(7, 30), dt.time(8, 20)),
            ),
            (
                "Étude du soir",
                Activity.Kind.EVENING_STUDY,
                2,
                [0, 1, 3, 4],
                (dt.time(16, 30), dt.time(18, 0)),
            ),
            (
                "Mercredis au centre de loisirs",
                Activity.Kind.WEDNESDAY_CENTRE,
                24,
                [2],
                (dt.time(8, 30), dt.time(17, 30)),
            ),
        ]:
            Activity.objects.get_or_create(
                school=school,
                name=name,
                defaults={
                    "kind": kind,
                    "capacity": capacity,
                    "weekdays": weekdays,
                    "start_date": year.start_date,
                    "end_date": year.end_date,
                    "start_time": hours[0],
                    "end_time": hours[1],
                },
            )

    parent = User.objects.get(email="parent@example.org")
    household = parent.guardian.household
    hugo = household.children.filter(first_name="Hugo").first()
    if hugo and not SchoolApplication.objects.filter(child=hugo, school_year=next_year).exists():
        application = application_create(
            actor=parent,
            child=hugo,
            school_year=next_year,
            school=schools[1],
            grade="CE1",
            derogation_reason=SchoolApplication.DerogationReason.WORKPLACE,
            derogation_details="Le lieu de travail d'un parent est à côté de l'école Jean Jaurès.",
        )
        upload = io.BytesIO(DEMO_PDF)
        upload.name = "justificatif-domicile.pdf"
        document_upload(
            actor=parent,
            household=household,
            kind="proof_of_address",
            uploaded_file=upload,
            application=application,
            issued_on=today - dt.timedelta(days=20),
        )
        application_submit(actor=parent, application=application)
        _seed_derogation_granted(application=application, today=today)
    _seed_reenrolment_campaign(next_year=next_year, today=today)
    if not GuardianInvitation.objects.filter(household=household).exists():
        guardian_invite(
            actor=parent,
            household=household,
            email="second.parent@example.org",
            relationship="père",
            billing_payer=True,
        )
    if not household.emergency_contacts.exists():
        emergency_contact_create(
            actor=parent,
            household=household,
            name="Jeanne Martin",
            relationship="grand-mère",
            phone="06 12 34 56 78",
            may_pick_up=True,
        )


def _seed_derogation_granted(*, application, today: dt.date) -> None:
    """Hugo's next-year registration at another school goes the whole way: documents checked,
    the catchment school's opinion, the city's derogation decision (letter downloadable) and
    the acceptance. The year switch then moves him to that school."""
    import io

    from .services import (
        application_decide,
        application_start_review,
        derogation_decide,
        derogation_opinion,
        document_check,
        document_upload,
    )

    parent = User.objects.get(email="parent@example.org")
    staff = User.objects.get(email="staff@example.org")
    admin = User.objects.get(email="admin@example.org")
    for kind, name in [
        ("family_record_book", "livret-de-famille.pdf"),
        ("vaccinations", "vaccinations.pdf"),
        ("employer_attestation", "attestation-employeur.pdf"),
    ]:
        upload = io.BytesIO(DEMO_PDF)
        upload.name = name
        document_upload(
            actor=parent,
            household=application.household,
            kind=kind,
            uploaded_file=upload,
            application=application,
            issued_on=today - dt.timedelta(days=10),
        )
    for document in application.documents.all():
        document_check(actor=staff, document=document, accepted=True)
    application_start_review(actor=staff, application=application)
    derogation_opinion(
        actor=staff, application=application, favourable=True, comment="Place disponible en CE1."
    )
    derogation_decide(
        actor=admin,
        application=application,
        granted=True,
        commission_date=today - dt.timedelta(days=2),
    )
    application_decide(actor=staff, application=application, decision="accept")


def _seed_reenrolment_campaign(*, next_year: SchoolYear, today: dt.date) -> None:
    from .models import ReenrolmentCampaign
    from .services import reenrolment_campaign_create

    if ReenrolmentCampaign.objects.filter(school_year=next_year).exists():
        return
    closes = min(today + dt.timedelta(days=45), next_year.start_date - dt.timedelta(days=1))
    reenrolment_campaign_create(
        actor=User.objects.get(email="admin@example.org"),
        school_year=next_year,
        opens_on=today - dt.timedelta(days=1),
        closes_on=closes,
    )


def _catchment(*, school: School, street: str, parity: str = "all") -> None:
    from .addresses import normalize_street
    from .models import CatchmentArea

    if not CatchmentArea.objects.filter(
        street_key=normalize_street(street), number_from=1, parity=parity
    ).exists():
        CatchmentArea.objects.create(school=school, street_name=street, parity=parity)
