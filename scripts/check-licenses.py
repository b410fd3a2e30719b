#!/usr/bin/env python3
"""Fails when any dependency can only be used under a GPL-family licence.

qunzhu is MIT OR Apache-2.0; a dependency is fine when at least one alternative of its
SPDX expression is not GPL/AGPL/LGPL. Run from the repository root.
"""
import json
import re
import subprocess
import sys

COPYLEFT = re.compile(r"\b(A|L)?GPL", re.IGNORECASE)


def acceptable(expression: str) -> bool:
    # "MIT OR Apache-2.0", "(MIT OR Apache-2.0) AND Unicode-3.0", "MIT/Apache-2.0" (old style)
    for alternative in re.split(r"\s+OR\s+|/", expression.replace("(", " ").replace(")", " ")):
        if not COPYLEFT.search(alternative):
            return True
    return False


def main() -> int:
    metadata = json.loads(
        subprocess.check_output(["cargo", "metadata", "--format-version", "1"], text=True)
    )
    bad, unknown = [], []
    for package in metadata["packages"]:
        licence = package.get("license")
        if licence is None:
            if package.get("source") is not None:
                unknown.append(f"{package['name']} {package['version']}")
            continue
        if not acceptable(licence):
            bad.append(f"{package['name']} {package['version']}: {licence}")
    for line in unknown:
        print(f"warning: no SPDX licence declared: {line}", file=sys.stderr)
    if bad:
        print("dependencies under a GPL-family licence only:", *bad, sep="\n  ", file=sys.stderr)
        return 1
    print(f"licences ok: {len(metadata['packages'])} packages, none GPL-only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
