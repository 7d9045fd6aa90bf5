#!/usr/bin/env python3
"""Checks compose.yaml without a Docker engine.

1. It validates against the official Compose JSON Schema (../shared/compose/compose-spec.json), and
   has no duplicate mapping key (PyYAML keeps the last; Docker Compose refuses the file).
2. Every service exists with the port its code defaults to.
3. Every environment variable the code reads (Shared/ServiceRuntime, the service's own settings, and
   the shared gateway settings for the services that move money) is set for every service.
4. Each service's database schema matches its definition.
5. The Dockerfile copies every source folder Package.swift names (the build needs them all).
6. `--profile two-instances` adds a copy of each service on its port + 10.
7. The Stripe simulator container is built from the same Dockerfile, sends its webhooks to
   PaymentService signed with PaymentService's secret, and PaymentService and EscrowService use it
   only without STRIPE_SECRET_KEY (then with STRIPE_ALLOW_SIMULATOR_IN_PRODUCTION=1).
8. Prometheus scrapes every service's /metrics (deploy/prometheus/prometheus.yml, labelled with
   the service's name) and loads the rule files that exist; Grafana gets the provisioned data
   source (that Prometheus) and the dashboards folder its provider reads.
9. The web console is built from the same Dockerfile, runs in production (no development sign-in),
   sets every variable its code reads and reaches each service at its compose name and port.
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
# The services that move money at Stripe, and the shared modules whose settings they read.
GATEWAY_SERVICES = ("payment-service", "escrow-service")
GATEWAY_MODULES = ("Shared/GatewayCommands", "Shared/StripeClient")
SIMULATOR = "stripe-simulator"
CONSOLE = "web-console"

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


def settings_read_under(path):
    """Settings read with `configuration.setting("NAME", ...)` or `stringSetting` under a folder."""
    names = set()
    for folder, _, files in os.walk(os.path.join(ROOT, path)):
        for name in files:
            if name.endswith(".swift"):
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    names.update(re.findall(r'\.(?:setting|stringSetting)\(\s*"([A-Z][A-Z0-9_]*)"', handle.read()))
    return sorted(names)


def settings_read_by_service(target):
    """A service's own settings."""
    return settings_read_under(os.path.join("Services", target))


class StrictLoader(yaml.SafeLoader):
    """PyYAML, but a mapping may not repeat a key (`<<` included), as Docker Compose requires."""


def _no_duplicates(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = "<<" if key_node.tag == "tag:yaml.org,2002:merge" else loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def check_simulator(services):
    """The stripe-simulator container and the wiring of the services that use it."""
    simulator = services.get(SIMULATOR)
    check(f"service {SIMULATOR} present", simulator is not None)
    if simulator is None:
        return
    env = simulator.get("environment", {})
    check(f"{SIMULATOR} builds StripeSimulator from the services' Dockerfile",
          simulator.get("build", {}).get("args", {}).get("SERVICE") == "StripeSimulator"
          and simulator.get("build", {}).get("context") == ".")
    port = str(env.get("SIM_PORT", "12111"))
    check(f"{SIMULATOR} listens on 0.0.0.0:{port} and publishes it", env.get("SIM_HOST") == "0.0.0.0"
          and any(str(p).endswith(f":{port}") for p in simulator.get("ports", [])))
    payment = services.get("payment-service", {}).get("environment", {})
    payment_port = payment.get("HTTP_PORT")
    check(f"{SIMULATOR} sends its webhooks to PaymentService",
          env.get("SIM_WEBHOOK_URL") == f"http://payment-service:{payment_port}/api/v1/stripe/webhook")
    check(f"{SIMULATOR} signs them with PaymentService's STRIPE_WEBHOOK_SECRET",
          env.get("SIM_WEBHOOK_SECRET") is not None and env.get("SIM_WEBHOOK_SECRET") == payment.get("STRIPE_WEBHOOK_SECRET"))
    with open(os.path.join(ROOT, "deploy", "stripe", "webhook-events.txt")) as events_file:
        events = sorted(events_file.read().split())
    check(f"{SIMULATOR} sends the event types of deploy/stripe/webhook-events.txt",
          sorted(str(env.get("SIM_WEBHOOK_EVENTS", "")).split(",")) == events)
    for name in GATEWAY_SERVICES:
        service = services.get(name, {})
        environment = service.get("environment", {})
        script = " ".join(map(str, service.get("entrypoint") or []))
        check(f"{name} reaches the simulator at {SIMULATOR}:{port}",
              environment.get("STRIPE_SIMULATOR_URL") == f"http://{SIMULATOR}:{port}"
              and str(environment.get("STRIPE_SIMULATOR_KEY", "")).startswith("sk_test_"))
        check(f"{name} uses Stripe with a key, the simulator (allowed in production) only without one",
              str(environment.get("STRIPE_SECRET_KEY")) == "${STRIPE_SECRET_KEY:-}"
              and str(environment.get("STRIPE_API_BASE")) == "${STRIPE_API_BASE:-https://api.stripe.com}"
              and str(environment.get("STRIPE_ALLOW_SIMULATOR_IN_PRODUCTION")) == "0"
              and '[ -z "${STRIPE_SECRET_KEY}" ]' in script.replace("$$", "$")
              and "STRIPE_ALLOW_SIMULATOR_IN_PRODUCTION=1" in script
              and 'STRIPE_API_BASE="${STRIPE_SIMULATOR_URL}"' in script.replace("$$", "$")
              and script.rstrip().endswith("exec /app/service"))
        check(f"{name} waits for {SIMULATOR}",
              service.get("depends_on", {}).get(SIMULATOR, {}).get("condition") == "service_healthy")


def check_console(services):
    """The web-console container: production mode, every setting it reads, the four services' addresses."""
    console = services.get(CONSOLE)
    check(f"service {CONSOLE} present", console is not None)
    if console is None:
        return
    env = console.get("environment", {})
    check(f"{CONSOLE} builds WebConsole from the services' Dockerfile",
          console.get("build", {}).get("args", {}).get("SERVICE") == "WebConsole" and console.get("build", {}).get("context") == ".")
    missing = [v for v in settings_read_under("Services/WebConsole") if v not in env and v != "JWT_SECRET"]
    check(f"{CONSOLE} sets every variable the code reads", not missing, f"missing {missing}")
    check(f"{CONSOLE} runs in production (no development sign-in, no signing secret)",
          env.get("APP_ENV") == "production" and "JWT_SECRET" not in env)
    port = str(env.get("HTTP_PORT"))
    check(f"{CONSOLE} listens on 0.0.0.0:{port} and publishes it", env.get("HTTP_HOST") == "0.0.0.0"
          and any(str(p).endswith(f":{port}") for p in console.get("ports", [])))
    for name, variable in (("order-service", "ORDER_SERVICE_URL"), ("payment-service", "PAYMENT_SERVICE_URL"),
                           ("escrow-service", "ESCROW_SERVICE_URL"), ("notification-service", "NOTIFICATION_SERVICE_URL")):
        service_port = services.get(name, {}).get("environment", {}).get("HTTP_PORT")
        check(f"{CONSOLE} reaches {name} at its port", env.get(variable) == f"http://{name}:{service_port}")
    notify = services.get("notification-service", {}).get("environment", {})
    check("emails link to the console's port", str(notify.get("NOTIFY_LINK_BASE_URL", "")).endswith(f":{port}}}")
          or str(notify.get("NOTIFY_LINK_BASE_URL", "")).endswith(f":{port}"))
def check_second_instances(compose, services):
    """`--profile two-instances` runs a copy of each service on port + 10: the same build, settings
    and dependencies (YAML merge of the first), its own host port, only in that profile."""
    for name, target in SERVICES.items():
        first, second = services.get(name, {}), services.get(f"{name}-2")
        check(f"service {name}-2 present", second is not None)
        if second is None:
            continue
        port, _ = definition(target)
        same = all(second.get(key) == first.get(key)
                   for key in ("build", "environment", "entrypoint", "depends_on", "healthcheck"))
        check(f"{name}-2 is a copy of {name}", same)
        check(f"{name}-2 publishes {port + 10} and runs only in profile two-instances",
              second.get("ports") == [f"{port + 10}:{port}"] and second.get("profiles") == ["two-instances"]
              and not first.get("profiles"))


def mounts(service):
    """A service's bind mounts as {container path: host path}."""
    found = {}
    for volume in service.get("volumes", []):
        parts = str(volume).split(":")
        if len(parts) >= 2 and parts[0].startswith("./"):
            found[parts[1]] = parts[0][2:].rstrip("/")
    return found


def check_monitoring(services):
    """Prometheus scrapes every service and loads its rules; Grafana is provisioned from deploy/grafana."""
    prometheus = services.get("prometheus")
    check("service prometheus present", prometheus is not None)
    if prometheus is None:
        return
    config_dir = mounts(prometheus).get("/etc/prometheus")
    check("prometheus mounts deploy/prometheus at /etc/prometheus", config_dir == "deploy/prometheus")
    check("prometheus reads /etc/prometheus/prometheus.yml",
          "--config.file=/etc/prometheus/prometheus.yml" in [str(a) for a in prometheus.get("command", [])])
    check("prometheus publishes port 9090", any(str(p).endswith(":9090") for p in prometheus.get("ports", [])))
    config = yaml.safe_load(read("deploy/prometheus/prometheus.yml"))
    for rule_file in config.get("rule_files", []):
        check(f"prometheus rule file {rule_file} exists", os.path.exists(os.path.join(ROOT, "deploy/prometheus", rule_file)))
    check("prometheus loads at least one rule file", bool(config.get("rule_files")))
    targets = {}
    for job in config.get("scrape_configs", []):
        for static in job.get("static_configs", []):
            for target in static.get("targets", []):
                targets[target] = (job.get("metrics_path", "/metrics"), static.get("labels", {}).get("service"))
    for name, target in SERVICES.items():
        port = str(services.get(name, {}).get("environment", {}).get("HTTP_PORT"))
        scraped = targets.get(f"{name}:{port}")
        check(f"prometheus scrapes {name}:{port}/metrics labelled service={name}", scraped == ("/metrics", name), str(scraped))
    # The profile's second instances: discovered by DNS on their container port, relabelled to their service.
    discovered = {}
    for job in config.get("scrape_configs", []):
        relabelled = any(r.get("source_labels") == ["__meta_dns_name"] and r.get("target_label") == "service"
                         and re.fullmatch(r.get("regex", ""), "x-2") and r.get("replacement") == "$1"
                         for r in job.get("relabel_configs", []))
        for sd in job.get("dns_sd_configs", []):
            for dns_name in sd.get("names", []):
                discovered[dns_name] = (sd.get("type"), str(sd.get("port")), relabelled)
    for name in sorted(n for n, s in services.items() if "two-instances" in s.get("profiles", [])):
        port = str(services[name].get("environment", {}).get("HTTP_PORT"))
        check(f"prometheus discovers {name} (two-instances) on :{port} labelled as its service",
              discovered.get(name) == ("A", port, True), str(discovered.get(name)))

    grafana = services.get("grafana")
    check("service grafana present", grafana is not None)
    if grafana is None:
        return
    grafana_mounts = mounts(grafana)
    check("grafana mounts deploy/grafana/provisioning at /etc/grafana/provisioning",
          grafana_mounts.get("/etc/grafana/provisioning") == "deploy/grafana/provisioning")
    check("grafana publishes port 3000", any(str(p).endswith(":3000") for p in grafana.get("ports", [])))
    sources = yaml.safe_load(read("deploy/grafana/provisioning/datasources/prometheus.yml")).get("datasources", [])
    check("grafana's data source is the prometheus service", any(
        d.get("type") == "prometheus" and d.get("url") == "http://prometheus:9090" for d in sources))
    providers = yaml.safe_load(read("deploy/grafana/provisioning/dashboards/escrowmarket.yml")).get("providers", [])
    for provider in providers:
        path = provider.get("options", {}).get("path")
        host = grafana_mounts.get(path)
        check(f"grafana mounts the dashboards its provider reads ({path})",
              host is not None and any(f.endswith(".json") for f in os.listdir(os.path.join(ROOT, host))), str(host))
    check("grafana has a dashboard provider", bool(providers))


def definition(target):
    source = read(f"Services/{target}/{target}+definition.swift")
    port = int(re.search(r"defaultPort:\s*(\d+)", source).group(1))
    schema = re.search(r'schema:\s*"([a-z_]+)"', source).group(1)
    return port, schema


def main():
    try:
        yaml.load(read("compose.yaml"), Loader=StrictLoader)
        check("compose.yaml repeats no key in a mapping", True)
    except yaml.YAMLError as error:
        check("compose.yaml repeats no key in a mapping", False, str(error).replace("\n", " "))
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
        shared = [v for module in GATEWAY_MODULES for v in settings_read_under(module)] if name in GATEWAY_SERVICES else []
        missing = [v for v in variables + settings_read_by_service(target) + shared if v not in environment]
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

    check_second_instances(compose, services)
    check_simulator(services)
    check_console(services)
    check_monitoring(services)
    # SwiftPM refuses a package whose target folders are missing: the image needs every one.
    folders = sorted({p.split("/")[0] for p in re.findall(r'path:\s*"([^"]+)"', read("Package.swift"))})
    dockerfile = read("Dockerfile")
    missing = [f for f in folders if not re.search(rf"^COPY {re.escape(f)} {re.escape(f)}\s*$", dockerfile, re.M)]
    check("the Dockerfile copies every source folder Package.swift names", not missing, f"missing {missing}")

    passed = sum(results)
    failed = len(results) - passed
    print(f"compose: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
