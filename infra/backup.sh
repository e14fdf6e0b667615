#!/usr/bin/env bash
# Nightly backup: a custom-format pg_dump plus the uploaded documents, kept 30 days.
# Usage: infra/backup.sh [DEST_DIR]   (reads DATABASE_URL and MEDIA_ROOT from the environment)
set -euo pipefail
dest=${1:-/var/backups/minot}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$dest"
pg_dump --format=custom --no-owner --dbname="$DATABASE_URL" --file="$dest/minot-$stamp.dump"
tar -C "${MEDIA_ROOT:-/srv/minot/var/uploads}" -czf "$dest/uploads-$stamp.tar.gz" .
find "$dest" -name 'minot-*.dump' -mtime +30 -delete
find "$dest" -name 'uploads-*.tar.gz' -mtime +30 -delete
echo "backup written: $dest/minot-$stamp.dump"
