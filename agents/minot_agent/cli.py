def main() -> int:
    raise SystemExit("minot-agent: not built yet")
