"""Checks deploy/grafana's dashboards and deploy/prometheus's rules against what carebook exports.

Every dashboard must be well-formed JSON with a unique uid, panels with unique ids, a position
and queries. Every metric a dashboard query or an alert rule names must be one the code exports
(a `metrics::counter!`/`gauge!`/`histogram!` call in crates/), or come from Prometheus itself,
RabbitMQ's plugin or the blackbox exporter. The dashboards' queries are written out as
recording rules for `promtool check rules`, which parses them.

usage: check-dashboards.py <rules file to write>
"""

import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXTERNAL = re.compile(r"^(up|rabbitmq_\w+|probe_\w+)$")
# A metric selector: a name followed by its labels or a range.
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[\{\[]")
MACRO = re.compile(r'metrics::(counter|gauge|histogram)!\(\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"')


def exported_metrics():
    names = set()
    for source in (ROOT / "crates").rglob("*.rs"):
        for kind, name in MACRO.findall(source.read_text()):
            names.add(name)
            if kind == "histogram":
                names.update(f"{name}_{suffix}" for suffix in ("bucket", "sum", "count"))
    return names


def unknown_metrics(expr, known):
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return sorted(
        name
        for name in SELECTOR.findall(without_strings)
        if name not in known and not EXTERNAL.match(name) and name not in ("by", "without", "on")
    )


def main():
    rules_out = pathlib.Path(sys.argv[1])
    known = exported_metrics()
    if not known:
        sys.exit("no metrics found in crates/: the pattern no longer matches the code")
    problems = []
    rules = []
    uids = set()
    dashboards = sorted((ROOT / "deploy" / "grafana").glob("*.json"))
    if not dashboards:
        problems.append("deploy/grafana holds no dashboard")
    for path in dashboards:
        name = path.relative_to(ROOT)
        try:
            board = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            problems.append(f"{name}: not JSON: {err}")
            continue
        for key in ("uid", "title", "panels", "schemaVersion"):
            if key not in board:
                problems.append(f"{name}: no {key}")
        if board.get("uid") in uids:
            problems.append(f"{name}: uid {board.get('uid')} used twice")
        uids.add(board.get("uid"))
        ids = set()
        for panel in board.get("panels", []):
            title = panel.get("title", "?")
            if panel.get("id") in ids:
                problems.append(f"{name}: panel id {panel.get('id')} used twice")
            ids.add(panel.get("id"))
            if not {"x", "y", "w", "h"} <= set(panel.get("gridPos", {})):
                problems.append(f"{name}: panel {title!r} has no complete gridPos")
            targets = panel.get("targets") or []
            if not targets:
                problems.append(f"{name}: panel {title!r} has no query")
            for target in targets:
                expr = target.get("expr", "")
                if not expr.strip():
                    problems.append(f"{name}: panel {title!r} has an empty query")
                    continue
                for metric in unknown_metrics(expr, known):
                    problems.append(f"{name}: panel {title!r} uses {metric}, which nothing exports")
                # Grafana's variables, as Grafana would fill them in.
                concrete = expr.replace("$__rate_interval", "5m").replace("$service", ".+")
                rules.append({"record": f"dashboard:check_{len(rules)}", "expr": concrete})
    for path in sorted((ROOT / "deploy" / "prometheus").glob("alerts.yaml")):
        for line_expr in re.findall(r"expr: \|\n((?:\s{10,}.*\n)+)|expr: (.+)", path.read_text()):
            expr = line_expr[0] or line_expr[1]
            for metric in unknown_metrics(expr, known):
                problems.append(f"{path.relative_to(ROOT)}: a rule uses {metric}, which nothing exports")
    # JSON is YAML: promtool reads this file as a rule group.
    rules_out.write_text(json.dumps({"groups": [{"name": "dashboards", "rules": rules}]}, indent=1))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(f"{len(problems)} problems in the dashboards or rules")
    print(f"{len(dashboards)} dashboards, {len(rules)} queries; metrics known: {', '.join(sorted(known))}")


if __name__ == "__main__":
    main()
