#!/bin/sh
# Install the Minot agent as a systemd service (Linux). Run as root:
#   sh install.sh --server https://minot.example.org --enroll-secret-file /path/to/secret
# or  MINOT_ENROLL_SECRET=... sh install.sh --server https://...
set -eu

PREFIX=/opt/minot-agent
CONF_DIR=/etc/minot-agent
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
SERVER=""
SECRET_FILE=""
CA_BUNDLE=""
PYTHON=${PYTHON:-python3}

while [ $# -gt 0 ]; do
    case "$1" in
        --server) SERVER=$2; shift 2 ;;
        --enroll-secret-file) SECRET_FILE=$2; shift 2 ;;
        --ca-bundle) CA_BUNDLE=$2; shift 2 ;;
        --python) PYTHON=$2; shift 2 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then echo "run as root" >&2; exit 1; fi
if [ -z "$SERVER" ]; then echo "--server is required" >&2; exit 2; fi

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' || {
    echo "Python 3.9 or newer is required" >&2; exit 1; }

"$PYTHON" -m venv "$PREFIX"
"$PREFIX/bin/pip" install --quiet --upgrade "$SRC_DIR"

install -d -m 0755 "$CONF_DIR"
umask 077
if [ -n "$SECRET_FILE" ]; then
    install -m 0600 "$SECRET_FILE" "$CONF_DIR/enroll_secret"
elif [ -n "${MINOT_ENROLL_SECRET:-}" ]; then
    printf '%s\n' "$MINOT_ENROLL_SECRET" > "$CONF_DIR/enroll_secret"
fi
if [ ! -f "$CONF_DIR/enroll_secret" ]; then
    echo "no enroll secret: pass --enroll-secret-file or set MINOT_ENROLL_SECRET" >&2; exit 2
fi
if [ ! -f "$CONF_DIR/agent.toml" ]; then
    {
        echo "server = \"$SERVER\""
        echo "enroll_secret_file = \"$CONF_DIR/enroll_secret\""
        echo "state_dir = \"/var/lib/minot-agent\""
        [ -n "$CA_BUNDLE" ] && echo "ca_bundle = \"$CA_BUNDLE\""
        echo 'log_format = "json"'
    } > "$CONF_DIR/agent.toml"
    chmod 0600 "$CONF_DIR/agent.toml"
fi

install -m 0644 "$SRC_DIR/packaging/minot-agent.service" /etc/systemd/system/minot-agent.service
"$PREFIX/bin/minot-agent" check --config "$CONF_DIR/agent.toml" > /dev/null
systemctl daemon-reload
systemctl enable --now minot-agent.service
echo "minot-agent installed; logs: journalctl -u minot-agent -f"
