"""``minot-agent check | run [--once]``."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys

from . import __version__
from .config import ConfigError, load_settings

logger = logging.getLogger("minot_agent.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minot-agent",
        description="Minot device agent: inventory and health over the osquery remote API.",
    )
    parser.add_argument("--version", action="version", version=f"minot-agent {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="TOML config file (default /etc/minot-agent/agent.toml)")
    common.add_argument(
        "--server", help="server URL, e.g. https://minot.example.org (MINOT_SERVER)"
    )
    common.add_argument("--enroll-secret", help="school enroll secret (MINOT_ENROLL_SECRET)")
    common.add_argument("--enroll-secret-file", help="file holding the enroll secret")
    common.add_argument("--state-dir", help="where node key and spool live (MINOT_STATE_DIR)")
    common.add_argument("--ca-bundle", help="CA certificates (PEM) to verify the server with")
    common.add_argument(
        "--insecure-http",
        action="store_const",
        const=True,
        default=None,
        help="allow plain http:// (local testing only)",
    )
    common.add_argument("--host-identifier", choices=["uuid", "instance", "specified"])
    common.add_argument("--specified-identifier")
    common.add_argument("--osquery", choices=["auto", "never", "always"], help="use osquery")
    common.add_argument("--osquery-socket", help="osqueryd extension socket")
    common.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    common.add_argument("--log-format", choices=["json", "text"])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", parents=[common], help="collect once, print JSON, no network")
    run = commands.add_parser("run", parents=[common], help="run the service loop")
    run.add_argument(
        "--once", action="store_true", help="one cycle, then exit (non-zero on failure)"
    )
    return parser


FLAG_NAMES = [
    "server",
    "enroll_secret",
    "enroll_secret_file",
    "state_dir",
    "ca_bundle",
    "insecure_http",
    "host_identifier",
    "specified_identifier",
    "osquery",
    "osquery_socket",
    "log_level",
    "log_format",
]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["extension"]:
        # osquery extension (Linux battery table); its flags are osquery-python's own.
        from .extension import main as extension_main

        return extension_main(argv[1:])
    args = build_parser().parse_args(argv)
    from . import logs

    try:
        settings = load_settings(
            config_path=args.config, flags={name: getattr(args, name) for name in FLAG_NAMES}
        )
    except ConfigError as exc:
        logs.configure("info", "text")
        logger.error("configuration error: %s", exc)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    if args.command == "check":
        return check(settings)
    try:
        settings.validate_for_network()
    except ConfigError as exc:
        logger.error("configuration error: %s", exc)
        return 2
    return run(settings, once=args.once)


def check(settings) -> int:  # noqa: ANN001
    from .agent import DEFAULT_QUERIES, HOST_DETAIL_TABLES
    from .native import QueryError, platform_mask
    from .osquery_backend import make_backend

    try:
        backend = make_backend(settings.osquery, settings.osquery_socket, settings.osquery_binary)
    except QueryError as exc:
        logger.error("osquery unavailable: %s", exc)
        return 1
    output = {
        "backend": backend.name,
        "platform_type": platform_mask(),
        "results": {},
        "errors": {},
        "host_details": {},
    }
    for table in HOST_DETAIL_TABLES:
        try:
            rows = backend.query(f"SELECT * FROM {table}")
            output["host_details"][table] = rows[0] if rows else {}
        except QueryError as exc:
            output["errors"][table] = str(exc)
    for name, sql in DEFAULT_QUERIES.items():
        try:
            output["results"][name] = backend.query(sql)
        except QueryError as exc:
            output["errors"][name] = str(exc)
    collector_errors = list(getattr(backend, "collector_errors", []))
    if collector_errors:
        output["collector_errors"] = collector_errors
    backend.close()
    json.dump(output, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def run(settings, *, once: bool) -> int:  # noqa: ANN001
    from .agent import Agent
    from .native import QueryError

    try:
        agent = Agent(settings)
    except (QueryError, OSError) as exc:
        logger.error("cannot start: %s", exc)
        return 1
    try:
        if once:
            return 0 if agent.run_once() else 1

        def stop(signum, _frame):  # noqa: ANN001
            logger.info("signal received, stopping", extra={"signal": signum})
            agent.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        agent.run_forever()
        return 0
    finally:
        agent.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
