"""Fleet settings with their defaults (override any of them in Django settings)."""

import json
import os

from django.conf import settings

DEFAULTS = {
    # Agent protocol
    "FLEET_MAX_BODY_BYTES": 2 * 1024 * 1024,
    "FLEET_MAX_INFLATED_BYTES": 10 * 1024 * 1024,
    "FLEET_MAX_LOG_LINES": 5000,
    "FLEET_NODE_CACHE_SECONDS": 300,
    "FLEET_NODE_NEGATIVE_CACHE_SECONDS": 5,
    "FLEET_LAST_SEEN_FLUSH_SECONDS": 10,
    "FLEET_RATE_LIMIT_PER_NODE": 240,  # requests per minute per node key
    # Per client address (a school's NAT) and per school: sized for a morning boot storm of every
    # device of the largest school (docs/fleet.md, "Rate limits").
    "FLEET_RATE_LIMIT_PER_ADDRESS": 20000,
    "FLEET_RATE_LIMIT_PER_SCHOOL": 20000,
    "FLEET_RATE_LIMIT_ENROLL_PER_ADDRESS": 1200,  # enroll attempts per minute per address
    # Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For is believed.
    "FLEET_TRUSTED_PROXIES": [],
    "FLEET_ENROLL_COOLDOWN_SECONDS": 60,  # a device re-enrolls at most once per cooldown
    # Hardware ids found shared by several machines (a cloned /etc/machine-id…): never an identity.
    "FLEET_IGNORED_HARDWARE_IDS": [],
    # Distributed writes: osqueryd re-sends a refused answer forever, so big answers are accepted
    # and truncated; only absurd sizes (or a gzip bomb) get a 413.
    "FLEET_MAX_WRITE_BYTES": 32 * 1024 * 1024,
    "FLEET_MAX_WRITE_INFLATED_BYTES": 64 * 1024 * 1024,
    "FLEET_LIVE_QUERY_MAX_RESULT_BYTES": 1024 * 1024,
    "FLEET_LIVE_QUERY_CACHE_SECONDS": 3,
    "FLEET_SYNCHRONOUS_COMMIT": False,  # last-seen flushes only; reports always commit synchronously
    "FLEET_LOG_QUEUE_URL": "",  # redis://127.0.0.1:6379/4 to queue log batches (see services/log_queue.py)
    "FLEET_LOG_QUEUE_PARTITIONS": 8,  # streams; a device always lands in the same one
    # Config sent to devices
    "FLEET_DISTRIBUTED_INTERVAL": 60,
    "FLEET_LOGGER_TLS_PERIOD": 60,
    "FLEET_CONFIG_REFRESH": 3600,
    # Status and health
    "FLEET_ONLINE_WINDOW_SECONDS": 15 * 60,
    "FLEET_MISSING_AFTER_SCHOOL_DAYS": 3,
    "FLEET_SCHOOL_DAY_START_HOUR": 8,
    "FLEET_SCHOOL_DAY_END_HOUR": 17,
    "FLEET_BATTERY_HEALTH_THRESHOLD": 80.0,
    "FLEET_BATTERY_FORECAST_WEEKS": 8,
    "FLEET_LOW_STORAGE_PERCENT": 10.0,
    "FLEET_MIN_OS_VERSIONS": {"ubuntu": "22.04", "windows": "10.0.19045", "darwin": "13.0"},
    # Retention
    "FLEET_INVENTORY_RETENTION_DAYS": 400,
    "FLEET_STATUS_LOG_RETENTION_DAYS": 14,
    "FLEET_LIVE_QUERY_RETENTION_DAYS": 30,
    "FLEET_LIVE_QUERY_MAX_ROWS": 1000,
}


def get(name: str):
    """Django setting if set, else a FLEET_* environment variable (JSON or number), else the default."""
    if hasattr(settings, name):
        return getattr(settings, name)
    raw = os.environ.get(name)
    if raw is not None:
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return DEFAULTS[name]
