"""Read a synthesized template and hand out what it gives AWS, resolved to local values.

The artifact tests run what the template hands to ECS and Lambda (commands, configuration,
SQL, code) under the conditions AWS gives it. This module is the one place that reads
`cfn-out/*.template.json` and turns intrinsics into the strings a container would see:

* ``Ref``/``Fn::GetAtt`` of a resource, and pseudo parameters, come from a ``values`` map the
  test fills with local stand-ins (``"CacheReplicationGroup….PrimaryEndPoint.Address"`` →
  ``"localhost"``); a missing one is an error naming it, never a silent empty string.
* Secrets Manager secrets get local values generated the way Secrets Manager would from the
  template's ``GenerateSecretString`` (length, punctuation, JSON template, key), or resolved
  from their ``SecretString``, dynamic references (``{{resolve:secretsmanager:…}}``) included.
* An ECS ``Secrets`` entry resolves like ECS does: the whole secret, or one JSON key
  (``arn:…:json-key::``).
"""

from __future__ import annotations

import json
import os
import re
import secrets as _random
import string
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "cfn-out"

PSEUDO = {
    "AWS::Region": "ap-northeast-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "dify-test",
    "AWS::StackId": "arn:aws:cloudformation:ap-northeast-1:123456789012:stack/dify-test/1",
}

MANAGED = "MasterUserSecret"

_DYNAMIC = re.compile(r"\{\{resolve:secretsmanager:([^:}]+(?::[^:}]+)*)\}\}")


class Unresolved(KeyError):
    """A value the test did not provide a local stand-in for."""


def template_path(env: str) -> Path:
    """`cfn-out/dify-<env>.template.json`, or a path given as is."""
    p = Path(env)
    return p if p.suffix == ".json" else OUT / f"dify-{env}.template.json"


class Template:
    """One synthesized template, with local values for what only AWS would know."""

    def __init__(self, env_or_path: str, values: dict[str, str] | None = None):
        self.path = template_path(env_or_path)
        self.body = json.loads(self.path.read_text())
        self.resources: dict[str, dict] = self.body["Resources"]
        self.values = dict(PSEUDO)
        self.values.update(values or {})
        self._secrets: dict[str, str] = {}

    # --- finding things -------------------------------------------------------------------

    def of_type(self, type_: str) -> dict[str, dict]:
        """Resources of one type, by logical ID, in template order."""
        return {k: r for k, r in self.resources.items() if r["Type"] == type_}

    def only(self, type_: str, contains: str = "") -> tuple[str, dict]:
        """The one resource of `type_` whose logical ID contains `contains`."""
        found = [(k, r) for k, r in self.of_type(type_).items() if contains in k]
        if len(found) != 1:
            raise LookupError(f"{len(found)} {type_} with '{contains}' in {self.path.name}")
        return found[0]

    def task_definition(self, family_suffix: str) -> dict:
        """The task definition whose Family ends with `-<family_suffix>`."""
        for r in self.of_type("AWS::ECS::TaskDefinition").values():
            if str(r["Properties"].get("Family", "")).endswith(f"-{family_suffix}"):
                return r["Properties"]
        raise LookupError(f"no task definition of family *-{family_suffix} in {self.path.name}")

    def container(self, family_suffix: str, name: str | None = None) -> dict:
        """A container definition (the first, or the one called `name`) of a task family."""
        defs = self.task_definition(family_suffix)["ContainerDefinitions"]
        for c in defs:
            if name is None or c["Name"] == name:
                return c
        raise LookupError(f"no container {name} in *-{family_suffix}")

    # --- resolving ------------------------------------------------------------------------

    def resolve(self, v) -> str:
        """A template value as the string AWS would produce at deploy time (dynamic references
        are resolved last, on the whole string, as CloudFormation does)."""
        return _DYNAMIC.sub(lambda m: self._dynamic(m.group(1)), self._raw(v))

    def _raw(self, v) -> str:
        if isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, dict) and len(v) == 1:
            (fn, arg), = v.items()
            if fn == "Ref":
                return self._ref(arg)
            if fn == "Fn::GetAtt":
                key = f"{arg[0]}.{arg[1]}" if isinstance(arg, list) else arg
                return self._lookup(key)
            if fn == "Fn::Join":
                return self._raw(arg[0]).join(self._raw(x) for x in arg[1])
            if fn == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                return re.sub(
                    r"\$\{([^}!]+)\}",
                    lambda m: self._raw(extra[m.group(1)]) if m.group(1) in extra
                    else (self._lookup(m.group(1)) if "." in m.group(1) else self._ref(m.group(1))),
                    text,
                )
            if fn == "Fn::Select":
                return self._raw(arg[1][int(arg[0])])
        raise ValueError(f"cannot resolve {json.dumps(v)[:200]}")

    def _ref(self, name: str) -> str:
        if name in self.resources and self.resources[name]["Type"] == "AWS::SecretsManager::Secret":
            return self.secret_arn(name)
        return self._lookup(name)

    def _lookup(self, key: str) -> str:
        if key in self.values:
            return self.values[key]
        # RDS's managed master secret (ManageMasterUserPassword): a JSON credential RDS
        # creates, stood in for like a generated secret.
        if key.endswith(".MasterUserSecret.SecretArn"):
            return self.secret_arn(key.split(".")[0] + MANAGED)
        raise Unresolved(f"no local value for {key} (pass it in `values`)")

    # --- secrets --------------------------------------------------------------------------

    @staticmethod
    def secret_arn(logical_id: str) -> str:
        """The stand-in ARN of a template secret (what `Ref` gives)."""
        return f"arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:{logical_id}-AbCdEf"

    def _secret_by_arn(self, arn: str) -> str:
        m = re.fullmatch(r"arn:aws:secretsmanager:[^:]+:\d+:secret:(.+)-AbCdEf", arn)
        if m and m.group(1) in self.resources:
            return self.secret_string(m.group(1))
        if m and m.group(1).endswith(MANAGED):
            cluster = m.group(1)[: -len(MANAGED)]
            if cluster not in self._secrets:
                user = self.resources[cluster]["Properties"]["MasterUsername"]
                self._secrets[cluster] = _generate(
                    {"PasswordLength": 32, "ExcludePunctuation": True,
                     "SecretStringTemplate": json.dumps({"username": user}),
                     "GenerateStringKey": "password"})
            return self._secrets[cluster]
        if arn in self.values:
            return self.values[arn]
        raise Unresolved(f"no local value for secret {arn}")

    def secret_string(self, logical_id: str) -> str:
        """The secret's value, generated once per template as Secrets Manager would."""
        if logical_id not in self._secrets:
            props = self.resources[logical_id]["Properties"]
            if "SecretString" in props:
                self._secrets[logical_id] = self.resolve(props["SecretString"])
            else:
                self._secrets[logical_id] = _generate(props["GenerateSecretString"])
        return self._secrets[logical_id]

    def _dynamic(self, spec: str) -> str:
        # {{resolve:secretsmanager:<arn>[:SecretString[:json-key[:stage[:version]]]]}}
        parts = spec.split(":SecretString")
        value = self._secret_by_arn(parts[0])
        key = parts[1].lstrip(":").split(":")[0] if len(parts) > 1 else ""
        return json.loads(value)[key] if key else value

    def value_from(self, value_from) -> str:
        """An ECS `Secrets[].ValueFrom`: the whole secret or one JSON key of it."""
        ref = self.resolve(value_from)
        m = re.fullmatch(r"(arn:aws:secretsmanager:[^:]+:\d+:secret:[^:]+)(?::([^:]*):([^:]*):([^:]*))?", ref)
        if not m:
            raise ValueError(f"not a Secrets Manager valueFrom: {ref}")
        value = self._secret_by_arn(m.group(1))
        return json.loads(value)[m.group(2)] if m.group(2) else value

    def container_env(self, container: dict, with_secrets: bool = True) -> dict[str, str]:
        """The environment ECS gives the container: `Environment` plus resolved `Secrets`."""
        env = {e["Name"]: self.resolve(e["Value"]) for e in container.get("Environment", [])}
        if with_secrets:
            for s in container.get("Secrets", []):
                env[s["Name"]] = self.value_from(s["ValueFrom"])
        return env


def _generate(g: dict) -> str:
    """A value shaped like Secrets Manager's GenerateSecretString would make."""
    alphabet = string.ascii_letters + string.digits
    if not g.get("ExcludePunctuation"):
        alphabet += "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    for c in g.get("ExcludeCharacters", ""):
        alphabet = alphabet.replace(c, "")
    value = "".join(_random.choice(alphabet) for _ in range(int(g.get("PasswordLength", 32))))
    if "SecretStringTemplate" in g:
        doc = json.loads(g["SecretStringTemplate"])
        doc[g["GenerateStringKey"]] = value
        return json.dumps(doc)
    return value


def require(tool: str, how: str) -> str:
    """The path of a tool the test needs; a clear failure (never a skip) when it is missing."""
    from shutil import which

    path = os.environ.get(tool.upper().replace("-", "_")) or which(tool)
    for cand in (f"/usr/sbin/{tool}", f"/usr/bin/{tool}"):
        if not path and os.path.exists(cand):
            path = cand
    if not path:
        raise RuntimeError(f"{tool} is not installed: {how}")
    return path
