"""A template's dependency graph as CloudFormation builds it, and a simulated stack create.

CloudFormation orders a create by the edges it reads from the template: ``Ref``,
``Fn::GetAtt``, ``${X}`` / ``${X.Attr}`` inside ``Fn::Sub``, and ``DependsOn``. Pseudo
parameters (``AWS::Region``…) and parameters are not resources, so they add no edge; a dynamic
reference (``{{resolve:secretsmanager:…}}``) is a plain string to the graph, but a ``Ref``
joined into one is an ordinary edge. Nothing else orders resources: two resources without a
path between them are created in parallel and may finish in either order.
"""

from __future__ import annotations

import json
import re
import subprocess

from cfn import ROOT, Template

_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")  # ${X} or ${X.Attr}; ${!X} is a literal


def referenced(value, resources: dict, local: frozenset = frozenset()) -> set[str]:
    """Logical IDs of resources that `value` refers to (`local`: Fn::Sub's own variables)."""
    if isinstance(value, list):
        return set().union(*(referenced(v, resources, local) for v in value))
    if not isinstance(value, dict):
        return set()
    if len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            return {arg} if arg in resources else set()
        if fn == "Fn::GetAtt":
            name = arg[0] if isinstance(arg, list) else arg.split(".", 1)[0]
            return {name} if name in resources else set()
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            names = {m.group(1).split(".", 1)[0] for m in _SUB_VAR.finditer(text)}
            own = {n for n in names if n in resources and n not in variables}
            return own | referenced(list(variables.values()), resources)
    return set().union(*(referenced(v, resources) for v in value.values()))


def dependencies(resources: dict) -> dict[str, set[str]]:
    """Each resource's direct dependencies: references in its properties, plus DependsOn."""
    deps = {}
    for name, r in resources.items():
        depends_on = r.get("DependsOn", [])
        depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
        deps[name] = referenced(r.get("Properties", {}), resources) | set(depends_on)
    return deps


def closure(deps: dict[str, set[str]], start: str) -> set[str]:
    """Everything `start` waits for, directly or not."""
    seen, todo = set(), list(deps[start])
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(deps[n])
    return seen


def simulate_create(deps: dict[str, set[str]], duration) -> dict[str, tuple[float, float]]:
    """(start, complete) of every resource in a create: a resource starts the moment its last
    dependency completes and takes `duration(name)` seconds. A cycle is an error, as in
    CloudFormation."""
    times: dict[str, tuple[float, float]] = {}
    visiting: set[str] = set()

    def complete(n: str) -> float:
        if n not in times:
            if n in visiting:
                raise ValueError(f"circular dependency through {n}")
            visiting.add(n)
            start = max((complete(d) for d in deps[n]), default=0.0)
            times[n] = (start, start + duration(n))
            visiting.discard(n)
        return times[n][1]

    for n in deps:
        complete(n)
    return times


def committed_template(commit: str, env: str) -> dict:
    """`cfn-out/dify-<env>.template.json` as of `commit` (e.g. a known-broken main)."""
    text = subprocess.run(
        ["git", "show", f"{commit}:cfn-out/dify-{env}.template.json"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(text)


def template_at(commit: str, env: str, tmp_path) -> Template:
    """A `cfn.Template` over the committed template of `commit`."""
    path = tmp_path / f"dify-{env}-{commit}.template.json"
    path.write_text(json.dumps(committed_template(commit, env)))
    return Template(str(path))
