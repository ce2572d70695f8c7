#!/usr/bin/env python3
"""Reads a schemathesis NDJSON report and fails on every failure the allowlist does not cover.

usage: schemathesis-verdict.py REPORT.ndjson ALLOWLIST.toml

A failure is allowed when its check and operation match allowlist entries and every field
error of the answer (its problem+json `errors`, or its `detail` when it has none) matches one
of them. "Schema-violating request accepted" (negative_data_rejection) can never be allowed:
the document must state every rule the server enforces that JSON Schema can express.
"""

import base64
import json
import re
import sys
import tomllib

NEVER_ALLOWED = {"negative_data_rejection"}


def load_allowlist(path):
    with open(path, "rb") as file:
        entries = tomllib.load(file).get("allow", [])
    for entry in entries:
        missing = {"operation", "check", "status", "reason"} - entry.keys()
        if missing or not ({"field", "detail"} & entry.keys()):
            sys.exit(f"allowlist entry {entry} lacks {sorted(missing) or 'field or detail'}")
        if entry["check"] in NEVER_ALLOWED:
            sys.exit(f"allowlist entry {entry} allows {entry['check']}, which is never allowed")
    return entries


def errors(report_path):
    """Errors of the run itself (a crash while testing an operation): never allowed."""
    with open(report_path) as report:
        for line in report:
            event = json.loads(line)
            for kind in ("NonFatalError", "FatalError"):
                if kind in event:
                    yield json.dumps(event[kind])[:600]


def failures(report_path):
    """(operation, check, status, body, message) for every failed check in the report."""
    with open(report_path) as report:
        for line in report:
            event = json.loads(line)
            scenario = event.get("ScenarioFinished")
            if not scenario:
                continue
            recorder = scenario["recorder"]
            for case_id, checks in recorder.get("checks", {}).items():
                for check in checks:
                    if check["status"] != "failure":
                        continue
                    interaction = recorder.get("interactions", {}).get(case_id) or {}
                    response = interaction.get("response") or {}
                    content = (response.get("content") or {}).get("$base64", "")
                    body = base64.b64decode(content).decode("utf-8", "replace")
                    failure = check["failure_info"]["failure"]
                    yield (
                        failure.get("operation", recorder["label"]),
                        check["name"],
                        response.get("status_code"),
                        body,
                        failure.get("message", ""),
                    )


def complaints(body):
    """What the answer refused: ("field", name, message) per field error, or ("detail", text)."""
    try:
        problem = json.loads(body)
    except ValueError:
        return None
    if not isinstance(problem, dict):
        return None
    errors = problem.get("errors") or []
    if errors:
        return [("field", e.get("field", ""), e.get("message", "")) for e in errors]
    return [("detail", None, problem.get("detail") or "")]


def field_matches(pattern, field):
    """`*` in an entry's field stands for any text: `weekly[*].end`, or `*` for every field."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, field) is not None


def covered(complaint, entry):
    kind, field, text = complaint
    if kind == "field":
        return (
            "field" in entry
            and field_matches(entry["field"], field)
            and entry.get("message", "") in text
        )
    return "detail" in entry and entry["detail"] in text


def allowed(failure, entries):
    operation, check, status, body, _ = failure
    candidates = [
        e
        for e in entries
        if e["check"] == check
        and e["status"] == status
        and e["operation"] in (operation, "*")
    ]
    found = complaints(body)
    if not candidates or not found:
        return False
    return all(any(covered(c, e) for e in candidates) for c in found)


def main():
    report, allowlist = sys.argv[1], sys.argv[2]
    entries = load_allowlist(allowlist)
    seen = set()
    bad = []
    total = 0
    for failure in failures(report):
        key = failure[:4]
        if key in seen:
            continue
        seen.add(key)
        total += 1
        if not allowed(failure, entries):
            bad.append(failure)
    for operation, check, status, body, message in bad:
        print(f"NOT ALLOWED: {operation} {check} -> {status}\n  {message}\n  {body[:600]}\n")
    crashed = list(errors(report))
    for error in crashed:
        print(f"ERROR: {error}\n")
    print(
        f"schemathesis: {total} distinct failures, {total - len(bad)} allowed, {len(bad)} not; "
        f"{len(crashed)} errors"
    )
    return 1 if bad or crashed else 0


if __name__ == "__main__":
    sys.exit(main())
