"""Checks that the Compose file and the Kubernetes overlays give every carebook process the
settings it needs to start in distributed mode (README, "Distributed mode"), and no setting that
nothing reads.

usage: check-deploy-env.py <compose config as JSON> <rendered overlay.yaml>...
"""

import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
SERVICES = {"gateway", "identity", "patients", "doctors", "appointments", "notifications",
            "records", "billing", "analytics", "web"}
BACKENDS = SERVICES - {"gateway"}
# Services that publish or consume events: distributed, they need the broker.
WITH_EVENTS = BACKENDS - {"identity", "web"}
NEEDS = {
    "identity": {"CAREBOOK_MASTER_KEY", "CAREBOOK_SERVICE_SECRET"},
    "notifications": {"CAREBOOK_SERVICE_SECRET"},
    "records": {"CAREBOOK_RECORDS_KEYS"},
}


SECRETS_EXAMPLE = "deploy/k8s/base/secrets.example.env"
SECRET_KEYS = {
    line.split("=", 1)[0]
    for line in (ROOT / SECRETS_EXAMPLE).read_text().splitlines()
    if "=" in line and not line.startswith("#")
}


def read_in_code():
    """Every CAREBOOK_ name the code spells out, plus the per-service URL and database names."""
    names = set()
    for source in (ROOT / "crates").rglob("*.rs"):
        names.update(re.findall(r'"(CAREBOOK_[A-Z0-9_]+)"', source.read_text()))
    for service in SERVICES:
        names.add(f"CAREBOOK_{service.upper()}_URL")
        names.add(f"CAREBOOK_{service.upper()}_DATABASE_URL")
    return names


def required(service):
    needs = {"CAREBOOK_LISTEN", "CAREBOOK_IDENTITY_URL"} | NEEDS.get(service, set())
    if service == "gateway":
        needs |= {f"CAREBOOK_{s.upper()}_URL" for s in BACKENDS}
    else:
        needs.add(f"CAREBOOK_{service.upper()}_DATABASE_URL")
    if service in WITH_EVENTS:
        needs.add("CAREBOOK_AMQP_URL")
    return needs


def check(where, service, names, known, problems):
    for name in sorted(required(service) - names):
        problems.append(f"{where}: {service} lacks {name}")
    for name in sorted(n for n in names if n.startswith("CAREBOOK_") and n not in known):
        problems.append(f"{where}: {service} sets {name}, which nothing reads")


def compose_processes(path):
    config = json.loads(pathlib.Path(path).read_text())
    for name, spec in config["services"].items():
        command = spec.get("command") or []
        if command[:1] == ["serve"]:
            yield command[1], set(spec.get("environment", {}))


def k8s_processes(path):
    objects = [o for o in yaml.safe_load_all(pathlib.Path(path).read_text()) if o]
    config_maps = {o["metadata"]["name"]: set(o.get("data", {})) for o in objects if o["kind"] == "ConfigMap"}
    secrets = {o["metadata"]["name"]: set(o.get("data", {})) | set(o.get("stringData", {}))
               for o in objects if o["kind"] == "Secret"}
    for o in objects:
        if o["kind"] != "Deployment":
            continue
        for container in o["spec"]["template"]["spec"]["containers"]:
            args = container.get("args") or []
            if args[:1] != ["serve"]:
                continue
            names = {e["name"] for e in container.get("env", [])}
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    names |= config_maps.get(source["configMapRef"]["name"], set())
                if "secretRef" in source:
                    names |= secrets.get(source["secretRef"]["name"], set())
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                # A generated Secret must hold the key; the one an operator creates is described
                # by the example file.
                if ref and ref["name"] in secrets and ref["key"] not in secrets[ref["name"]]:
                    yield args[1], None, f"secret {ref['name']} has no key {ref['key']}"
                if ref and ref["name"] == "carebook-secrets" and ref["key"] not in SECRET_KEYS:
                    yield args[1], None, f"{ref['key']} is missing from {SECRETS_EXAMPLE}"
            yield args[1], names, None


def main():
    known = read_in_code()
    problems = []
    seen = set()
    for service, names in compose_processes(sys.argv[1]):
        seen.add(("compose", service))
        check("deploy/compose.yaml", service, names, known, problems)
    for rendered in sys.argv[2:]:
        where = pathlib.Path(rendered).stem
        for service, names, problem in k8s_processes(rendered):
            if problem:
                problems.append(f"{where}: {service}: {problem}")
                continue
            seen.add((where, service))
            check(where, service, names, known, problems)
    for where in ["compose"] + [pathlib.Path(r).stem for r in sys.argv[2:]]:
        for service in sorted(SERVICES - {s for w, s in seen if w == where}):
            problems.append(f"{where}: no process runs `carebook serve {service}`")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(f"{len(problems)} problems in the deployments' settings")
    print(f"every service configured in compose and {len(sys.argv) - 2} overlays")


if __name__ == "__main__":
    main()
