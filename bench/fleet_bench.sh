#!/usr/bin/env bash
# Fleet load benchmark: gunicorn + PostgreSQL on this machine, load generator on loopback.
#   bash bench/fleet_bench.sh   (DURATION=30 DEVICES=2000 CONCURRENCY=48 DRAINERS=2 by default)
# Needs PostgreSQL at 127.0.0.1:5432 (database minot_fleet, created and seeded if missing) and,
# with QUEUE=1, Redis (FLEET_LOG_QUEUE_URL, default db 4).
# 1. answer rate: the osquery mix as fast as the server answers (closed loop);
# 2. sustained rate with every report stored: the same mix offered at a fixed rate (open loop),
#    from the answer rate down, until the log queue's backlog stops growing; then the backlog is
#    drained and the entries the queue took are checked against the log batches answered 200.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30}; DEVICES=${DEVICES:-2000}; CONCURRENCY=${CONCURRENCY:-48}
PORT=${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}  # a free port
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/minot_fleet}
export DJANGO_SETTINGS_MODULE=backend.settings.production
export SECRET_KEY=${SECRET_KEY:-fleet-bench-not-secret-0123456789abcdefghijklmnopqrstuvwxyz}
export ALLOWED_HOSTS=127.0.0.1,localhost SECURE_SSL_REDIRECT=False LOG_LEVEL=WARNING
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/4}
# the load comes from one address: lift the per-address limits for the run (per-node stays on)
export FLEET_RATE_LIMIT_PER_ADDRESS=0 FLEET_RATE_LIMIT_ENROLL_PER_ADDRESS=0
# every simulated device is in one demo school, and re-enrolls at each run's start
export FLEET_RATE_LIMIT_PER_SCHOOL=0 FLEET_ENROLL_COOLDOWN_SECONDS=0
DRAINERS=${DRAINERS:-2}
# QUEUE=1 (default): log batches go to Redis streams, drained in bulk by fleet_log_worker
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
if [ "$QUEUE" = 1 ]; then
  .venv/bin/python manage.py shell -c "from fleet.services.log_queue import log_queue_clear; log_queue_clear()"
  for _ in $(seq "$DRAINERS"); do .venv/bin/python manage.py fleet_log_worker --idle 0.2 & DRAINER="$DRAINER $!"; done
fi
trap 'kill -TERM $MASTER $DRAINER 2>/dev/null; wait $MASTER 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
pids() { echo "$(pgrep -P $MASTER | tr '\n' ' ') $DRAINER $(psql -h 127.0.0.1 -U postgres -tAc "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE datname='$DB'")"; }
URL=http://127.0.0.1:$PORT
# warm the workers' connections, then measure
.venv/bin/python bench/fleet_load.py --url "$URL" --baseline --duration 3 --concurrency "$CONCURRENCY" >/dev/null
.venv/bin/python bench/fleet_load.py --url "$URL" --baseline --duration "$DURATION" --concurrency "$CONCURRENCY" --pids "$(pids)"
.venv/bin/python bench/fleet_load.py --url "$URL" --devices "$DEVICES" --duration 5 --concurrency "$CONCURRENCY" --prefix BENCH >/dev/null
QUEUE_ARGS=""
if [ "$QUEUE" = 1 ]; then QUEUE_ARGS="--queue-url $FLEET_LOG_QUEUE_URL --queue-partitions ${FLEET_LOG_QUEUE_PARTITIONS:-8}"; fi
LOAD=(.venv/bin/python bench/fleet_load.py --url "$URL" --devices "$DEVICES" --concurrency "$CONCURRENCY" --prefix BENCH)
backlog() { .venv/bin/python manage.py shell -v0 -c "from fleet.services.log_queue import log_queue_length; print(log_queue_length())" | tail -n 1; }
wait_drained() { for _ in $(seq 900); do [ "$(backlog)" = 0 ] && return 0; sleep 1; done; return 1; }
# 1. answer rate
ANSWER=$("${LOAD[@]}" --duration "$DURATION" --pids "$(pids)" $QUEUE_ARGS)
echo "$ANSWER"
[ "$QUEUE" = 1 ] || exit 0
t0=$(date +%s.%N); wait_drained; echo "{\"drain_seconds_after_answer_run\": $(echo "$(date +%s.%N) - $t0" | bc)}"
# 2. sustained: offered rate from the answer rate down until the backlog is flat
RPS=$(echo "$ANSWER" | .venv/bin/python -c "import json,sys; print(json.load(sys.stdin)['rps'])")
for factor in ${FACTORS:-1.0 0.8 0.65 0.5 0.4 0.3}; do
  RATE=$(echo "$RPS * $factor" | bc -l | cut -d. -f1)
  RUN=$("${LOAD[@]}" --duration "$DURATION" --rate "$RATE" --pids "$(pids)" $QUEUE_ARGS)
  echo "$RUN"
  FLAT=$(echo "$RUN" | .venv/bin/python -c "
import json, sys
r = json.load(sys.stdin); q = r['queue']; logs_per_s = q['log_batches_accepted'] / max(r['seconds'], 1)
# flat: the backlog grows by less than 2 % of the log rate and ends below 2 s of logs
print(int(r['errors'] == 0 and q['backlog_growth_per_s'] <= 0.02 * logs_per_s and q['backlog_end'] <= 2 * logs_per_s))")
  wait_drained
  if [ "$FLAT" = 1 ]; then
    echo "{\"sustained_rps_every_report_stored\": $(echo "$RUN" | .venv/bin/python -c "import json,sys; print(json.load(sys.stdin)['rps'])"), \"offered\": $RATE, \"answer_rps\": $RPS, \"drainers\": $DRAINERS}"
    break
  fi
done
