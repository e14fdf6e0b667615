import csv


def write_report(command, report, path: str | None) -> None:
    rows = report.as_rows()
    for row in rows:
        command.stderr.write(f"{row['file']}:{row['row']} [{row['column']}] {row['reason']}")
    if path:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["file", "row", "column", "reason"])
            writer.writeheader()
            writer.writerows(rows)
