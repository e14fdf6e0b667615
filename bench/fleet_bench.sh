#!/usr/bin/env bash
# Fleet load benchmark: gunicorn + PostgreSQL on this machine, load generator on loopback.
#   bash bench/fleet_bench.sh            (DURATION=30 DEVICES=2000 CONCURRENCY=48 by default)
# Needs PostgreSQL at 127.0.0.1:5432 (database minot_fleet, created and seeded if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30}; DEVICES=${DEVICES:-2000}; CONCURRENCY=${CONCURRENCY:-48}
PORT=${PORT:-8501}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/minot_fleet}
export DJANGO_SETTINGS_MODULE=backend.settings.production
export SECRET_KEY=${SECRET_KEY:-fleet-bench-not-secret-0123456789abcdefghijklmnopqrstuvwxyz}
export ALLOWED_HOSTS=127.0.0.1,localhost SECURE_SSL_REDIRECT=False LOG_LEVEL=WARNING
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/4}
# the load comes from one address: lift the per-address limits for the run (per-node stays on)
export FLEET_RATE_LIMIT_PER_ADDRESS=0 FLEET_RATE_LIMIT_ENROLL_PER_ADDRESS=0
# QUEUE=1 (default): log batches go to a Redis list, drained in bulk by fleet_log_worker
QUEUE=${QUEUE:-1}
if [ "$QUEUE" = 1 ]; then export FLEET_LOG_QUEUE_URL=${FLEET_LOG_QUEUE_URL:-redis://127.0.0.1:6379/4}; fi
export GUNICORN_BIND=127.0.0.1:$PORT GUNICORN_WORKERS=${GUNICORN_WORKERS:-3}
export GUNICORN_WORKER_CLASS=${GUNICORN_WORKER_CLASS:-gthread} GUNICORN_THREADS=${GUNICORN_THREADS:-4}
DB=${DATABASE_URL##*/}
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE $DB" >/dev/null
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py seed_demo --no-progress >/dev/null
# APP=backend.wsgi to measure the plain application (full middleware stack on agent paths too)
.venv/bin/gunicorn -c infra/gunicorn-fleet-bench.conf.py "${APP:-fleet.agent_wsgi:application}" &
MASTER=$!
DRAINER=""
if [ "$QUEUE" = 1 ]; then .venv/bin/python manage.py fleet_log_worker & DRAINER=$!; fi
trap 'kill -TERM $MASTER $DRAINER 2>/dev/null; wait $MASTER 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
pids() { echo "$(pgrep -P $MASTER | tr '\n' ' ') $DRAINER $(psql -h 127.0.0.1 -U postgres -tAc "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE datname='$DB'")"; }
URL=http://127.0.0.1:$PORT
# warm the workers' connections, then measure
.venv/bin/python bench/fleet_load.py --url "$URL" --baseline --duration 3 --concurrency "$CONCURRENCY" >/dev/null
.venv/bin/python bench/fleet_load.py --url "$URL" --baseline --duration "$DURATION" --concurrency "$CONCURRENCY" --pids "$(pids)"
.venv/bin/python bench/fleet_load.py --url "$URL" --devices "$DEVICES" --duration 5 --concurrency "$CONCURRENCY" --prefix BENCH >/dev/null
.venv/bin/python bench/fleet_load.py --url "$URL" --devices "$DEVICES" --duration "$DURATION" --concurrency "$CONCURRENCY" --prefix BENCH --pids "$(pids)"
if [ "$QUEUE" = 1 ]; then
  # the drainer's backlog is part of the cost: time it and count its CPU
  left=$(redis-cli -u "$FLEET_LOG_QUEUE_URL" llen fleet:logs)
  cpu0=$(awk '{print $14+$15}' /proc/$DRAINER/stat); t0=$(date +%s.%N)
  for _ in $(seq 600); do [ "$(redis-cli -u "$FLEET_LOG_QUEUE_URL" llen fleet:logs)" = 0 ] && break; sleep 0.2; done
  cpu1=$(awk '{print $14+$15}' /proc/$DRAINER/stat); t1=$(date +%s.%N)
  echo "{\"queued_batches_left_at_end\": $left, \"drain_seconds_after\": $(echo "$t1 - $t0" | bc), \"drainer_cpu_seconds_after\": $(echo "($cpu1 - $cpu0) / $(getconf CLK_TCK)" | bc -l | cut -c1-6)}"
fi
