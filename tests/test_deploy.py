"""deploy/: the Dockerfile, compose file and Kubernetes manifests agree with each
other and with the command line (no Docker engine here: they are parsed, not run)."""

import argparse
import json
import re
import shlex
import tomllib
from urllib.parse import urlsplit

import pytest
import yaml

from conftest import REPO_ROOT
from newsbeam import __version__
from newsbeam.transforms.io.sink_specs import PostgresSink, parse_sink

DEPLOY = REPO_ROOT / "deploy"
IMAGE = f"newsbeam:{__version__}"


def _stand_in_stream_parser() -> argparse.ArgumentParser:
    """`newsbeam stream` as issue 10 documents it (used until the real one exists)."""
    parser = argparse.ArgumentParser(prog="newsbeam stream", exit_on_error=False)
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group-id")
    parser.add_argument("--start-offset", choices=["earliest", "latest"])
    parser.add_argument("--output-topic")
    parser.add_argument("--dead-letter-topic")
    parser.add_argument("--until-end", action="store_true")
    parser.add_argument("--sink", action="append", type=parse_sink)
    parser.add_argument("--health-file")
    parser.add_argument("--kafka-config")  # issue 20
    parser.add_argument("--kafka-option", action="append")
    parser.add_argument("--metrics-port", type=int)
    return parser


def _real_parser_with(command: str) -> argparse.ArgumentParser | None:
    from newsbeam.cli import build_parser

    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return parser
    return None


def _option(args: list[str], name: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == name]


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def _k8s() -> dict[str, dict]:
    documents = {}
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            documents[document["kind"]] = document
    return documents


def _k8s_container() -> dict:
    return _k8s()["Deployment"]["spec"]["template"]["spec"]["containers"][0]


def _k8s_args(secret_sink: str) -> list[str]:
    """The container's args with $(VAR) expanded as Kubernetes would."""
    container = _k8s_container()
    env = dict(_k8s()["ConfigMap"]["data"])
    env.update({e["name"]: e.get("value", secret_sink) for e in container["env"]})
    return [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], arg) for arg in container["args"]]


EXAMPLE_SECRET_SINK = "postgresql://newsbeam:pw@postgres.db.svc:5432/news?table=articles"


def test_dockerfile_slim_non_root_with_extras_and_newsbeam_entrypoint():
    text = (DEPLOY / "Dockerfile").read_text()
    instructions = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    # Both stages on one base, python:3.X-slim by default (build-image.sh may pass a stand-in).
    bases = [line.split()[1] for line in instructions if line.startswith("FROM")]
    assert len(bases) == 2 and set(bases) == {"${PYTHON_IMAGE}"}
    assert re.fullmatch(r"python:3\.\d+-slim", _default_base())
    users = [line.split()[1] for line in instructions if line.startswith("USER")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert f"--uid {users[-1].split(':')[0]}" in text
    entrypoint = next(line for line in instructions if line.startswith("ENTRYPOINT"))
    assert yaml.safe_load(entrypoint.removeprefix("ENTRYPOINT")) == ["tini", "--", "newsbeam"]
    # The locked dependencies of the `all` extra, then newsbeam itself without dependencies.
    assert "python requirements_from_pyproject.py pyproject.toml all > requirements.txt" in text
    assert "pip install -c constraints.txt -r requirements.txt" in text
    assert "pip install --no-deps ." in text
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert "all" in pyproject["project"]["optional-dependencies"]
    # Every source folder the package is built from is copied into the image.
    folders = set(pyproject["tool"]["setuptools"]["package-dir"].values())
    copied = {line.split()[1] for line in instructions if line.startswith("COPY ")}
    assert folders <= copied


def _default_base() -> str:
    text = (DEPLOY / "Dockerfile").read_text()
    return re.search(r"^ARG PYTHON_IMAGE=(\S+)", text, re.MULTILINE).group(1)


def test_requirements_from_pyproject_match_the_installed_package():
    """The image installs exactly what `pip install "newsbeam[all]"` would (extras followed)."""
    import importlib.metadata
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "requirements_from_pyproject", DEPLOY / "requirements_from_pyproject.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    found = module.requirements(project, ["all"])
    from packaging.requirements import Requirement

    def key(requirement: str) -> tuple:
        parsed = Requirement(requirement)
        name = parsed.name.lower().replace("_", "-")
        return name, str(parsed.specifier), tuple(sorted(parsed.extras))

    metadata = [Requirement(r) for r in importlib.metadata.requires("newsbeam")]
    wanted = {
        key(
            f"{r.name}[{','.join(r.extras)}]{r.specifier}" if r.extras else f"{r.name}{r.specifier}"
        )
        for r in metadata
        if r.marker is None or any(r.marker.evaluate({"extra": e}) for e in ("all", "fast"))
    }
    assert {key(r) for r in found} == {w for w in wanted if w[0] != "newsbeam"}
    assert not any("newsbeam" in r for r in found)
    with pytest.raises(SystemExit, match="no extra 'nope'"):
        module.requirements(project, ["nope"])


def test_compose_runs_broker_database_and_job_from_the_same_image():
    compose = _compose()
    services = compose["services"]
    job = services["newsbeam"]
    assert job["image"] == IMAGE
    assert (DEPLOY / job["build"]["context"] / job["build"]["dockerfile"]).is_file()
    args = job["command"]
    assert args[0] == "stream"
    options = _stand_in_stream_parser().parse_args(args[1:])
    # The broker address is the broker's advertised in-network listener.
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert f"//{options.bootstrap_servers}" in advertised
    # The job's topics are the ones created before it starts.
    init = " ".join(services["kafka-init"]["command"])
    for topic in (options.topic, options.output_topic, options.dead_letter_topic):
        assert topic in init.split("for topic in ")[1].split(";")[0]
    # The PostgreSQL sink points at the database service, its port, user and database.
    [postgres] = [s for s in options.sink if isinstance(s, PostgresSink)]
    url = urlsplit(postgres.conninfo)
    db = services["postgres"]
    assert url.hostname == "postgres"
    assert [p.split(":")[1] for p in db["ports"]] == [str(url.port)]
    assert (url.username, url.password, url.path.lstrip("/")) == (
        db["environment"]["POSTGRES_USER"],
        db["environment"]["POSTGRES_PASSWORD"],
        db["environment"]["POSTGRES_DB"],
    )
    # File sinks write into the mounted volume; the healthcheck reads the job's health file.
    mounts = [volume.split(":")[1] for volume in job["volumes"]]
    for sink in options.sink:
        if not isinstance(sink, PostgresSink):
            assert any(sink.directory.startswith(mount) for mount in mounts)
    # The healthcheck asks the job's own /healthz; the metrics port is published.
    assert options.metrics_port is not None
    assert f"127.0.0.1:{options.metrics_port}/healthz" in " ".join(job["healthcheck"]["test"])
    assert f"{options.metrics_port}:{options.metrics_port}" in job["ports"]
    assert set(job["depends_on"]) == {"kafka-init", "postgres"}
    assert "profiles" not in job  # the job runs without --profile


def test_k8s_deployment_options_probe_and_limits():
    documents = _k8s()
    deployment, config = documents["Deployment"], documents["ConfigMap"]
    container = _k8s_container()
    kustomize = documents["Kustomization"]
    assert (
        container["image"]
        == IMAGE
        == f"{kustomize['images'][0]['name']}:{kustomize['images'][0]['newTag']}"
    )
    assert container["image"] == _compose()["services"]["newsbeam"]["image"]
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    args = _k8s_args(EXAMPLE_SECRET_SINK)
    assert args[0] == "stream"
    options = _stand_in_stream_parser().parse_args(args[1:])
    # Every ConfigMap entry is used, and the options come from it.
    used = set(re.findall(r"\$\((\w+)\)", " ".join(container["args"])))
    assert set(config["data"]) <= used
    assert options.topic == config["data"]["TOPIC"]
    assert {s.kind for s in options.sink} == {"postgresql", "parquet"}
    # Probes: HTTP on the port the job serves its metrics on.
    [port] = container["ports"]
    assert port["name"] == "metrics" and port["containerPort"] == options.metrics_port
    paths = {"startupProbe": "/readyz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    for probe, path in paths.items():
        assert container[probe]["httpGet"] == {"path": path, "port": "metrics"}, probe
    # Prometheus pod discovery annotations point at the same port and path.
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(options.metrics_port)
    assert annotations["prometheus.io/path"] == "/metrics"
    resources = container["resources"]
    assert set(resources["limits"]) == set(resources["requests"]) == {"cpu", "memory"}
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/tmp" in mounts  # read-only root filesystem: matplotlib's and Beam's temp files
    file_sink = next(s for s in options.sink if s.kind == "parquet")
    assert any(file_sink.directory.startswith(mount) for mount in mounts)


def test_the_health_probe_command_works(tmp_path):
    from newsbeam.pipelines.health import HealthFile, main

    path = tmp_path / "healthy"
    assert main([str(path), "--max-age", "60"]) == 1  # never touched
    clock = iter([0.0, 5.0, 20.0])
    health = HealthFile(str(path), interval_s=10, clock=lambda: next(clock))
    assert health.beat() is True
    assert health.beat() is False  # 5 s later: within the interval
    assert health.beat() is True
    assert main([str(path), "--max-age", "60"]) == 0
    import os

    os.utime(path, (0, 0))  # last touched in 1970
    assert main([str(path), "--max-age", "60"]) == 1


def test_heartbeat_transform_passes_elements_and_touches_the_file(tmp_path):
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from newsbeam.pipelines.heartbeat import Heartbeat

    path = tmp_path / "health" / "healthy"
    with TestPipeline() as p:
        out = p | beam.Create([1, 2, 3]) | Heartbeat(str(path))
        assert_that(out, equal_to([1, 2, 3]))
    assert path.is_file()


@pytest.mark.parametrize("where", ["compose", "k8s"])
def test_deploy_commands_parse_with_the_real_cli(where):
    parser = _real_parser_with("stream")
    if parser is None:
        pytest.skip("newsbeam.cli has no `stream` command on this branch yet")
    args = (
        _compose()["services"]["newsbeam"]["command"]
        if where == "compose"
        else _k8s_args(EXAMPLE_SECRET_SINK)
    )
    try:
        parser.parse_args(args)
    except SystemExit:
        pytest.fail(f"`newsbeam {shlex.join(args)}` is refused by the CLI")


def test_worker_image_is_beams_sdk_image_for_the_same_python():
    text = (DEPLOY / "worker.Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", text, re.MULTILINE).group(1)
    python = re.fullmatch(r"python:(\d+\.\d+)-slim", _default_base()).group(1)
    assert base == f"apache/beam_python{python}_sdk:${{BEAM_VERSION}}"
    default = re.search(r"^ARG BEAM_VERSION=(\S+)", text, re.MULTILINE).group(1)
    assert re.fullmatch(r"2\.\d+\.\d+", default)
    assert '"/src[all]"' in text


# -- Kafka over SASL_SSL: settings file, Secrets mounted where it points ---------------

KAFKA_PROPERTIES = DEPLOY / "k8s" / "kafka-client.properties"


def _settings_with_mounts(options_file: str, mounts: dict[str, str], tmp_path):
    """Load the job's Kafka settings as the container would see them: every path under
    a mount point is read from a stand-in file (a fake Secret) instead."""
    from newsbeam.transforms.io.kafka.client_settings import load_settings

    text = KAFKA_PROPERTIES.read_text()
    secrets = {}
    for mount, what in mounts.items():
        stand_in = tmp_path / what
        stand_in.mkdir(parents=True, exist_ok=True)
        text = text.replace(mount, str(stand_in))
        secrets[mount] = stand_in
    for name, value in (("username", "svc-user"), ("password", "svc-pw"), ("ca.crt", "PEM")):
        for stand_in in secrets.values():
            (stand_in / name).write_text(value)
    local = tmp_path / "client.properties"
    local.write_text(text)
    assert options_file.endswith("client.properties")
    return load_settings(str(local))


def test_kafka_client_properties_are_sasl_ssl_with_secrets_from_files():
    text = KAFKA_PROPERTIES.read_text()
    assert "security.protocol=SASL_SSL" in text
    # The credentials are references, never values; the CA is a file path.
    assert re.search(r"^sasl\.password=\$\{FILE:/[^}]+\}$", text, re.M)
    assert re.search(r"^sasl\.username=\$\{FILE:/[^}]+\}$", text, re.M)
    assert re.search(r"^ssl\.ca\.location=/\S+$", text, re.M)


def test_k8s_mounts_kafka_settings_credentials_and_ca_from_secrets(tmp_path):
    container = _k8s_container()
    pod = _k8s()["Deployment"]["spec"]["template"]["spec"]
    kustomize = _k8s()["Kustomization"]
    args = _k8s_args(EXAMPLE_SECRET_SINK)
    parser = _real_parser_with("stream")
    options = parser.parse_args(args)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    # The settings file comes from the ConfigMap kustomize generates from the file.
    config_dir, config_name = options.kafka_config.rsplit("/", 1)
    [generator] = kustomize["configMapGenerator"]
    assert f"{config_name}=kafka-client.properties" in generator["files"]
    assert mounts[config_dir]["configMap"]["name"] == generator["name"]
    # Every ${FILE:...} and the CA lie in Secret volumes, with the keys they name.
    text = KAFKA_PROPERTIES.read_text()
    paths = re.findall(r"\$\{FILE:(/[^}]+)\}", text) + re.findall(
        r"^ssl\.ca\.location=(\S+)$", text, re.M
    )
    secret_mounts = {}
    for path in paths:
        directory, name = path.rsplit("/", 1)
        volume = mounts[directory]
        assert "secret" in volume, f"{path} is not from a Secret"
        assert name in {item["path"] for item in volume["secret"]["items"]}
        secret_mounts[directory] = volume["secret"]["secretName"]
    settings = _settings_with_mounts(
        options.kafka_config, {d: d.strip("/").replace("/", "_") for d in secret_mounts}, tmp_path
    )
    consumer = settings.for_client("consumer")
    assert consumer["security_protocol"] == "SASL_SSL"
    assert (consumer["sasl_plain_username"], consumer["sasl_plain_password"]) == (
        "svc-user",
        "svc-pw",
    )
    assert consumer["ssl_cafile"].endswith("ca.crt")
    # The bootstrap address is a TLS listener, not the plaintext 9092.
    assert not options.bootstrap_servers.endswith(":9092")


def test_compose_sasl_ssl_job_gets_settings_and_secrets_as_files(tmp_path, monkeypatch):
    compose = yaml.safe_load((DEPLOY / "docker-compose.sasl-ssl.yml").read_text())
    job = compose["services"]["newsbeam"]
    assert job["image"] == IMAGE
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker.example.net:9093")
    args = [
        re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: "broker.example.net:9093", a)
        for a in job["command"]
    ]
    options = _real_parser_with("stream").parse_args(args)
    [config] = job["configs"]
    assert config["target"] == options.kafka_config
    source = compose["configs"][config["source"]]["file"]
    assert (DEPLOY / source).resolve() == KAFKA_PROPERTIES.resolve()
    targets = {s["target"]: s["source"] for s in job["secrets"]}
    text = KAFKA_PROPERTIES.read_text()
    for path in re.findall(r"\$\{FILE:(/[^}]+)\}", text) + re.findall(
        r"^ssl\.ca\.location=(\S+)$", text, re.M
    ):
        assert path in targets, f"{path} is not a Compose secret"
        assert compose["secrets"][targets[path]]["file"].startswith("./secrets/")
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert "deploy/secrets" in ignored  # never copied into an image


def test_compose_monitoring_profile_scrapes_the_job_and_provisions_grafana():
    compose = _compose()
    services = compose["services"]
    job_options = _stand_in_stream_parser().parse_args(services["newsbeam"]["command"][1:])
    prometheus, grafana = services["prometheus"], services["grafana"]
    assert prometheus["profiles"] == grafana["profiles"] == ["monitoring"]
    # Prometheus' config is the file in deploy/, and it scrapes the job's metrics port.
    config_mount = next(v for v in prometheus["volumes"] if v.endswith(":ro"))
    source, target, _ = config_mount.split(":")
    assert f"--config.file={target}" in prometheus["command"]
    config = yaml.safe_load((DEPLOY / source).read_text())
    [scrape] = config["scrape_configs"]
    assert scrape["metrics_path"] == "/metrics"
    assert scrape["static_configs"][0]["targets"] == [f"newsbeam:{job_options.metrics_port}"]
    # Grafana: provisioning and dashboards mounted where the provider file says.
    mounts = dict(v.split(":")[:2] for v in grafana["volumes"] if v.startswith("./"))
    provisioning = DEPLOY / next(s for s, t in mounts.items() if t == "/etc/grafana/provisioning")
    [source_def] = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    assert source_def["type"] == "prometheus"
    container_port = prometheus["ports"][0].split(":")[1]
    assert source_def["url"] == f"http://prometheus:{container_port}"
    [provider] = yaml.safe_load((provisioning / "dashboards" / "newsbeam.yml").read_text())[
        "providers"
    ]
    dashboards = DEPLOY / next(s for s, t in mounts.items() if t == provider["options"]["path"])
    assert (dashboards / "newsbeam.json").is_file()
    for name in ("prometheus-data", "grafana-data"):
        assert name in compose["volumes"]


def _exposed_metric_names() -> set[str]:
    """Every sample name the job's /metrics can show, from a StreamMetrics fed one
    bundle that touches every metric."""
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from newsbeam.pipelines.stream_metrics import BundleMetrics, StreamMetrics

    metrics = StreamMetrics()
    metrics.observe(
        BundleMetrics(
            counters={
                ("newsbeam.read", "messages"): 1,
                ("newsbeam.read", "dead_letter.x"): 1,
                ("newsbeam.language", "en"): 1,
                ("newsbeam.latency", "le_0.1"): 1,
            },
            distributions={
                ("newsbeam.latency", "end_to_end_ms"): (1, 100, 100, 100),
                ("newsbeam.read", "commit_ms"): (1, 5, 5, 5),
            },
            gauges={
                ("newsbeam.read", "lag.0"): (1.0, 0),
                ("newsbeam.dedup", "window_articles"): (1.0, 1),
            },
        ),
        seconds=0.1,
    )
    text = generate_latest(metrics.registry).decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def test_grafana_dashboard_queries_metrics_the_job_exposes():
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "newsbeam.json").read_text())
    exposed = _exposed_metric_names()
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) >= 8
    queried = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["datasource"], *(t["datasource"] for t in panel["targets"]):
            assert target["type"] == "prometheus"
            assert target["uid"].strip("${}") in variables
        for target in panel["targets"]:
            expr = target["expr"]
            assert expr.count("(") == expr.count(")"), expr
            names = set(re.findall(r"\bnewsbeam_\w+", expr))
            assert names, expr
            queried |= names
    assert queried <= exposed, sorted(queried - exposed)
    # Every family the job exposes has a panel.
    families = {
        "newsbeam_stage_in_total",
        "newsbeam_stage_out_total",
        "newsbeam_dead_letters_total",
        "newsbeam_kafka_consumer_lag",
        "newsbeam_end_to_end_latency_seconds_bucket",
        "newsbeam_dedup_window_articles",
        "newsbeam_bundle_duration_seconds_bucket",
        "newsbeam_offset_commit_duration_seconds_sum",
    }
    assert families <= queried
