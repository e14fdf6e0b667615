"""Stock osqueryd onboarding: per school, a flagfile per platform, the enroll secret file and a
one-page install guide, in one zip a technician downloads (docs/fleet.md, "Onboarding").

Secrets are stored hashed, so the package carries a freshly rotated secret: devices already
enrolled keep their node keys; devices installed with an older package must be given the new
secret file only if they ever need to enroll again.
"""

from __future__ import annotations

import io
import zipfile

from django.utils.translation import gettext as _

from backend.core.services import audit_record
from family.models import School

from .. import conf
from .enrollment import enroll_secret_rotate

PLATFORMS = {
    # platform: (secret path, certificate bundle shipped with the osquery package)
    "linux": ("/etc/osquery/enroll_secret", "/opt/osquery/share/osquery/certs/certs.pem"),
    "macos": ("/var/osquery/enroll_secret", "/var/osquery/certs/certs.pem"),
    "windows": (
        r"C:\Program Files\osquery\enroll_secret",
        r"C:\Program Files\osquery\certs\certs.pem",
    ),
}


def flagfile(*, host: str, platform: str) -> str:
    """osqueryd flags: everything osquery reads only from the command line or a flagfile
    (plugins, endpoints, host identifier, config_refresh) lives here, never in the served config."""
    secret_path, certs = PLATFORMS[platform]
    lines = [
        f"# Minot — osqueryd flagfile ({platform}). Keep in step with docs/fleet.md.",
        f"--tls_hostname={host}",
        f"--tls_server_certs={certs}",
        "--host_identifier=uuid",
        f"--enroll_secret_path={secret_path}",
        "--enroll_tls_endpoint=/api/osquery/enroll",
        "--config_plugin=tls",
        "--config_tls_endpoint=/api/osquery/config",
        f"--config_refresh={conf.get('FLEET_CONFIG_REFRESH')}",
        "--config_accelerated_refresh=300",
        "--logger_plugin=tls",
        "--logger_tls_endpoint=/api/osquery/log",
        f"--logger_tls_period={conf.get('FLEET_LOGGER_TLS_PERIOD')}",
        "--logger_tls_compress=true",
        "--disable_distributed=false",
        "--distributed_plugin=tls",
        f"--distributed_interval={conf.get('FLEET_DISTRIBUTED_INTERVAL')}",
        "--distributed_tls_read_endpoint=/api/osquery/distributed/read",
        "--distributed_tls_write_endpoint=/api/osquery/distributed/write",
        "--disable_carver=true",
        "--tls_enroll_max_attempts=0",
        "--tls_enroll_max_interval=600",
    ]
    return "\n".join(lines) + "\n"


def install_guide(*, school: School, host: str) -> str:
    return _(
        "Minot — installer osquery sur un appareil de l'école %(school)s (%(code)s)\n"
        "=====================================================================\n\n"
        "Le paquet contient : osquery-linux.flags, osquery-macos.flags, osquery-windows.flags\n"
        "et enroll_secret (le secret d'inscription de l'école, à garder confidentiel).\n"
        "Serveur : https://%(host)s\n\n"
        "Linux (Debian/Ubuntu)\n"
        "  1. Installer le paquet osquery officiel (osquery.io/downloads).\n"
        "  2. sudo install -m 600 enroll_secret /etc/osquery/enroll_secret\n"
        "  3. sudo install -m 644 osquery-linux.flags /etc/osquery/osquery.flags\n"
        "  4. sudo systemctl enable --now osqueryd\n\n"
        "Windows\n"
        "  1. Installer le MSI officiel d'osquery.\n"
        "  2. Copier enroll_secret dans C:\\Program Files\\osquery\\enroll_secret\n"
        "  3. Copier osquery-windows.flags dans C:\\Program Files\\osquery\\osquery.flags\n"
        "  4. Dans PowerShell administrateur : Restart-Service osqueryd\n\n"
        "macOS\n"
        "  1. Installer le paquet .pkg officiel d'osquery.\n"
        "  2. sudo install -m 600 enroll_secret /var/osquery/enroll_secret\n"
        "  3. sudo install -m 644 osquery-macos.flags /var/osquery/osquery.flags\n"
        "  4. sudo cp /var/osquery/io.osquery.agent.plist /Library/LaunchDaemons/ &&\n"
        "     sudo launchctl load /Library/LaunchDaemons/io.osquery.agent.plist\n\n"
        "Vérifier : l'appareil apparaît dans Minot (Parc → %(school)s → Hors chariot) en moins\n"
        "d'une minute ; rangez-le ensuite dans son chariot et son emplacement.\n"
        "Un appareil déjà inscrit dans une autre école n'est pas déplacé : une demande\n"
        "apparaît dans les alertes, à accepter ou refuser.\n"
    ) % {"school": school.name, "code": school.code, "host": host}


def onboarding_package(*, school: School, host: str, actor=None) -> bytes:
    """Rotate the school's secret and return the zip (flagfiles, secret file, guide)."""
    secret = enroll_secret_rotate(school=school, actor=actor)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for platform in PLATFORMS:
            archive.writestr(f"osquery-{platform}.flags", flagfile(host=host, platform=platform))
        archive.writestr("enroll_secret", secret)
        archive.writestr("LISEZMOI.txt", install_guide(school=school, host=host))
    audit_record(action="fleet.onboarding_package", actor=actor, target=school, data={"host": host})
    return buffer.getvalue()
