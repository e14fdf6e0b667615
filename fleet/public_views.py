"""Agent-facing osquery remote API endpoints (plain Django views, csrf-exempt, JSON only).

Contract in docs/fleet.md §1. osqueryd does not look at HTTP statuses: it reads the JSON body.
Invalid node keys/secrets → 200 {"node_invalid": true}; bad input → 4xx {"error", "message"}.
"""

from __future__ import annotations

import json
import logging
from functools import wraps

from django.db import DatabaseError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from redis.exceptions import RedisError

from . import conf
from .protocol import (
    ProtocolError,
    node_key_from,
    parse_distributed_write,
    parse_enroll,
    parse_log,
    read_json_body,
)
from .services.config import config_for_school
from .services.enrollment import device_enroll
from .services.inventory import results_ingest, status_logs_ingest
from .services.live_queries import distributed_read, distributed_write
from .services.log_queue import log_enqueue, queue_enabled
from .services.nodes import client_address, node_lookup, node_seen, rate_limited

logger = logging.getLogger(__name__)

NODE_INVALID = {"node_invalid": True}


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message, "message": message}, status=status)


def osquery_endpoint(*, authenticated: bool = True, large_bodies: bool = False):
    """POST-only, JSON in/out, body checks, rate limits, node-key authentication, no 5xx leaks."""

    def decorator(handler):
        @csrf_exempt
        @transaction.non_atomic_requests
        @wraps(handler)
        def view(request, *args, **kwargs):
            if request.method != "POST":
                response = _error(_("Méthode non autorisée : POST attendu."), 405)
                response["Allow"] = "POST"
                return response
            address = client_address(request.META)
            limit = conf.get(
                "FLEET_RATE_LIMIT_ENROLL_PER_ADDRESS"
                if not authenticated
                else "FLEET_RATE_LIMIT_PER_ADDRESS"
            )
            if rate_limited("enroll" if not authenticated else "addr", address, limit):
                return _error(_("Trop de requêtes depuis cette adresse, réessayez plus tard."), 429)
            try:
                body = (
                    read_json_body(
                        request,
                        limit=conf.get("FLEET_MAX_WRITE_BYTES"),
                        inflated_limit=conf.get("FLEET_MAX_WRITE_INFLATED_BYTES"),
                    )
                    if large_bodies
                    else read_json_body(request)
                )
                if not authenticated:
                    return handler(request, body)
                key = node_key_from(body, request)
                node = node_lookup(key) if key else None
                if node is None:
                    return JsonResponse(NODE_INVALID)
                if rate_limited("node", str(node.device_id), conf.get("FLEET_RATE_LIMIT_PER_NODE")):
                    return _error(
                        _("Trop de requêtes pour cet appareil, réessayez plus tard."), 429
                    )
                if node.school_id and rate_limited(
                    "school", str(node.school_id), conf.get("FLEET_RATE_LIMIT_PER_SCHOOL")
                ):
                    return _error(_("Trop de requêtes pour cette école, réessayez plus tard."), 429)
                response = handler(request, body, node)
                node_seen(node)
                return response
            except ProtocolError as exc:
                return _error(exc.message, exc.status)
            except DatabaseError:
                logger.exception("fleet: database error on %s", request.path)
                return _error(_("Service momentanément indisponible, réessayez plus tard."), 503)

        return view

    return decorator


@osquery_endpoint(authenticated=False)
def enroll(request, body):
    parsed = parse_enroll(body)
    node_key = device_enroll(request=parsed) if parsed else None
    if node_key is None:
        return JsonResponse(NODE_INVALID)
    return JsonResponse({"node_key": node_key})


_encoded: dict[int, tuple[dict, bytes]] = {}


def _config_bytes(config: dict) -> bytes:
    """The cached config dict is the same object for a while: encode it once (keyed by identity;
    the memo holds the dict, so its id cannot be reused while it is there)."""
    found = _encoded.get(id(config))
    if found is not None and found[0] is config:
        return found[1]
    if len(_encoded) > 1000:
        _encoded.clear()
    body = json.dumps(config).encode()
    _encoded[id(config)] = (config, body)
    return body


@osquery_endpoint()
def config(request, body, node):
    return HttpResponse(
        _config_bytes(config_for_school(node.school_id)), content_type="application/json"
    )


@osquery_endpoint()
def log(request, body, node):
    log_type, lines = parse_log(body, timezone.now())
    if queue_enabled():
        try:
            log_enqueue(
                device_id=node.device_id, serial=node.serial, log_type=log_type, lines=lines
            )
            return JsonResponse({})
        except RedisError:
            logger.warning("fleet: log queue unavailable, ingesting inline")
    if log_type == "status":
        status_logs_ingest(device_id=node.device_id, lines=lines)
    else:
        results_ingest(device_id=node.device_id, serial=node.serial, results=lines)
    return JsonResponse({})


@osquery_endpoint()
def read(request, body, node):
    return JsonResponse({"queries": distributed_read(device_id=node.device_id), "discovery": {}})


@osquery_endpoint(large_bodies=True)
def write(request, body, node):
    distributed_write(device_id=node.device_id, answers=parse_distributed_write(body))
    return JsonResponse({})
