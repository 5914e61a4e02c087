#!/usr/bin/env python3
"""Turns `swift package benchmark --format markdown` output into the GB/s table
of Docs/benchmarks.md: median wall clock per 1 MiB stripe, ratios to the C
baselines, and the most mallocs any iteration made."""
import re
import sys

BLOCK = 1 << 20
text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
results = {}
for section in re.split(r"^### ", text, flags=re.M)[1:]:
    name = section.splitlines()[0].strip()
    row = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].startswith("Time (wall clock)"):
            unit = re.search(r"\((ns|μs|us|ms)\)", cells[0]).group(1)
            scale = {"ns": 1, "μs": 1e3, "us": 1e3, "ms": 1e6}[unit]
            row["p50_ns"] = float(cells[3].replace(",", "")) * scale
        if cells and cells[0].startswith("Malloc (total)"):
            row["malloc_max"] = int(cells[7].replace(",", ""))
    op, code, variant = name.split()
    results[(op, code, variant)] = row

def gbps(key):
    row = results.get(key)
    return BLOCK / row["p50_ns"] if row and "p50_ns" in row else None

codes = []
for (_, code, _) in results:
    if code not in codes:
        codes.append(code)
print("| operation | code | shale-isal GB/s | c-isal-direct GB/s | shale/direct | shale-swift GB/s | c-table GB/s | swift/table | max mallocs per stripe (shale) |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for op in ["encode", "reconstruct-1", "reconstruct-m"]:
    for code in codes:
        isal, direct = gbps((op, code, "shale-isal")), gbps((op, code, "c-isal-direct"))
        swift, table = gbps((op, code, "shale-swift")), gbps((op, code, "c-table"))
        mallocs = max(results.get((op, code, v), {}).get("malloc_max", 0) for v in ["shale-isal", "shale-swift"])
        fmt = lambda x: f"{x:.2f}" if x is not None else "-"
        ratio = lambda a, b: f"{100 * a / b:.1f}%" if a and b else "-"
        times = lambda a, b: f"{a / b:.2f}x" if a and b else "-"
        print(f"| {op} | {code} | {fmt(isal)} | {fmt(direct)} | {ratio(isal, direct)} | {fmt(swift)} | {fmt(table)} | {times(swift, table)} | {mallocs} |")
