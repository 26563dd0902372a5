"""deploy/: the Kubernetes manifests are valid, complete, and match what the processes really serve."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from bot.action_server import OPEN_PATHS
from accessibility.speech_service import HEALTH_PATH
from bot.cli import build_parser
from bot.commands.serve import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.28"  # the newest schema set kubernetes-validate 1.28.0 carries


def _documents():
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                yield path.name, document


DOCUMENTS = list(_documents())


def _kind(kind):
    return [document for _, document in DOCUMENTS if document["kind"] == kind]


@pytest.mark.parametrize("name, document", DOCUMENTS,
                         ids=[f"{name}:{doc['kind']}/{doc['metadata']['name']}" for name, doc in DOCUMENTS])
def test_every_manifest_is_valid_against_the_kubernetes_schema_with_no_unknown_fields(name, document):
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_an_unknown_field_is_caught_by_the_validator():
    deployment = yaml.safe_load((K8S / "actions.yaml").read_text().split("---")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["prots"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_applies_every_manifest_in_the_folder():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_the_configmap_holds_the_repositorys_config_yml():
    check = subprocess.run([sys.executable, str(ROOT / "deploy" / "render_configmap.py"), "--check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


def test_each_container_runs_a_real_bot_command():
    parser = build_parser()
    containers = [container for kind in ("Deployment", "Job")
                  for document in _kind(kind) for container in document["spec"]["template"]["spec"]["containers"]]
    assert containers
    for container in containers:
        parsed = parser.parse_args(container["args"])
        assert callable(parsed.func), container["name"]


def _console_app():
    from bot.settings import load_settings
    from console.app import build_app
    from console.config import console_config
    from storage.db import Database

    settings = load_settings(environ={"SAPALAPOR_IDENTITY_KEY": "k" * 32, "SAPALAPOR_CONSOLE_KEY": "c" * 40,
                                      "SAPALAPOR_DATABASE_URL": "sqlite://"})
    return build_app(settings, console_config(settings), Database("sqlite://"), name="manifest_check")


def _speech_app():
    from sanic import Sanic

    from bot.speech_server import build_app

    class Worker:  # build_app only reads these until it serves
        max_queued, pid = 1, None

    previous, Sanic.test_mode = Sanic.test_mode, True  # the app's name may be taken by an earlier call
    try:
        return build_app(Worker(), "t" * 64, max_seconds=120, name="manifest_check_speech", warm_up=False)
    finally:
        Sanic.test_mode = previous


def _probe_paths(deployment):
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {container[probe]["httpGet"]["path"] for probe in ("startupProbe", "readinessProbe", "livenessProbe")}


def test_probes_ask_the_health_routes_each_process_serves_without_a_token():
    deployments = {document["metadata"]["labels"]["app.kubernetes.io/name"]: document for document in _kind("Deployment")}
    assert _probe_paths(deployments["actions"]) <= OPEN_PATHS
    # The gateway's GET / answers 503 until its connectors started; Rasa's GET / once its model loaded.
    assert _probe_paths(deployments["gateway"]) == {"/"}
    assert _probe_paths(deployments["rasa"]) == {"/"}
    # The speech server's /health answers 503 until its model is loaded, and needs no token.
    assert _probe_paths(deployments["speech"]) == {HEALTH_PATH}
    assert HEALTH_PATH.lstrip("/") in {route.path for route in _speech_app().router.routes}
    console_routes = {route.path.rstrip("/") or "/" for route in _console_app().router.routes}
    assert {path.lstrip("/") for path in _probe_paths(deployments["console"])} <= console_routes


def test_every_service_reaches_the_port_its_pods_listen_on():
    deployments = {document["metadata"]["labels"]["app.kubernetes.io/name"]: document for document in _kind("Deployment")}
    for service in _kind("Service"):
        selected = service["spec"]["selector"]["app.kubernetes.io/name"]
        pod = deployments[selected]["spec"]["template"]
        assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == selected
        ports = {port["name"]: port["containerPort"] for port in pod["spec"]["containers"][0]["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports
            assert port["port"] == ports[port["targetPort"]]


def test_the_peer_addresses_name_the_services():
    environment = next(doc for doc in _kind("ConfigMap") if doc["metadata"]["name"] == "sapalapor-environment")["data"]
    services = {service["metadata"]["name"]: service["spec"]["ports"][0]["port"] for service in _kind("Service")}
    for key in ("SAPALAPOR_ACTION_URL", "SAPALAPOR_RASA_URL", "SAPALAPOR_SPEECH_URL"):
        host, port = re.match(r"http://([^:/]+):(\d+)", environment[key]).groups()
        assert services[host] == int(port), key


def test_every_setting_without_a_default_is_provided_by_the_environment_map_or_named_as_a_secret():
    lines = (ROOT / "config.yml").read_text(encoding="utf-8").splitlines()
    config = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    required = set(re.findall(r"\$\{([A-Z0-9_]+)\}", config))
    environment = next(doc for doc in _kind("ConfigMap") if doc["metadata"]["name"] == "sapalapor-environment")["data"]
    readme = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    secrets_section = readme.split("## Secrets", 1)[1].split("\n## ", 1)[0]
    missing = sorted(name for name in required if name not in environment and f"`{name}`" not in secrets_section)
    assert missing == []


def test_internal_ports_answer_only_the_process_that_needs_them():
    policies = {policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]: policy
                for policy in _kind("NetworkPolicy")}
    allowed = {name: policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
               for name, policy in policies.items()}
    assert allowed == {"rasa": "gateway", "actions": "rasa", "speech": "gateway"}
    ports = {name: {port["port"] for port in policy["spec"]["ingress"][0]["ports"]} for name, policy in policies.items()}
    assert ports["speech"] == {DEFAULT_PORTS["speech"]}


def test_speech_to_text_runs_as_its_own_deployment_the_gateways_reach_through_its_service():
    deployments = {document["metadata"]["labels"]["app.kubernetes.io/name"]: document for document in _kind("Deployment")}
    speech = deployments["speech"]
    assert speech["spec"]["replicas"] >= 2
    container = speech["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:2] == ["serve", "speech"]
    assert [port["containerPort"] for port in container["ports"]] == [DEFAULT_PORTS["speech"]]
    # One decoding thread needs a core while a note is transcribed; the model half a gigabyte.
    assert container["resources"]["requests"]["cpu"] in ("1", 1, "1000m")
    assert container["resources"]["requests"]["memory"].endswith(("Mi", "Gi"))
    # It reads the same settings and identity key (its token) as the gateways.
    assert {source.get("configMapRef", source.get("secretRef"))["name"] for source in container["envFrom"]} == {
        "sapalapor-environment", "sapalapor-secrets"}
    environment = next(doc for doc in _kind("ConfigMap") if doc["metadata"]["name"] == "sapalapor-environment")["data"]
    assert environment["SAPALAPOR_SPEECH_URL"] == f"http://sapalapor-speech:{DEFAULT_PORTS['speech']}"


def test_no_container_runs_as_root_and_every_one_has_memory_limits():
    for kind in ("Deployment", "Job"):
        for document in _kind(kind):
            pod = document["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            for container in pod["containers"]:
                assert container["resources"]["limits"]["memory"]
                assert container["resources"]["requests"]["cpu"]
