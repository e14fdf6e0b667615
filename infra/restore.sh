#!/usr/bin/env bash
# Restore a backup made by backup.sh into an EMPTY database, then the uploads.
# Usage: infra/restore.sh DUMP_FILE UPLOADS_TARBALL   (reads DATABASE_URL and MEDIA_ROOT)
set -euo pipefail
dump=$1; uploads=$2
pg_restore --no-owner --exit-on-error --dbname="$DATABASE_URL" "$dump"
mkdir -p "${MEDIA_ROOT:-/srv/minot/var/uploads}"
tar -C "${MEDIA_ROOT:-/srv/minot/var/uploads}" -xzf "$uploads"
python manage.py migrate --noinput
echo "restored $dump"
