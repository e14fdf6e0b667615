"""The demo accounts (public, documented in the README). No Django imports here:
the demo runner prints them before Django is set up."""

DEMO_PASSWORD = "minot-demo"
DEMO_ENROLL_SECRET = "demo-enroll-secret"
DEMO_ACCOUNTS = [
    ("parent@example.org", "parent", "Camille", "Martin"),
    ("parent2@example.org", "parent", "Yanis", "Benali"),
    ("staff@example.org", "staff", "Sophie", "Durand"),
    ("admin@example.org", "admin", "Alex", "Moreau"),
    ("technician@example.org", "technician", "Théo", "Lambert"),
]
