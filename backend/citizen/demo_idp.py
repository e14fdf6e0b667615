"""The demo's identity provider: oidc-provider-mock (a dev dependency, never installed in
production) with the demo people as one-click users. ``make demo`` starts it on a free port and
points OIDC_ISSUER at it; nothing here runs outside the demo.

    python -m backend.citizen.demo_idp --port 8421
"""

import argparse

# (sub, claims): a newcomer, the demo parent (email vouched for: linked at once) and the other
# demo parent (email not vouched for: Minot asks for the Minot password before linking).
DEMO_PEOPLE = [
    (
        "nouveau-citoyen",
        {
            "email": "nouveau.citoyen@example.org",
            "email_verified": True,
            "given_name": "Camille",
            "family_name": "Nouveau",
            "phone_number": "+33 6 00 00 00 01",
        },
    ),
    (
        "parent-demo",
        {
            "email": "parent@example.org",
            "email_verified": True,
            "given_name": "Claire",
            "family_name": "Demo",
        },
    ),
    ("parent2-demo", {"email": "parent2@example.org", "email_verified": False}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    import oidc_provider_mock
    import werkzeug.serving

    app = oidc_provider_mock.app(
        require_nonce=True,
        user_claims=[
            oidc_provider_mock.User(sub=sub, claims=claims) for sub, claims in DEMO_PEOPLE
        ],
    )
    werkzeug.serving.run_simple("127.0.0.1", args.port, app, threaded=True)


if __name__ == "__main__":
    main()
