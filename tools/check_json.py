#!/usr/bin/env python3
"""check_json.py DIR...: every *.json and *.jsonl file under DIR parses as strict JSON (RFC 8259).

Python's json module accepts NaN and Infinity by default; JSON does not, and neither do jq or most
readers, so they are rejected here. Prints one line per bad file (path, line, problem) and exits 1 if
there is any, else prints how many files and records it checked.
"""
import json
import pathlib
import sys


def reject_constant(name):
    raise ValueError(f"{name} is not JSON (write null for an undefined value)")


def main():
    bad, files, records = [], 0, 0
    for root in sys.argv[1:]:
        for path in sorted(pathlib.Path(root).rglob("*")):
            if path.suffix not in (".json", ".jsonl") or not path.is_file():
                continue
            files += 1
            text = path.read_text()
            docs = [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip()] \
                if path.suffix == ".jsonl" else [(1, text)]
            for line_no, doc in docs:
                try:
                    json.loads(doc, parse_constant=reject_constant)
                    records += 1
                except ValueError as e:
                    bad.append(f"{path}:{line_no}: {e}")
    for b in bad:
        print(b)
    if not bad:
        print(f"check_json: {files} files, {records} records, all valid JSON")
    return 1 if bad or files == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
