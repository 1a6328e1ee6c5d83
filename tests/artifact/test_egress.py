"""Where each task may connect to, read from the synthesized template.

* Every security group declares its egress: without a ``SecurityGroupEgress`` property
  CloudFormation adds allow-all, and standalone egress rules do not remove it.
* In production the sandbox, which runs code users write, has no internet egress: only the
  SSRF proxy (3128) and what Fargate needs to start it (HTTPS to the VPC's interface endpoints,
  and to S3 through the gateway endpoint's prefix list). Dify's compose keeps the sandbox on an
  internal-only network for the same reason.
* The load balancer admits the VPC's NAT gateways, so Dify calling its own public URL from
  inside the VPC (HTTP nodes, plugins, webhooks to its own endpoints) is not refused by the
  office allowlist (aws-samples/dify-self-hosted-on-aws#41).

Each check also runs on the template of 1c5ded9 (before these fixes) and must fail there.
"""

from __future__ import annotations

import pytest

from cfn import Template
from graph import template_at

BROKEN_MAIN = "1c5ded9"
ENVS = ["dev", "stg", "prd"]


def group_of(resources: dict, value) -> str | None:
    """The logical ID of the security group a `GroupId` / `SourceSecurityGroupId` names."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    return None


def service_group(resources: dict, family_suffix: str) -> str:
    """The security group of the ECS service whose task family ends with `family_suffix`."""
    for r in resources.values():
        if r["Type"] != "AWS::ECS::Service":
            continue
        td = resources[r["Properties"]["TaskDefinition"]["Ref"]]
        if td["Properties"]["Family"].endswith(f"-{family_suffix}"):
            groups = r["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
            return group_of(resources, groups[0])
    raise LookupError(family_suffix)


def implicit_egress(resources: dict) -> list[str]:
    return [
        k
        for k, r in resources.items()
        if r["Type"] == "AWS::EC2::SecurityGroup" and not r["Properties"].get("SecurityGroupEgress")
    ]


def sandbox_egress(resources: dict) -> list[str]:
    """Every way out of the sandbox's group, described; problems are anything but the proxy,
    the endpoints and S3."""
    sandbox = service_group(resources, "sandbox")
    proxy = service_group(resources, "ssrf-proxy")
    problems = implicit_egress({sandbox: resources[sandbox]})
    for k, r in resources.items():
        p = r["Properties"]
        if r["Type"] != "AWS::EC2::SecurityGroupEgress" or group_of(resources, p["GroupId"]) != sandbox:
            continue
        port = (p.get("FromPort"), p.get("ToPort"))
        to_proxy = group_of(resources, p.get("DestinationSecurityGroupId")) == proxy
        if to_proxy and port == (3128, 3128):
            continue
        if port == (443, 443) and (
            "DestinationPrefixListId" in p
            or (isinstance(p.get("DestinationSecurityGroupId"), str))
        ):
            continue  # S3's prefix list, or the VPC's interface endpoints (an existing group)
        problems.append(f"{k}: {p.get('CidrIp') or p.get('DestinationSecurityGroupId')} {port}")
    return problems


def nat_admission_problems(resources: dict, nat_ips: list[str]) -> list[str]:
    lb = next(r for r in resources.values() if r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer")
    group = group_of(resources, lb["Properties"]["SecurityGroups"][0])
    rules = resources[group]["Properties"].get("SecurityGroupIngress", [])
    admitted = {(r.get("CidrIp"), r.get("FromPort")) for r in rules}
    return [f"{ip}/32 on 443" for ip in nat_ips if (f"{ip}/32", 443) not in admitted]


PRD_NAT_IPS = ["198.51.100.61", "198.51.100.62", "198.51.100.63"]  # prd.toml


@pytest.mark.parametrize("env", ENVS)
def test_every_security_group_declares_its_egress(env):
    assert implicit_egress(Template(env).resources) == []


def test_the_production_sandbox_reaches_only_the_proxy_and_what_fargate_needs():
    resources = Template("prd").resources
    assert sandbox_egress(resources) == []
    # The endpoints' group admits the sandbox, or the rules above lead nowhere.
    sandbox = service_group(resources, "sandbox")
    admits = [
        r for r in resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress"
        and isinstance(r["Properties"]["GroupId"], str)
        and group_of(resources, r["Properties"].get("SourceSecurityGroupId")) == sandbox
    ]
    assert len(admits) == 1 and admits[0]["Properties"]["FromPort"] == 443


def test_the_load_balancer_admits_the_vpcs_own_nat_gateways():
    assert nat_admission_problems(Template("prd").resources, PRD_NAT_IPS) == []


def test_the_checks_fail_on_the_template_before_the_fix(tmp_path):
    old = template_at(BROKEN_MAIN, "prd", tmp_path).resources
    assert len(implicit_egress(old)) == 8  # the migration's and the seven services' groups
    assert sandbox_egress(old), "the old sandbox kept allow-all egress"
    assert nat_admission_problems(old, PRD_NAT_IPS) == [f"{ip}/32 on 443" for ip in PRD_NAT_IPS]


def test_the_waf_rate_limit_does_not_throttle_dify_calling_itself():
    """Every call Dify makes to its own public URL arrives from the NAT addresses: the per-IP
    rate limit must not count them (the managed rules still do)."""
    t = Template("prd")
    (_, acl), = t.of_type("AWS::WAFv2::WebACL").items()
    rate = next(r for r in acl["Properties"]["Rules"] if "RateBasedStatement" in r["Statement"])
    ref = rate["Statement"]["RateBasedStatement"]["ScopeDownStatement"]["NotStatement"]["Statement"]
    ip_set = t.resources[ref["IPSetReferenceStatement"]["Arn"]["Fn::GetAtt"][0]]["Properties"]
    assert sorted(ip_set["Addresses"]) == sorted(f"{ip}/32" for ip in PRD_NAT_IPS)
