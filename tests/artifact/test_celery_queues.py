"""Every Celery queue Dify 1.13.3 sends tasks to has exactly one consuming service.

With `[services.worker_long]`, the long-running queues move to a worker of their own through
`CELERY_WORKER_QUEUES`, which Dify's entrypoint prefers over `CELERY_QUEUES` and its default
list (`api/docker/entrypoint.sh` at 1.13.3, quoted in docs/research-dify-api.md). A queue no
worker consumes never runs its tasks (streaming workflow runs on
`workflow_based_app_execution` would hang); a queue two services consume is just waste.
"""

from __future__ import annotations

import pytest

from cfn import Template

# The community edition's DEFAULT_QUEUES in api/docker/entrypoint.sh at 1.13.3.
DIFY_QUEUES = (
    "api_token,dataset,dataset_summary,priority_dataset,priority_pipeline,pipeline,mail,"
    "ops_trace,app_deletion,plugin,workflow_storage,conversation,workflow,schedule_poller,"
    "schedule_executor,triggered_workflow_dispatcher,trigger_refresh_executor,retention,"
    "workflow_based_app_execution"
).split(",")


def workers(t: Template) -> dict[str, dict[str, str]]:
    """The environment of every container running `MODE=worker`, by task family."""
    found = {}
    for r in t.of_type("AWS::ECS::TaskDefinition").values():
        for c in r["Properties"]["ContainerDefinitions"]:
            env = {e["Name"]: e["Value"] for e in c.get("Environment", [])}
            if env.get("MODE") == "worker":
                found[r["Properties"]["Family"]] = env
    return found


@pytest.mark.parametrize("env", ["dev", "stg", "prd"])
def test_every_queue_has_exactly_one_consumer(env):
    consumers: dict[str, list[str]] = {q: [] for q in DIFY_QUEUES}
    for family, e in workers(Template(env)).items():
        queues = e.get("CELERY_WORKER_QUEUES") or e.get("CELERY_QUEUES")
        for q in queues.split(",") if queues else DIFY_QUEUES:
            assert q in consumers, f"{family} consumes {q}, which Dify 1.13.3 never sends to"
            consumers[q].append(family)
    problems = {q: c for q, c in consumers.items() if len(c) != 1}
    assert problems == {}, problems


def test_production_runs_the_long_queues_apart():
    families = workers(Template("prd"))
    long = families["dify-prd-worker-long"]["CELERY_WORKER_QUEUES"].split(",")
    assert "workflow_based_app_execution" in long and "dataset" in long
    assert "mail" in families["dify-prd-worker"]["CELERY_WORKER_QUEUES"].split(",")
