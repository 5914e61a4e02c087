#!/usr/bin/env python3
"""Prints the fault campaign's figures (the JSON lines test_faults.py writes
to $SHALE_FAULT_REPORT) as the Markdown table of Docs/reliability.md."""
import json
import sys

COLUMNS = [("acknowledged", "acknowledged writes"), ("lost", "lost"), ("corrupt_reads", "corrupt reads"),
           ("partial_visible", "partial visible"), ("refused_or_cut", "refused or cut"),
           ("seconds_to_full_redundancy", "time to full redundancy (s)")]


def main(path: str) -> None:
    rows = [json.loads(line) for line in open(path) if line.strip()]
    print("| scenario | " + " | ".join(title for _, title in COLUMNS) + " | other figures |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for row in sorted(rows, key=lambda r: r["scenario"]):
        known = {name for name, _ in COLUMNS} | {"scenario", "full", "attempted", "unknown_listed"}
        other = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in row.items() if k not in known)
        print(f"| {row['scenario']} | " + " | ".join(str(row.get(name, "–")) for name, _ in COLUMNS) + f" | {other} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Docs/bench-runs/faults.jsonl")
