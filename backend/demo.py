"""Run web + Celery worker + beat (and each app's extra demo processes) under one manager.

``python -m backend.demo`` (called by ``make demo``) uses the embedded defaults: SQLite under
var/ and the SQLite broker. ``--stack`` is the same with whatever DATABASE_URL and
CELERY_BROKER_URL say (``make stack``), served by gunicorn instead of runserver.
Ctrl-C stops every process.
"""

import argparse
import os
import socket
import sys

from honcho.manager import Manager

from backend.core.demo_accounts import DEMO_ACCOUNTS, DEMO_ENROLL_SECRET, DEMO_PASSWORD


def demo_processes(port: str, stack: bool) -> dict[str, str]:
    py = sys.executable
    web = (
        f"{py} -m gunicorn backend.wsgi -c infra/gunicorn.conf.py --bind 127.0.0.1:{port}"
        if stack
        else f"{py} manage.py runserver 127.0.0.1:{port} --noreload"
    )
    processes = {
        "web": web,
        "worker": f"{py} -m celery -A backend worker --loglevel=INFO --concurrency=2",
        "beat": f"{py} manage.py beat_catch_up && {py} -m celery -A backend beat --loglevel=INFO",
        # Publishes the tasks that requests recorded in the outbox (backend/core/outbox.py).
        "relay": f"{py} manage.py outbox_relay",
    }
    from django.conf import settings

    processes.update(getattr(settings, "MINOT_DEMO_PROCESSES", {}))
    return {name: cmd.format(py=py, port=port) for name, cmd in processes.items()}


def port_taken(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def helper_ports() -> None:
    """Helper processes (the Stripe stand-in, …) get free ports unless the environment names
    them, so a second demo or anything else on a fixed port never stops this one."""
    os.environ.setdefault("STRIPE_API_BASE", f"http://127.0.0.1:{free_port()}")


def demo_identity_provider(env: dict[str, str], *, stack: bool) -> dict[str, str]:
    """The embedded OpenID provider (dev dependency) on a free port, unless OIDC_ISSUER is set,
    this is ``--stack``, or the dev dependencies are not installed. Sets OIDC_* in ``env``."""
    import importlib.util

    if stack or env.get("OIDC_ISSUER") or importlib.util.find_spec("oidc_provider_mock") is None:
        return {}
    idp_port = free_port()
    env.update(
        OIDC_ISSUER=f"http://127.0.0.1:{idp_port}",
        OIDC_CLIENT_ID="minot-demo",
        OIDC_CLIENT_SECRET="minot-demo-secret",  # noqa: S106
    )
    print(
        f"  Citizen account: the demo identity provider runs on {env['OIDC_ISSUER']}.\n"
        "  On the login page, « Se connecter avec mon compte citoyen », then pick\n"
        "    nouveau-citoyen (a new family), parent-demo (links parent@example.org) or\n"
        "    parent2-demo (links parent2@example.org after its Minot password).\n"
    )
    return {"oidc": f"{sys.executable} -m backend.citizen.demo_idp --port {idp_port}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")
    port = os.environ.get("PORT", "8000")
    if not port.isdigit() or port_taken(int(port)):
        print(
            f"\n  Port {port} is already in use (another demo or another program).\n"
            f"  Stop it, or choose another port:  PORT=8080 make demo\n",
            file=sys.stderr,
        )
        return 1
    helper_ports()
    import django

    django.setup()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if args.stack:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")
        env["DJANGO_DEBUG"] = "false"
    print(f"\n  Minot is starting on http://127.0.0.1:{port}\n")
    print(f"  Demo accounts (password: {DEMO_PASSWORD}):")
    for email, role, *_ in DEMO_ACCOUNTS:
        print(f"    {email:<26} {role}")
    print(f"  Fleet enroll secret: {DEMO_ENROLL_SECRET}\n  Ctrl-C stops everything.\n")
    processes = demo_processes(port, args.stack)
    processes.update(demo_identity_provider(env, stack=args.stack))
    manager = Manager()
    for name, cmd in processes.items():
        manager.add_process(name, cmd, env=env)
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
