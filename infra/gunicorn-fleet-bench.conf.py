"""gunicorn for the fleet load benchmark (bench/fleet_load.py): same app, no access log, a worker
count that leaves room for the load generator on the 2-core machine. Override with GUNICORN_*."""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8501")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
backlog = 2048
timeout = 30
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = "warning"
