#!/usr/bin/env python3
"""Checks compose.yaml without a Docker engine.

1. It validates against the official Compose JSON Schema (../shared/compose/compose-spec.json).
2. Every service exists with the port its code defaults to.
3. Every environment variable the code reads (Shared/ServiceRuntime) is set for every service.
4. Each service's database schema matches its definition.
Prints one line per check and a closing 'N passed, N failed' line; exits 1 on any failure.
"""
import json
import os
import re
import sys

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(os.path.dirname(ROOT), "shared", "compose", "compose-spec.json")
SERVICES = {  # compose service name -> Swift target
    "order-service": "OrderService",
    "payment-service": "PaymentService",
    "escrow-service": "EscrowService",
    "notification-service": "NotificationService",
}

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}")


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        return handle.read()


def variables_read_by_code():
    source = read("Shared/ServiceRuntime/ServiceConfiguration.swift")
    return sorted(set(re.findall(r'reader\.(?:value|required|parse)\(\s*"([A-Z][A-Z0-9_]*)"', source)))


def settings_read_by_service(target):
    """A service's own settings, read with `configuration.setting("NAME", ...)`."""
    names = set()
    for folder, _, files in os.walk(os.path.join(ROOT, "Services", target)):
        for name in files:
            if name.endswith(".swift"):
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    names.update(re.findall(r'\.(?:setting|stringSetting)\(\s*"([A-Z][A-Z0-9_]*)"', handle.read()))
    return sorted(names)


def definition(target):
    source = read(f"Services/{target}/{target}+definition.swift")
    port = int(re.search(r"defaultPort:\s*(\d+)", source).group(1))
    schema = re.search(r'schema:\s*"([a-z_]+)"', source).group(1)
    return port, schema


def main():
    compose = yaml.safe_load(read("compose.yaml"))
    if os.path.exists(SCHEMA):
        with open(SCHEMA, encoding="utf-8") as handle:
            schema = json.load(handle)
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
        check("compose.yaml matches the official Compose schema", not errors,
              "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]))
    else:
        check("compose schema present at ../shared/compose/compose-spec.json", os.environ.get("CI") != "true", SCHEMA)

    variables = variables_read_by_code()
    check("the code reads configuration variables", len(variables) >= 8, str(variables))
    services = compose.get("services", {})
    for name in ("postgres", "kafka", "kafka-topics"):
        check(f"service {name} present", name in services)
    mounts = " ".join(services.get("postgres", {}).get("volumes", []))
    check("postgres runs deploy/postgres/init.sql", "deploy/postgres/init.sql:/docker-entrypoint-initdb.d/" in mounts)
    topics_script = " ".join(services.get("kafka-topics", {}).get("command", []))
    for topic in ("orders.events", "payments.events", "escrow.events", "notifications.events"):
        check(f"topic {topic} created", topic in topics_script)

    for name, target in SERVICES.items():
        service = services.get(name)
        check(f"service {name} present", service is not None)
        if service is None:
            continue
        port, schema = definition(target)
        environment = service.get("environment", {})
        missing = [v for v in variables + settings_read_by_service(target) if v not in environment]
        check(f"{name} sets every variable the code reads", not missing, f"missing {missing}")
        check(f"{name} HTTP_PORT is {port}", str(environment.get("HTTP_PORT")) == str(port))
        check(f"{name} publishes port {port}", any(str(p).endswith(f":{port}") for p in service.get("ports", [])))
        check(f"{name} uses schema {schema}", environment.get("DATABASE_SCHEMA") == schema
              and f"//{schema}:" in str(environment.get("DATABASE_URL")))
        check(f"{name} builds {target}", service.get("build", {}).get("args", {}).get("SERVICE") == target)
        depends = service.get("depends_on", {})
        check(f"{name} waits for postgres and topics",
              depends.get("postgres", {}).get("condition") == "service_healthy"
              and depends.get("kafka-topics", {}).get("condition") == "service_completed_successfully")

    passed = sum(results)
    failed = len(results) - passed
    print(f"compose: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
