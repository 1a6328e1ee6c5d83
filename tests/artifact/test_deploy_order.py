"""A simulated CloudFormation create proves each deploy-time consumer starts only after what it
uses at runtime is ready.

Consumers are the migration custom resource (its handler runs a task that connects to the
database and the cache right away) and the ECS services (their tasks connect as they start).
What a consumer C *uses*:

* for every DB cluster C waits for (transitively, e.g. through an endpoint in its task
  definition): an instance of that cluster — a cluster with no instance is an endpoint that
  answers nothing;
* every cache replication group C waits for;
* the security-group rules that open C's outbound paths: every ingress rule whose source is
  one of C's own groups, and every egress rule on them. Without them C's first connections time
  out even though the target is up.

The create is simulated over the template's own graph (see `graph.py`) under several duration
models. Typical AWS durations show the usual create; seeded random ones show it is not luck.
The proof is the adversary per consumer: everything C does not wait for takes a day, everything
it waits for a second. A requirement then completes before C starts exactly when it is in C's
dependency closure, so passing under it means passing under every possible timing.
"""

from __future__ import annotations

import random
import re

import pytest

from cfn import Template
from graph import closure, dependencies, referenced, simulate_create, template_at

ENVS = ["dev", "stg", "prd"]
BROKEN_MAIN = "1c5ded9"  # the migration does not wait for the writer nor for its own rules

# Typical create durations (seconds). Custom resources last as long as their handler: the
# migration runs an ECS task (image pull, alembic, plugin migrations).
TYPICAL = {
    "AWS::RDS::DBCluster": 300,
    "AWS::RDS::DBInstance": 600,
    "AWS::ElastiCache::ReplicationGroup": 720,
    "AWS::EC2::SecurityGroup": 5,
    "AWS::EC2::SecurityGroupIngress": 3,
    "AWS::EC2::SecurityGroupEgress": 3,
    "AWS::ECS::Service": 180,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": 180,
    "AWS::IAM::Role": 20,
    "AWS::Lambda::Function": 10,
    "AWS::ServiceDiscovery::PrivateDnsNamespace": 60,
    "custom": 300,
}
SLOW_WHEN_REQUIRED = {
    "AWS::RDS::DBInstance",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
}
DAY = 86_400.0


def is_custom(r: dict) -> bool:
    return r["Type"].startswith("Custom::") or r["Type"] == "AWS::CloudFormation::CustomResource"


def consumers(resources: dict) -> dict[str, dict]:
    return {k: r for k, r in resources.items() if is_custom(r) or r["Type"] == "AWS::ECS::Service"}


def own_security_groups(resources: dict, consumer: dict) -> set[str]:
    """The groups a consumer's tasks attach: the service's awsvpc groups, or the custom
    resource's SecurityGroups (which its handler passes to RunTask)."""
    props = consumer["Properties"]
    if consumer["Type"] == "AWS::ECS::Service":
        groups = props["NetworkConfiguration"]["AwsvpcConfiguration"].get("SecurityGroups", [])
    else:
        groups = props.get("SecurityGroups", [])
    return referenced(groups, resources)


def requirements(resources: dict, deps: dict, name: str) -> list[tuple[str, set[str]]]:
    """What `name` uses, as (what, any one of these resources must be complete)."""
    waits_for = closure(deps, name)
    needs = []
    for cluster in sorted(waits_for):
        if resources[cluster]["Type"] == "AWS::RDS::DBCluster":
            instances = {
                k for k, r in resources.items()
                if r["Type"] == "AWS::RDS::DBInstance"
                and cluster in referenced(r["Properties"].get("DBClusterIdentifier"), resources)
            }
            needs.append((f"an instance of {cluster}", instances))
    needs += [
        (k, {k}) for k in sorted(waits_for)
        if resources[k]["Type"] == "AWS::ElastiCache::ReplicationGroup"
    ]
    groups = own_security_groups(resources, resources[name])
    for k, r in resources.items():
        p = r.get("Properties", {})
        if (r["Type"] == "AWS::EC2::SecurityGroupIngress"
                and referenced(p.get("SourceSecurityGroupId"), resources) & groups):
            needs.append((k, {k}))
        if (r["Type"] == "AWS::EC2::SecurityGroupEgress"
                and referenced(p.get("GroupId"), resources) & groups):
            needs.append((k, {k}))
    return needs


# --- duration models ---------------------------------------------------------------------


def typical(resources: dict, _consumer: str, _deps: dict):
    def duration(n):
        r = resources[n]
        return TYPICAL["custom"] if is_custom(r) else TYPICAL.get(r["Type"], 10)
    return duration


def required_slow(seed: int):
    """Instances, caches and rules take an hour (jittered, so no ties), the rest is instant."""
    def model(resources, _consumer, _deps):
        rng = random.Random(seed)
        slow = {n: 3600 + rng.random() * 3600 for n in resources}
        return lambda n: slow[n] if resources[n]["Type"] in SLOW_WHEN_REQUIRED else 0.0
    return model


def uniform(seed: int):
    def model(resources, _consumer, _deps):
        rng = random.Random(seed)
        d = {n: rng.uniform(1, 1800) for n in resources}
        return d.__getitem__
    return model


def adversary(resources, consumer, deps):
    """Whatever `consumer` does not wait for takes a day; the rest a second."""
    waits_for = closure(deps, consumer)
    return lambda n: 1.0 if n in waits_for else DAY


MODELS = {
    "typical": typical,
    **{f"required-slow-{s}": required_slow(s) for s in (1, 2, 3)},
    **{f"uniform-{s}": uniform(s) for s in (1, 2, 3, 4, 5)},
    "adversary": adversary,
}


def violations(resources: dict) -> list[dict]:
    """Every (model, consumer, requirement) where the consumer starts first, with the times."""
    deps = dependencies(resources)
    found = []
    for consumer in consumers(resources):
        for model_name, model in MODELS.items():
            times = simulate_create(deps, model(resources, consumer, deps))
            start = times[consumer][0]
            for what, candidates in requirements(resources, deps, consumer):
                if not any(times[c][1] <= start for c in candidates):
                    found.append({
                        "model": model_name,
                        "consumer": consumer,
                        "starts": start,
                        "missing": what,
                        "completes": {c: times[c][1] for c in sorted(candidates)},
                    })
    return found


def report(found: list[dict]) -> str:
    return "\n".join(
        f"[{v['model']}] {v['consumer']} starts at {v['starts']:.0f}s before {v['missing']} "
        f"completes ({', '.join(f'{c} at {t:.0f}s' for c, t in v['completes'].items())})"
        for v in found
    )


def missing_by_consumer(found: list[dict]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for v in found:
        out.setdefault(v["consumer"], set()).add(v["missing"])
    return out


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_consumers_start_after_what_they_use(env):
    resources = Template(env).resources
    assert consumers(resources), "no consumer found: the check would pass vacuously"
    found = violations(resources)
    assert not found, f"dify-{env}: a consumer can start before what it uses\n{report(found)}"


@pytest.mark.parametrize("env", ENVS)
def test_migration_uses_the_database_the_cache_and_its_rules(env):
    # Guard against a check with nothing to check: the migration's task talks to the database
    # and the cache over its own rules, so all three kinds must be among its requirements.
    resources = Template(env).resources
    (migration,) = [k for k, r in resources.items() if is_custom(r)]
    needs = requirements(resources, dependencies(resources), migration)
    kinds = {resources[c]["Type"] for _, candidates in needs for c in candidates}
    assert {"AWS::RDS::DBInstance", "AWS::ElastiCache::ReplicationGroup",
            "AWS::EC2::SecurityGroupIngress"} <= kinds, needs


def test_check_finds_the_known_broken_migration_order(tmp_path):
    # At 1c5ded9 the migration custom resource waits for the cluster (its endpoint) but for no
    # instance, and not for the rules that let its task reach the database and the cache. The
    # adversary alone must expose exactly that, whatever else is wrong in that template.
    resources = template_at(BROKEN_MAIN, "prd", tmp_path).resources
    found = [v for v in violations(resources) if v["model"] == "adversary"]
    (migration,) = [k for k, r in resources.items() if is_custom(r)]
    assert migration.startswith("AppMigrationRun")
    missing = sorted(missing_by_consumer(found).get(migration, set()))
    assert len(missing) == 3, report(found)
    assert missing[0].startswith("AppRulesMigrationToCache"), missing
    assert missing[1].startswith("AppRulesMigrationToDatabase"), missing
    assert missing[2].startswith("an instance of DatabaseCluster"), missing
    writer = [v for v in found if v["consumer"] == migration and v["missing"] == missing[2]]
    assert any(c.startswith("DatabaseWriter") for c in writer[0]["completes"]), report(writer)
    # The services there wait for the migration but not for their own outbound rules (nor,
    # through the migration, for an instance): the check flags those and nothing else.
    for consumer, what in missing_by_consumer(found).items():
        if consumer != migration:
            component = re.fullmatch(r"App(\w+?)Service[0-9A-F]{8}", consumer).group(1)
            for w in what:
                assert w.startswith((f"AppRules{component}To", "an instance of DatabaseCluster")), (
                    consumer, w)
