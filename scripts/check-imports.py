#!/usr/bin/env python3
"""Checks every import line of Sources/ and Tests/ against the allowed edges
in Docs/architecture.md (the table between <!-- imports:begin --> and
<!-- imports:end -->): Package.swift cannot guard the direction of the
module map by itself. Prints each edge that is not allowed, with its file
and line, and exits 1; exits 0 when every import is allowed.
`--current` prints the table of the edges the tree has now."""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "Docs" / "architecture.md"
# The toolchain's own modules: importing them is no edge of the module map.
SYSTEM = {"Foundation", "FoundationEssentials", "FoundationNetworking", "FoundationXML", "Glibc", "Musl", "Darwin",
          "Dispatch", "Synchronization", "Testing", "XCTest", "_StringProcessing", "os"}
IMPORT = re.compile(r"^\s*(?:@[\w]+\s+)*(?:public\s+|package\s+|internal\s+)?import\s+(?:(?:struct|class|enum|func|protocol|var|let|typealias)\s+)?([A-Za-z_][\w]*)")


def edges_in_tree() -> dict[str, dict[str, tuple[Path, int]]]:
    found: dict[str, dict[str, tuple[Path, int]]] = {}
    for top in ("Sources", "Tests"):
        for target in sorted(p for p in (ROOT / top).iterdir() if p.is_dir()):
            for file in sorted(target.rglob("*.swift")):
                for number, line in enumerate(file.read_text().splitlines(), 1):
                    match = IMPORT.match(line)
                    if match and match.group(1) not in SYSTEM:
                        found.setdefault(target.name, {}).setdefault(match.group(1), (file, number))
    return found


def allowed_edges() -> dict[str, set[str]]:
    text = DOCS.read_text()
    table = text.split("<!-- imports:begin -->", 1)[1].split("<!-- imports:end -->", 1)[0]
    allowed: dict[str, set[str]] = {}
    for line in table.strip().splitlines()[2:]:
        target, imports = [cell.strip() for cell in line.strip().strip("|").split("|")]
        allowed[target.strip("`")] = {name.strip().strip("`") for name in imports.split(",") if name.strip() not in ("", "—")}
    return allowed


def main() -> int:
    found = edges_in_tree()
    if "--current" in sys.argv:
        print("| target | may import |\n|---|---|")
        for target in sorted(found):
            print(f"| `{target}` | " + ", ".join(f"`{name}`" for name in sorted(found[target])) + " |")
        return 0
    allowed = allowed_edges()
    bad = []
    for target, imports in sorted(found.items()):
        for name, (file, number) in sorted(imports.items()):
            if name not in allowed.get(target, set()):
                bad.append(f"{file.relative_to(ROOT)}:{number}: {target} imports {name}, which Docs/architecture.md does not allow")
    for line in bad:
        print(line)
    if bad:
        print(f"import check: {len(bad)} edge(s) outside the module map")
        return 1
    print(f"import check: {sum(len(i) for i in found.values())} edges of {len(found)} targets, all allowed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
