"""The image, compose and Kubernetes files: valid by their schemas, and every command real.

Compose is checked against the compose-spec JSON schema (the copy check-jsonschema
ships), every Kubernetes object against its API schema (kubernetes-validate, strict),
and every command line given to the Obrador image is parsed by the CLI's own click tree.
"""

from __future__ import annotations

import importlib.resources
import json
import re
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import click
import jsonschema
import kubernetes_validate
import pytest
import yaml

from deploy.cli import cli
from deploy.node import NAMES, parse_only

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.32"
IMAGE = re.compile(r"^(\$\{OBRADOR_IMAGE:-)?obrador:")


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def k8s_objects() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return [
        doc
        for name in kustomization["resources"]
        for doc in yaml.safe_load_all((K8S / name).read_text())
        if doc
    ]


def compose_errors(doc: dict[str, Any]) -> list[str]:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendor.joinpath("compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)
    found = validator(schema, format_checker=validator.FORMAT_CHECKER).iter_errors(doc)
    return [f"{e.json_path}: {e.message}" for e in found]


def parse_command(args: list[str]) -> click.Context:
    """Parse ``obrador ARGS`` down to the leaf command, as the CLI would; raise if not real."""
    ctx = cli.make_context("obrador", list(args), resilient_parsing=False)
    command: click.Command = cli
    rest = _remaining(ctx)
    while isinstance(command, click.Group):
        name, found, rest = command.resolve_command(ctx, rest)
        assert found is not None and name is not None
        ctx = found.make_context(name, list(rest), parent=ctx)
        command, rest = found, _remaining(ctx)
    if ctx.command.name == "up" and ctx.params.get("only"):
        parse_only(ctx.params["only"])  # the component names are checked too
    return ctx


def _remaining(ctx: click.Context) -> list[str]:
    """The tokens a group left for its subcommand (click 8 splits them in two lists)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # click 9 folds them into args
        return [*ctx.protected_args, *ctx.args]


def obrador_command_lines() -> list[tuple[str, list[str]]]:
    lines = [
        (f"compose {name}", list(service["command"]))
        for name, service in compose()["services"].items()
        if IMAGE.match(str(service.get("image", "")))
    ]
    for doc in k8s_objects():
        pod = _pod_spec(doc)
        for container in pod.get("containers", []) if pod else []:
            if container["image"].startswith("obrador:"):
                lines.append((f"k8s {doc['metadata']['name']}", list(container["args"])))
    return lines


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    template = doc.get("spec", {}).get("template")
    return template["spec"] if template else None


class TestCompose:
    def test_the_compose_file_follows_the_compose_spec(self) -> None:
        assert compose_errors(compose()) == []

    def test_the_schema_check_would_see_a_mistake(self) -> None:
        broken = compose()
        broken["services"]["relay"]["restart_policy"] = "always"  # not a service key
        assert compose_errors(broken)

    def test_it_runs_the_production_topology(self) -> None:
        services = compose()["services"]
        assert {"postgres", "nats1", "nats2", "nats3", *NAMES} <= set(services)
        for node in ("nats1", "nats2", "nats3"):
            command = " ".join(services[node]["command"])
            others = {n for n in ("nats1", "nats2", "nats3") if n != node}
            assert "--jetstream" in command and "--cluster_name obrador" in command
            assert all(f"nats://{o}:6222" in command for o in others), node
        assert services["projector"]["deploy"]["replicas"] >= 2
        assert services["relay"]["deploy"]["replicas"] >= 2
        url = services["relay"]["environment"]["NATS_URL"]
        assert url.split(",") == [f"nats://nats{i}:4222" for i in (1, 2, 3)]

    def test_obrador_containers_run_as_an_unprivileged_user(self) -> None:
        for name, service in compose()["services"].items():
            if IMAGE.match(str(service.get("image", ""))):
                assert service["user"] == "10001:10001", name


class TestKubernetes:
    @pytest.mark.parametrize("doc", k8s_objects(), ids=lambda d: str(d["metadata"]["name"]))
    def test_every_object_follows_its_kubernetes_schema(self, doc: dict[str, Any]) -> None:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)

    def test_the_schema_check_would_see_a_mistake(self) -> None:
        deployment = next(d for d in k8s_objects() if d["kind"] == "Deployment")
        deployment["spec"]["template"]["spec"]["containers"][0]["argz"] = ["up"]
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)

    def test_every_component_has_a_deployment_of_the_one_image(self) -> None:
        deployments = {d["metadata"]["name"]: d for d in k8s_objects() if d["kind"] == "Deployment"}
        assert set(deployments) == {f"obrador-{name}" for name in NAMES}
        assert deployments["obrador-projector"]["spec"]["replicas"] >= 2
        images = {
            c["image"]
            for d in deployments.values()
            for c in _pod_spec(d)["containers"]  # type: ignore[index]
        }
        assert images == {"obrador:0.1.0"}

    def test_every_pod_runs_as_non_root_without_privileges(self) -> None:
        for doc in k8s_objects():
            pod = _pod_spec(doc)
            if pod is None:
                continue
            assert pod["securityContext"]["runAsNonRoot"] is True, doc["metadata"]["name"]
            for container in pod["containers"]:
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False
                assert context["capabilities"]["drop"] == ["ALL"]

    def test_the_nats_cluster_has_three_routed_nodes(self) -> None:
        [nats] = [d for d in k8s_objects() if d["kind"] == "StatefulSet"]
        assert nats["spec"]["replicas"] == 3
        args = " ".join(nats["spec"]["template"]["spec"]["containers"][0]["args"])
        assert all(f"nats-{i}.nats:6222" in args for i in range(3)) and "--jetstream" in args

    @pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
    def test_kustomize_builds_the_folder(self) -> None:
        built = subprocess.run(
            ["kubectl", "kustomize", str(K8S)],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert built.returncode == 0, built.stderr
        kinds = [d["kind"] for d in yaml.safe_load_all(built.stdout) if d]
        assert kinds.count("Deployment") == len(NAMES)


class TestImage:
    def test_it_runs_obrador_as_a_numeric_non_root_user(self) -> None:
        text = (DEPLOY / "Containerfile").read_text()
        [user] = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
        assert user.split(":")[0].isdigit() and user.split(":")[0] != "0"
        assert 'ENTRYPOINT ["obrador"]' in text
        cmd = json.loads(re.findall(r"^CMD (.+)$", text, re.MULTILINE)[-1])
        parse_command(cmd)

    def test_it_copies_only_what_exists(self) -> None:
        text = (DEPLOY / "Containerfile").read_text()
        for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.MULTILINE):
            for source in line.split()[:-1]:
                assert (ROOT / source).exists(), source


@pytest.mark.parametrize(("where", "args"), obrador_command_lines(), ids=str)
def test_every_command_line_is_a_real_obrador_command(where: str, args: list[str]) -> None:
    parse_command(args)


def test_a_wrong_command_line_is_refused() -> None:
    with pytest.raises(click.UsageError):
        parse_command(["up", "--onl", "relay"])
    with pytest.raises(ValueError, match="unknown component"):
        parse_command(["up", "--only", "relays"])
    with pytest.raises(click.UsageError):
        parse_command(["projections", "rebuilt", "sales"])
