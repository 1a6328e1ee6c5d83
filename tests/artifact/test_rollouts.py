"""Rolling deploys behind the ALB drop nothing in flight, keep full capacity, and the plugin
daemon nodes can reach each other.

How a rolling deploy stops an old task behind a target group: ECS deregisters the target; the
ALB stops sending it new requests but lets the ones in flight run for the target group's
`deregistration_delay.timeout_seconds` (300 s if unset), then cuts them. Only after draining
does ECS send SIGTERM, and `stopTimeout` (SIGTERM → SIGKILL) starts then, so stopTimeout cannot
stretch the drain: the drain alone must outlast the longest request or stream a task can be
serving. Streams also sit idle between events for up to the ALB's `idle_timeout`, so for the
services that stream, the drain must outlast that too.

The longest request is read from each container's own settings in the template:

* api: the browser gives a stream up after the web container's TEXT_GENERATION_TIMEOUT_MS;
  gunicorn lets a request live GUNICORN_TIMEOUT; a tool/plugin call waits PLUGIN_DAEMON_TIMEOUT;
  a workflow run is capped by APP_MAX_EXECUTION_TIME when set. The longest of these.
* plugin daemon: a plugin invocation (streamed back to api or through /e/ endpoints) runs up to
  PLUGIN_MAX_EXECUTION_TIMEOUT.
* web: Next.js serves pages and assets, short requests; it streams nothing, because every
  streaming path (chat, completion, workflow runs under /console/api, /api, /v1; plugin
  endpoints under /e) is routed to api or the daemon, which is asserted instead of a drain bound.
"""

from __future__ import annotations

import copy
import fnmatch
import json

import pytest

from cfn import Template
from graph import referenced, template_at

ENVS = ["dev", "stg", "prd"]
BROKEN_MAIN = "1c5ded9"  # drain of 30 s, no daemon-to-daemon path
LOAD_BALANCED = ["web", "api", "plugin_daemon"]  # container names behind the ALB
DEFAULT_DRAIN = 300  # deregistration_delay.timeout_seconds when the attribute is absent

# Requests that stream, and the container that must serve them.
STREAMED = {
    "/console/api/apps/a/chat-messages": "api",
    "/console/api/apps/a/workflows/draft/run": "api",
    "/api/chat-messages": "api",
    "/v1/chat-messages": "api",
    "/v1/workflows/run": "api",
    "/e/hook/x": "plugin_daemon",
}


# --- reading the template ------------------------------------------------------------------


def attribute(attributes: list, key: str, default=None):
    return next((a["Value"] for a in attributes if a["Key"] == key), default)


def one(ids: set[str]) -> str:
    (only,) = ids
    return only


def load_balanced_services(resources: dict) -> dict[str, tuple[str, dict]]:
    """container name → (service ID, its LoadBalancers entry), for services behind the ALB."""
    out = {}
    for k, r in resources.items():
        if r["Type"] == "AWS::ECS::Service":
            for lb in r["Properties"].get("LoadBalancers", []):
                out[lb["ContainerName"]] = (k, lb)
    return out


def container_of(resources: dict, service: str, name: str) -> dict:
    task = one(referenced(resources[service]["Properties"]["TaskDefinition"], resources))
    defs = resources[task]["Properties"]["ContainerDefinitions"]
    return next(c for c in defs if c["Name"] == name)


def setting(t: Template, container: dict, name: str) -> float | None:
    """A numeric environment variable of a container, None when not set."""
    for e in container.get("Environment", []):
        if e["Name"] == name:
            return float(t.resolve(e["Value"]))
    return None


def container_port(container: dict, lb: dict) -> int:
    ports = [m["ContainerPort"] for m in container.get("PortMappings", [])]
    assert lb["ContainerPort"] in ports, (container["Name"], lb["ContainerPort"], ports)
    return lb["ContainerPort"]


def idle_timeout(resources: dict) -> float:
    (alb,) = [r for r in resources.values()
              if r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"]
    return float(attribute(alb["Properties"].get("LoadBalancerAttributes", []),
                           "idle_timeout.timeout_seconds", 60))


def drain(resources: dict, lb: dict) -> float:
    tg = resources[one(referenced(lb["TargetGroupArn"], resources))]["Properties"]
    return float(attribute(tg.get("TargetGroupAttributes", []),
                           "deregistration_delay.timeout_seconds", DEFAULT_DRAIN))


def longest_request(t: Template, name: str) -> dict[str, float]:
    """The settings bounding the longest request `name` can be serving (see module doc)."""
    services = load_balanced_services(t.resources)
    own = container_of(t.resources, services[name][0], name)
    if name == "api":
        web = container_of(t.resources, services["web"][0], "web")
        bounds = {
            "web TEXT_GENERATION_TIMEOUT_MS/1000": (setting(t, web, "TEXT_GENERATION_TIMEOUT_MS")
                                                    or 0) / 1000,
            "GUNICORN_TIMEOUT": setting(t, own, "GUNICORN_TIMEOUT"),
            "PLUGIN_DAEMON_TIMEOUT": setting(t, own, "PLUGIN_DAEMON_TIMEOUT"),
            "APP_MAX_EXECUTION_TIME": setting(t, own, "APP_MAX_EXECUTION_TIME"),
        }
    elif name == "plugin_daemon":
        bounds = {"PLUGIN_MAX_EXECUTION_TIMEOUT": setting(t, own, "PLUGIN_MAX_EXECUTION_TIMEOUT")}
    else:
        bounds = {}  # web streams nothing (asserted by routed_to)
    return {k: v for k, v in bounds.items() if v}


def routed_to(resources: dict, path: str) -> str:
    """The container the HTTPS listener forwards `path` to (rules by priority, then default)."""
    (listener,) = [k for k, r in resources.items()
                   if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener"
                   and r["Properties"]["Protocol"] == "HTTPS"]
    rules = sorted(
        (r["Properties"] for r in resources.values()
         if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
         and listener in referenced(r["Properties"]["ListenerArn"], resources)),
        key=lambda p: int(p["Priority"]),
    )
    actions = resources[listener]["Properties"]["DefaultActions"]
    for rule in rules:
        patterns = [v for c in rule["Conditions"] if c["Field"] == "path-pattern"
                    for v in c["PathPatternConfig"]["Values"]]
        if any(fnmatch.fnmatchcase(path, p) for p in patterns):
            actions = rule["Actions"]
            break
    (forward,) = [a for a in actions if a["Type"] == "forward"]
    tg = referenced(forward["TargetGroupArn"], resources)
    return next(name for name, (_, lb) in load_balanced_services(resources).items()
                if referenced(lb["TargetGroupArn"], resources) == tg)


# --- the checks (each returns what is wrong, so a known-broken template can be inspected) ---


def drain_problems(t: Template, name: str) -> list[str]:
    resources = t.resources
    _, lb = load_balanced_services(resources)[name]
    needs = longest_request(t, name)
    if name in ("api", "plugin_daemon"):
        assert needs, f"{name}: no timeout setting found to bound its requests"
        needs["ALB idle_timeout"] = idle_timeout(resources)
    seconds = drain(resources, lb)
    return [f"{name}: drain {seconds:.0f}s < {why} {need:.0f}s"
            for why, need in needs.items() if seconds < need]


def routing_problems(resources: dict) -> list[str]:
    return [f"{path} goes to {routed_to(resources, path)}, not {want}"
            for path, want in STREAMED.items() if routed_to(resources, path) != want]


def deployment_problems(resources: dict) -> list[str]:
    problems = []
    for k, r in resources.items():
        if r["Type"] != "AWS::ECS::Service":
            continue
        p = r["Properties"]
        dc = p.get("DeploymentConfiguration", {})
        low, high = dc.get("MinimumHealthyPercent"), dc.get("MaximumPercent")
        breaker = dc.get("DeploymentCircuitBreaker", {})
        if not (breaker.get("Enable") and breaker.get("Rollback")):
            problems.append(f"{k}: circuit breaker with rollback is off: {breaker}")
        if str(p.get("ServiceName", "")).endswith("-beat"):
            # Two beats schedule every periodic task twice: the old one stops first.
            if (low, high) != (0, 100):
                problems.append(f"{k}: beat must be 0/100, is {low}/{high}")
        elif int(p.get("DesiredCount", 1)) > 1 and (low != 100 or (high or 0) < 200):
            # Replace every task while all old ones still serve: full capacity throughout.
            problems.append(f"{k}: desired {p['DesiredCount']} needs 100/>=200, is {low}/{high}")
    return problems


def covers(rule: dict, port: int) -> bool:
    protocol = str(rule.get("IpProtocol"))
    return protocol == "-1" or (protocol in ("tcp", "6")
                                and rule["FromPort"] <= port <= rule["ToPort"])


def daemon_mesh_problems(resources: dict) -> list[str]:
    """In local runtime mode a daemon node forwards a plugin call to the node running that
    plugin at http://<node-ip>:<port>: the daemon's group must let itself in (and out)."""
    service, lb = load_balanced_services(resources)["plugin_daemon"]
    port = container_port(container_of(resources, service, "plugin_daemon"), lb)
    (group,) = referenced(
        resources[service]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
        ["SecurityGroups"], resources)
    problems = []
    self_in = [
        k for k, r in resources.items()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress"
        and referenced(r["Properties"]["GroupId"], resources) == {group}
        and referenced(r["Properties"].get("SourceSecurityGroupId"), resources) == {group}
        and covers(r["Properties"], port)
    ]
    if not self_in:
        problems.append(f"no ingress on {group} from itself on port {port}")
    # Egress: open unless the group lists its own egress rules (then the default allow-all is
    # gone), in which case a rule to itself must cover the port.
    inline = resources[group]["Properties"].get("SecurityGroupEgress")
    open_egress = inline is None or any(
        e.get("CidrIp") == "0.0.0.0/0" and str(e.get("IpProtocol")) == "-1" for e in inline)
    self_out = [
        k for k, r in resources.items()
        if r["Type"] == "AWS::EC2::SecurityGroupEgress"
        and referenced(r["Properties"]["GroupId"], resources) == {group}
        and referenced(r["Properties"].get("DestinationSecurityGroupId"), resources) == {group}
        and covers(r["Properties"], port)
    ]
    if not (open_egress or self_out):
        problems.append(f"{group} has closed egress and no egress to itself on port {port}")
    return problems


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_every_load_balanced_service_is_checked(env):
    assert sorted(load_balanced_services(Template(env).resources)) == sorted(LOAD_BALANCED)


@pytest.mark.parametrize("name", LOAD_BALANCED)
@pytest.mark.parametrize("env", ENVS)
def test_drain_outlasts_the_longest_request(env, name):
    problems = drain_problems(Template(env), name)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("env", ENVS)
def test_streams_are_routed_away_from_web(env):
    problems = routing_problems(Template(env).resources)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("env", ENVS)
def test_rolling_deploys_keep_full_capacity(env):
    problems = deployment_problems(Template(env).resources)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("env", ENVS)
def test_plugin_daemon_nodes_reach_each_other(env):
    problems = daemon_mesh_problems(Template(env).resources)
    assert not problems, "\n".join(problems)


# --- teeth: the same checks on the known-broken main ---------------------------------------


@pytest.fixture
def broken(tmp_path) -> Template:
    return template_at(BROKEN_MAIN, "prd", tmp_path)


def test_checks_catch_the_broken_drain(broken):
    assert drain_problems(broken, "web") == []
    assert drain_problems(broken, "api") == [
        "api: drain 30s < web TEXT_GENERATION_TIMEOUT_MS/1000 600s",
        "api: drain 30s < GUNICORN_TIMEOUT 360s",
        "api: drain 30s < PLUGIN_DAEMON_TIMEOUT 600s",
        "api: drain 30s < ALB idle_timeout 900s",
    ]
    assert drain_problems(broken, "plugin_daemon") == [
        "plugin_daemon: drain 30s < PLUGIN_MAX_EXECUTION_TIMEOUT 600s",
        "plugin_daemon: drain 30s < ALB idle_timeout 900s",
    ]


def test_checks_catch_the_missing_daemon_self_ingress(broken):
    # Egress was still the default allow-all there; only the ingress was missing.
    (problem,) = daemon_mesh_problems(broken.resources)
    assert problem.startswith("no ingress on AppPluginDaemonSecurityGroup") and "5002" in problem


def test_checks_catch_capacity_loss_and_a_second_beat(broken):
    # The broken main had these right: break them on a copy to show the check would notice.
    resources = copy.deepcopy(broken.resources)
    assert deployment_problems(resources) == []
    by_name = {r["Properties"]["ServiceName"]: r for r in resources.values()
               if r["Type"] == "AWS::ECS::Service"}
    deployment = {n: r["Properties"]["DeploymentConfiguration"] for n, r in by_name.items()}
    deployment["dify-prd-api"]["MinimumHealthyPercent"] = 50
    deployment["dify-prd-beat"]["MaximumPercent"] = 200
    del deployment["dify-prd-worker"]["DeploymentCircuitBreaker"]
    problems = json.dumps(deployment_problems(resources))
    assert "AppApiService" in problems and "AppBeatService" in problems
    assert "AppWorkerService" in problems
