"""The migration custom resource's Lambda handler, taken from the template, against a fake AWS.

The handler is the `Code.ZipFile` of the `AppMigrationHandler…` function in `cfn-out/dify-prd`,
written as `index.py` and run under Python in a subprocess (this file is its harness, see
`harness`), invocation after invocation, against a stateful fake of what it talks to:

* A clock. `time.sleep` advances it and each API call takes a little of it. Each invocation has
  the function's `Timeout` from the template: `context.get_remaining_time_in_millis()` counts
  down, and an invocation that runs out is cut off as Lambda would (no reply, no clean-up).
* ECS. A task goes PROVISIONING → PENDING (image pull) → RUNNING → STOPPING → DEPROVISIONING
  → STOPPED over the clock. The containers of the template's migration task definition start
  as their `DependsOn` allows, run as long and exit with the code a scenario gives them; the
  task stops when an essential container exits or nothing more can start. A container that
  never ran has no exit code. StopTask stops the task (running containers exit 137) with its
  reason; ListTasks filters by startedBy (only as its sole filter, as ECS wants), family and
  desired status; DescribeTasks does not find a task in the first 2 s after RunTask (the ECS
  API is eventually consistent). Tasks others started (a service's, an operator's) run
  alongside. A `migrate` that starts while another task's `migrate` runs finds
  `db_upgrade_lock` taken: it skips, exits 0, and that task's `verify` exits 1.
* Lambda. `Invoke` with `InvocationType=Event` queues the payload; the harness runs it as a
  fresh invocation (the module loaded anew, a full timeout) once the current one has returned.
  Invocations run one after another, never side by side.
* CloudFormation. Requests arrive at given times; `DescribeStacks` gives the stack status on the
  clock; each response URL is served by a local HTTP server that records every PUT (a pre-signed
  S3 URL: no content type), when on the clock it came, and fails it when a scenario says so.

In every scenario each request gets exactly one delivered answer, within the resource's
ServiceTimeout; no invocation is cut off or raises; no migration task the handler started is
left running.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import threading
import time
import traceback
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

T0 = 1_767_225_600.0  # the fake clock's start; scenario times are seconds after it
REGION, ACCOUNT = "ap-northeast-1", "123456789012"
API_LATENCY = 0.05  # fake seconds each API call takes
KILLED = 137  # exit code of a container stopped by StopTask (SIGKILL after stopTimeout)

# ==== The fake AWS and the harness: they run in the subprocess ===============================


class CutOff(BaseException):
    """Lambda ends an invocation that runs out of time; nothing in the handler sees it coming."""


class ClientError(Exception):
    """What botocore raises for an error response."""

    def __init__(self, code: str, op: str, message: str = "injected by the scenario"):
        super().__init__(f"An error occurred ({code}) when calling the {op} operation: {message}")
        self.response = {"Error": {"Code": code, "Message": message}}


class World:
    def __init__(self, spec: dict):
        self.spec = spec
        self.now = T0
        self.end: float | None = None  # when the running invocation is cut off
        self.calls: list = []  # [seconds after T0, "service.Operation", kwargs]
        self.tasks: dict[str, FakeTask] = {}
        self.queue: list = []  # [when, order, event, who invoked]
        self.replies: list = []
        self.invocations: list = []
        for i, f in enumerate(spec["ecs"].get("foreign", [])):
            self.add_task(f["family"], f.get("startedBy"),  # None: the same as the handler's
                          {"provision": 0, "pull": 0, "containers": {}},
                          [{"name": "main", "essential": True, "depends_on": []}], f"other{i}")

    # --- the clock --------------------------------------------------------------------------

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if self.end is not None and self.now + seconds >= self.end:
            self.now = self.end
            raise CutOff()
        self.now += seconds

    def call(self, op: str, kw: dict) -> dict | None:
        """Records an API call and takes its time; returns the scenario's fault for it, if any."""
        if self.end is not None and self.now >= self.end:
            raise CutOff()
        self.advance(API_LATENCY)
        n = sum(1 for c in self.calls if c[1] == op)
        self.calls.append([self.now - T0, op, kw])
        fault = self.spec.get("faults", {}).get(op)
        if fault and fault.get("from", 0) <= n < fault.get("to", 10**9):
            if "error" in fault:
                raise ClientError(fault["error"], op.split(".")[1])
            return fault
        return None

    # --- ECS tasks --------------------------------------------------------------------------

    def add_task(self, family, started_by, behaviour, containers, task_id) -> FakeTask:
        cluster = self.spec["cluster"]
        arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{cluster}/{task_id}"
        td = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:1"
        if family == self.spec["task_definition"]["family"] and started_by != "operator":
            td = self.spec["task_definition"]["arn"]
        task = FakeTask(arn, td, family, started_by, behaviour, containers, self.now,
                        list(self.tasks.values()))
        self.tasks[arn] = task
        return task

    # --- Lambda -----------------------------------------------------------------------------

    def invoke(self, event: dict, source: str, workdir: Path) -> None:
        fn = self.spec["function"]
        record = {"start": self.now - T0, "source": source, "request": event.get("RequestId")}
        print(f"--- invocation {len(self.invocations) + 1} at {self.now - T0:.1f}s by {source}",
              flush=True)
        self.end = self.now + fn["timeout"]
        try:
            # A cold start every time: nothing but the event carries over.
            spec = importlib.util.spec_from_file_location("index", workdir / "index.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            module.handler(json.loads(json.dumps(event)), Context(self, fn))
            record["outcome"] = "returned"
        except CutOff:
            record["outcome"] = "cut off at the timeout"
        except Exception:
            record["outcome"] = "raised " + traceback.format_exc()
        self.end = None
        record["end"] = self.now - T0
        self.invocations.append(record)
        sys.stdout.flush()


class FakeTask:
    def __init__(self, arn, td, family, started_by, behaviour, containers, now, others=()):
        self.arn, self.td, self.family, self.started_by = arn, td, family, started_by
        self.created = now
        self.defs = containers
        self.provisioned = now + behaviour.get("provision", 20)
        self.running = self.provisioned + behaviour.get("pull", 90)
        self.pull_error = behaviour.get("pull_error", False)
        self.requested: tuple | None = None  # (when, reason) of a StopTask
        # Each container's (start, end, exit) as ECS would schedule it: a container starts once
        # every dependency's condition holds; a SUCCESS dependency that exited non-zero never
        # holds, and the container never runs.
        self.runs: dict[str, tuple] = {}
        blocked: set[str] = set()
        skipped = False
        todo = [] if self.pull_error else list(containers)
        while todo:
            progress = False
            for c in list(todo):
                ready, ok = self.running, True
                for dep, cond in c["depends_on"]:
                    if dep in blocked:
                        ok = False
                    elif dep not in self.runs:
                        ok = None
                        break
                    else:
                        start, end, code = self.runs[dep]
                        if cond == "SUCCESS" and code != 0:
                            ok = False
                        ready = max(ready, start if cond in ("START", "HEALTHY") else end)
                if ok is None:
                    continue
                todo.remove(c)
                progress = True
                if ok:
                    b = behaviour["containers"].get(c["name"], {})
                    if c["name"] == "migrate" and any(o.migrating(ready) for o in others):
                        # `upgrade-db` finds `db_upgrade_lock` taken, prints "Database migration
                        # skipped" and exits 0; the schema stays behind, which `verify` sees.
                        b, skipped = {"run": 5, "exit": 0}, True
                    if c["name"] == "verify" and skipped:
                        b = dict(b, exit=1)
                    self.runs[c["name"]] = (ready, ready + b.get("run", 10**9), b.get("exit", 0))
                else:
                    blocked.add(c["name"])
            assert progress, "a dependency cycle in the task definition"
        essential = [self.runs[c["name"]][1] for c in containers
                     if c["essential"] and c["name"] in self.runs]
        if self.pull_error:
            self.natural = (self.running, "TaskFailedToStart", "CannotPullContainerError: "
                            "pull image manifest has been retried 5 time(s)")
        elif essential:
            self.natural = (min(essential), "EssentialContainerExited",
                            "Essential container in task exited")
        else:  # the essential container can never start: nothing is left to run
            self.natural = (max([r[1] for r in self.runs.values()] + [self.running]),
                            "TaskFailedToStart", "Task failed container dependency checks")

    def migrating(self, t: float) -> bool:
        """Whether this task's `migrate` holds `db_upgrade_lock` at `t` (as known now)."""
        run = self.runs.get("migrate")
        return bool(run) and run[0] <= t < min(run[1], self.stopping()[0] + 2)

    def stopping(self) -> tuple[float, str, str]:
        """(when, stopCode, stoppedReason) of the task's stop, requested or not."""
        if self.requested and self.requested[0] < self.natural[0]:
            return self.requested[0], "UserInitiated", self.requested[1]
        return self.natural

    def stop(self, now: float, reason: str) -> None:
        if self.requested is None and now < self.natural[0]:
            self.requested = (now, reason)

    def desired(self, now: float) -> str:
        return "STOPPED" if now >= self.stopping()[0] else "RUNNING"

    def view(self, now: float, malformed: bool = False) -> dict:
        stop_at, code, reason = self.stopping()
        if now >= stop_at:
            last = ("STOPPING" if now < stop_at + 30 else
                    "DEPROVISIONING" if now < stop_at + 60 else "STOPPED")
        else:
            last = ("PROVISIONING" if now < self.provisioned else
                    "PENDING" if now < self.running else "RUNNING")
        containers = []
        for c in self.defs:
            view = {"name": c["name"], "lastStatus": "PENDING"}
            run = self.runs.get(c["name"])
            if run and run[0] < stop_at and run[0] <= now:
                end, exit_code = (run[1], run[2]) if run[1] <= stop_at else (stop_at + 2, KILLED)
                view["lastStatus"] = "STOPPED" if now >= end else "RUNNING"
                if now >= end:
                    view["exitCode"] = exit_code
            elif now >= stop_at:
                view["lastStatus"] = "STOPPED"  # never ran: no exit code
                if self.pull_error:
                    view["reason"] = "CannotPullContainerError: pull access denied"
            containers.append(view)
        task = {"taskArn": self.arn, "taskDefinitionArn": self.td, "group": f"family:{self.family}",
                "startedBy": self.started_by, "launchType": "FARGATE", "lastStatus": last,
                "desiredStatus": self.desired(now), "containers": containers,
                "createdAt": self.created}
        if now >= stop_at:
            task.update(stopCode=code, stoppedReason=reason, stoppingAt=stop_at)
        if malformed:
            del task["lastStatus"]
        return task


class Ecs:
    def __init__(self, world: World):
        self.w = world

    def calls_of(self, op):
        return [c for c in self.w.calls if c[1] == op]

    def _cluster(self, kw, op):
        if kw.get("cluster") != self.w.spec["cluster"]:
            raise ClientError("ClusterNotFoundException", op, "Cluster not found.")

    def run_task(self, **kw):
        fault = self.w.call("ecs.RunTask", kw)
        self._cluster(kw, "RunTask")
        td = self.w.spec["task_definition"]
        net = kw.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
        if kw.get("taskDefinition") not in (td["arn"], td["family"]):
            raise ClientError("InvalidParameterException", "RunTask", "TaskDefinition not found.")
        if kw.get("launchType") != "FARGATE" or not net.get("subnets") or kw.get("count", 1) != 1:
            raise ClientError("InvalidParameterException", "RunTask", "Fargate, awsvpc, one task")
        if not re.fullmatch(r"[A-Za-z0-9_/-]{1,36}", kw.get("startedBy", "x")):
            raise ClientError("InvalidParameterException", "RunTask",
                              "startedBy: up to 36 of [A-Za-z0-9_/-]")
        if fault:
            return fault["respond"]
        ecs = self.w.spec["ecs"]
        n = len(self.calls_of("ecs.RunTask")) - 1
        own = ecs.get("per_task", {}).get(str(n), {})  # this task's containers, if not the usual
        behaviour = dict(ecs, containers={**ecs["containers"], **own})
        task = self.w.add_task(td["family"], kw.get("startedBy"), behaviour,
                               td["containers"], f"{len(self.w.tasks):032x}")
        return {"tasks": [task.view(self.w.now)], "failures": []}

    def describe_tasks(self, **kw):
        fault = self.w.call("ecs.DescribeTasks", kw)
        self._cluster(kw, "DescribeTasks")
        if not kw.get("tasks") or len(kw["tasks"]) > 100:
            raise ClientError("InvalidParameterException", "DescribeTasks", "1 to 100 tasks")
        if fault and fault.get("respond") == "missing":
            return {"tasks": [], "failures": [{"arn": a, "reason": "MISSING"} for a in kw["tasks"]]}
        # Eventually consistent: a task just started is not found for a moment.
        known = [a for a in kw["tasks"]
                 if a in self.w.tasks and self.w.now >= self.w.tasks[a].created + 2]
        malformed = bool(fault and fault.get("respond") == "malformed")
        return {"tasks": [self.w.tasks[a].view(self.w.now, malformed) for a in known],
                "failures": [{"arn": a, "reason": "MISSING"}
                             for a in kw["tasks"] if a not in known]}

    def stop_task(self, **kw):
        self.w.call("ecs.StopTask", kw)
        self._cluster(kw, "StopTask")
        task = self.w.tasks.get(kw.get("task"))
        if task is None:
            raise ClientError("InvalidParameterException", "StopTask",
                              "The referenced task was not found.")
        task.stop(self.w.now, kw.get("reason", "Task stopped by user"))
        return {"task": task.view(self.w.now)}

    def list_tasks(self, **kw):
        self.w.call("ecs.ListTasks", kw)
        self._cluster(kw, "ListTasks")
        others = {"family", "containerInstance", "serviceName", "desiredStatus", "launchType"}
        if kw.get("startedBy") and others & kw.keys():
            raise ClientError("InvalidParameterException", "ListTasks",
                              "startedBy must be the only filter that you use")
        want = kw.get("desiredStatus", "RUNNING")
        return {"taskArns": [
            t.arn for t in self.w.tasks.values()
            if t.desired(self.w.now) == want
            and kw.get("family") in (None, t.family)
            and (t.started_by is None or kw.get("startedBy") in (None, t.started_by))]}


class Lambda:
    def __init__(self, world: World):
        self.w = world

    def invoke(self, **kw):
        self.w.call("lambda.Invoke", kw)
        fn = self.w.spec["function"]
        if kw.get("FunctionName") not in (fn["name"], fn["arn"]):
            raise ClientError("AccessDeniedException", "Invoke", "may invoke only itself")
        if kw.get("InvocationType") != "Event":
            raise ClientError("InvalidParameterValueException", "Invoke",
                              "the fake runs asynchronous (Event) invocations only")
        payload = kw.get("Payload", b"{}")
        if len(payload) > 256 * 1024:
            raise ClientError("RequestEntityTooLargeException", "Invoke", "over 256 KB")
        self.w.queue.append([self.w.now + 0.5, len(self.w.queue) + 1000, json.loads(payload),
                             "Lambda (Event invoke)"])
        return {"StatusCode": 202}


class CloudFormation:
    def __init__(self, world: World):
        self.w = world

    def describe_stacks(self, **kw):
        self.w.call("cloudformation.DescribeStacks", kw)
        if kw.get("StackName") != self.w.spec["stack_id"]:
            raise ClientError("ValidationError", "DescribeStacks", "Stack does not exist")
        status = [s for at, s in self.w.spec["stack_status"] if self.w.now - T0 >= at][-1]
        return {"Stacks": [{"StackId": self.w.spec["stack_id"], "StackStatus": status}]}


class Context:
    def __init__(self, world: World, fn: dict):
        self.world = world
        self.function_name = fn["name"]
        self.invoked_function_arn = fn["arn"]
        self.memory_limit_in_mb = "256"
        self.aws_request_id = f"invocation-{len(world.invocations) + 1}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.world.end - self.world.now) * 1000))


WORLD: World | None = None


def client(name: str, **_):
    """What the fake `boto3` hands out."""
    return {"ecs": Ecs, "lambda": Lambda, "cloudformation": CloudFormation}[name](WORLD)


def serve_responses(world: World) -> ThreadingHTTPServer:
    """CloudFormation's response URLs: records each PUT, fails the first `response_errors`."""

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            ok = len(world.replies) >= world.spec.get("response_errors", 0)
            world.replies.append({"t": world.now - T0, "path": self.path.split("?")[0],
                                  "content_type": self.headers.get("Content-Type"),
                                  "delivered": ok, "body": body.decode()})
            self.send_response(200 if ok else 500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def harness(workdir: Path) -> None:
    """Runs the scenario in `workdir` and writes what happened to `result.json`."""
    global WORLD
    spec = json.loads((workdir / "scenario.json").read_text())
    WORLD = world = World(spec)
    time.time = time.monotonic = lambda: world.now
    time.sleep = world.sleep
    sys.path.insert(0, str(workdir))  # the fake boto3 (see `run`)
    server = serve_responses(world)
    for i, r in enumerate(spec["requests"]):
        r["event"]["ResponseURL"] = (f"http://127.0.0.1:{server.server_port}/"
                                     f"{r['event']['RequestId']}?X-Amz-Signature=0")
        world.queue.append([T0 + r["at"], i, r["event"], "CloudFormation"])
    while world.queue and len(world.invocations) < 40:
        world.queue.sort(key=lambda q: (q[0], q[1]))
        at, _, event, source = world.queue.pop(0)
        world.now = max(world.now, at)
        world.invoke(event, source, workdir)
    world.now += 600  # long enough for every stop to finish
    (workdir / "result.json").write_text(json.dumps({
        "replies": world.replies,
        "calls": world.calls,
        "tasks": [dict(t.view(world.now), family=t.family) for t in world.tasks.values()],
        "invocations": world.invocations,
        "unrun": len(world.queue),
    }, default=str))
    server.shutdown()


if __name__ == "__main__":
    harness(Path(sys.argv[1]))
    sys.exit(0)

# ==== The tests: they run under pytest ========================================================

import pytest  # noqa: E402

from cfn import PSEUDO, Template  # noqa: E402

LOG_GROUP = "/dify/prd/migration"
STACK_ID = PSEUDO["AWS::StackId"]
QUICK = {"bootstrap": {"run": 15}, "migrate": {"run": 120}, "verify": {"run": 20}}


@dataclass
class Setup:
    """What the template gives the handler: its code, its function, its resource's properties."""

    code: str
    function: dict
    service_timeout: int
    logical_id: str
    props: dict
    task_definition: dict


def stand_in(t: Template, logical_id: str, attribute: str | None) -> str:
    """A local value for `Ref`/`GetAtt` of a resource the migration resource names."""
    r = t.resources[logical_id]
    p = r.get("Properties", {})
    if r["Type"] == "AWS::ECS::Cluster":
        return t.resolve(p["ClusterName"]) if "ClusterName" in p else f"{logical_id}-cluster"
    if r["Type"] == "AWS::ECS::TaskDefinition":
        return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{t.resolve(p['Family'])}:7"
    if r["Type"] == "AWS::EC2::SecurityGroup" and attribute == "GroupId":
        return f"sg-{zlib.crc32(logical_id.encode()):017x}"
    if r["Type"] == "AWS::Logs::LogGroup":
        return t.resolve(p["LogGroupName"])
    if r["Type"] == "AWS::Lambda::Function" and attribute == "Arn":
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{t.resolve(p['FunctionName'])}"
    raise LookupError(f"no stand-in for {logical_id} ({r['Type']}) {attribute or ''}")


def refs(v):
    """The (logical ID, attribute) pairs a template value refers to."""
    if isinstance(v, list):
        for x in v:
            yield from refs(x)
    elif isinstance(v, dict):
        if "Ref" in v and not v["Ref"].startswith("AWS::"):
            yield v["Ref"], None
        elif "Fn::GetAtt" in v:
            yield tuple(v["Fn::GetAtt"])
        else:
            for x in v.values():
                yield from refs(x)


@pytest.fixture(scope="module")
def setup() -> Setup:
    t = Template("prd")
    functions = [(k, r["Properties"]) for k, r in t.of_type("AWS::Lambda::Function").items()
                 if k.startswith("AppMigrationHandler")]
    runs = [(k, r["Properties"]) for k, r in t.of_type("Custom::DifyMigration").items()
            if k.startswith("AppMigrationRun")]
    assert len(functions) == 1 and len(runs) == 1, (functions, runs)
    (_, fn), (run_id, run) = functions[0], runs[0]
    assert fn["Handler"] == "index.handler" and fn["Runtime"].startswith("python3"), fn
    assert isinstance(fn["Code"]["ZipFile"], str), "the handler's code is inline"
    for logical_id, attribute in refs(run):
        key = f"{logical_id}.{attribute}" if attribute else logical_id
        t.values[key] = stand_in(t, logical_id, attribute)
    # CloudFormation hands a custom resource its properties as strings.
    props = {k: [t.resolve(x) for x in v] if isinstance(v, list) else t.resolve(v)
             for k, v in run.items()}
    name = t.resolve(fn["FunctionName"])
    td = t.task_definition("migration")
    family = t.resolve(td["Family"])
    return Setup(
        code=fn["Code"]["ZipFile"],
        function={"name": name, "timeout": int(fn["Timeout"]),
                  "arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"},
        service_timeout=int(run["ServiceTimeout"]),
        logical_id=run_id,
        props=props,
        task_definition={
            "arn": props["TaskDefinition"], "family": family,
            "containers": [{"name": c["Name"], "essential": c.get("Essential", True),
                            "depends_on": [(d["ContainerName"], d["Condition"])
                                           for d in c.get("DependsOn", [])]}
                           for c in td["ContainerDefinitions"]]})


def test_the_task_definition_is_the_one_the_scenarios_assume(setup):
    """bootstrap → migrate → verify, only verify essential: a task that stops proves nothing by
    itself, so the handler must read every container's exit code."""
    assert setup.task_definition["containers"] == [
        {"name": "bootstrap", "essential": False, "depends_on": []},
        {"name": "migrate", "essential": False, "depends_on": [("bootstrap", "SUCCESS")]},
        {"name": "verify", "essential": True, "depends_on": [("migrate", "SUCCESS")]},
    ]
    assert setup.props["TaskDefinition"].split("/")[-1].startswith(setup.props["Family"] + ":")
    assert setup.service_timeout == 3600


def request(setup: Setup, kind: str, at: float = 0, old: dict | None = None, **props) -> dict:
    """A CloudFormation request arriving `at` seconds in; `props` override the template's."""
    event = {"RequestType": kind, "ServiceToken": setup.function["arn"], "StackId": STACK_ID,
             "RequestId": f"{kind.lower()}-{at:g}", "LogicalResourceId": setup.logical_id,
             "ResourceType": "Custom::DifyMigration",
             "ResourceProperties": {**setup.props, **props}}
    if kind != "Create":
        event["PhysicalResourceId"] = "dify-migration"  # what the create answered
    if kind == "Update":
        event["OldResourceProperties"] = {**setup.props, **(old or {})}
    return {"at": at, "event": event}


@dataclass
class Run:
    result: dict
    log: str
    requests: list

    def delivered(self, req: dict) -> dict:
        """The one delivered answer to `req`: when it came, and what."""
        (x,) = [r for r in self.result["replies"]
                if r["path"] == "/" + req["event"]["RequestId"] and r["delivered"]]
        return x

    def reply(self, req: dict) -> dict:
        return json.loads(self.delivered(req)["body"])

    def calls(self, op: str) -> list[tuple[float, dict]]:
        return [(t, kw) for t, o, kw in self.result["calls"] if o == op]

    def started(self) -> list[dict]:
        """The tasks the handler started, as they are at the end."""
        return [t for t in self.result["tasks"]
                if not t["taskArn"].split("/")[-1].startswith("other")]

    def foreign(self) -> list[dict]:
        return [t for t in self.result["tasks"]
                if t["taskArn"].split("/")[-1].startswith("other")]


def run(setup: Setup, tmp: Path, requests: list, *, containers: dict | None = None,
        stack_status: list | None = None, left_running: bool = False, **ecs_and_faults) -> Run:
    """Runs the handler from the template through `requests` and checks what must hold always."""
    ecs = {"provision": 20, "pull": 90, "containers": {**QUICK, **(containers or {})}}
    for k in ("provision", "pull", "pull_error", "foreign", "per_task"):
        if k in ecs_and_faults:
            ecs[k] = ecs_and_faults.pop(k)
    kind = requests[0]["event"]["RequestType"].upper()
    spec = {"function": setup.function, "cluster": setup.props["Cluster"],
            "task_definition": setup.task_definition, "stack_id": STACK_ID,
            "stack_status": stack_status or [[0, f"{kind}_IN_PROGRESS"]],
            "requests": requests, "ecs": ecs, **ecs_and_faults}
    (tmp / "index.py").write_text(setup.code)
    (tmp / "boto3").mkdir()
    (tmp / "boto3" / "__init__.py").write_text("from __main__ import client  # the harness's\n")
    (tmp / "scenario.json").write_text(json.dumps(spec))
    proc = subprocess.run([sys.executable, "-u", __file__, str(tmp)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    log = proc.stdout
    assert proc.returncode == 0, log
    r = Run(json.loads((tmp / "result.json").read_text()), log, requests)
    why = f"\n--- handler log ---\n{log[-6000:]}"

    for inv in r.result["invocations"]:
        assert inv["outcome"] == "returned", \
            f"invocation at {inv['start']:.0f}s: {inv['outcome']}{why}"
    assert r.result["unrun"] == 0, f"invocations still queued after 40{why}"
    for req in requests:
        e = req["event"]
        replies = [x for x in r.result["replies"] if x["path"] == "/" + e["RequestId"]]
        delivered = [x for x in replies if x["delivered"]]
        assert len(delivered) == 1, f"{e['RequestId']}: {len(delivered)} answers {replies}{why}"
        (x,) = delivered
        assert x["content_type"] == "", "the pre-signed URL is signed without a content type"
        assert len(x["body"]) <= 4096, "CloudFormation takes at most 4096 bytes"
        assert x["t"] - req["at"] < setup.service_timeout, f"answered after ServiceTimeout{why}"
        body = json.loads(x["body"])
        assert body["Status"] in ("SUCCESS", "FAILED"), body
        assert {k: body[k] for k in ("StackId", "RequestId", "LogicalResourceId")} == {
            k: e[k] for k in ("StackId", "RequestId", "LogicalResourceId")}
        # A new physical ID in an update would make CloudFormation delete the "old" resource.
        assert body["PhysicalResourceId"] == e.get("PhysicalResourceId", "dify-migration")
    if not left_running:
        running = [t["taskArn"] for t in r.started() if t["lastStatus"] != "STOPPED"]
        assert not running, f"migration tasks left running: {running}{why}"
    assert all(t["lastStatus"] == "RUNNING" for t in r.foreign()), "stopped a task not its own"
    return r


def reason(body: dict) -> str:
    return body["Reason"]


def names_exit(text: str, container: str, code: int | None) -> bool:
    """Whether `text` gives `container`'s exit code (None: it has none), in whatever wording."""
    value = r"(none|None|null|no exit code)" if code is None else str(code)
    return re.search(rf"\b{container}\b\W{{0,4}}{value}\b", text) is not None


# --- scenarios ------------------------------------------------------------------------------


def test_a_migration_that_succeeds_answers_success_once_the_task_stopped(setup, tmp_path):
    create = request(setup, "Create")
    r = run(setup, tmp_path, [create])
    body = r.reply(create)
    assert body["Status"] == "SUCCESS", body
    assert setup.props["TaskDefinition"] in reason(body)
    ((_, kw),) = r.calls("ecs.RunTask")
    assert kw["cluster"] == setup.props["Cluster"]
    assert kw["taskDefinition"] == setup.props["TaskDefinition"]
    assert kw["networkConfiguration"] == {"awsvpcConfiguration": {
        "subnets": setup.props["Subnets"], "securityGroups": setup.props["SecurityGroups"],
        "assignPublicIp": "DISABLED"}}
    assert not r.calls("ecs.StopTask")
    (task,) = r.started()
    assert [c.get("exitCode") for c in task["containers"]] == [0, 0, 0]


def test_an_upgrade_migrates(setup, tmp_path):
    update = request(setup, "Update", DifyVersion="1.14.0", old={"DifyVersion": "1.13.3"})
    r = run(setup, tmp_path, [update])
    assert r.reply(update)["Status"] == "SUCCESS"
    assert r.calls("cloudformation.DescribeStacks") and len(r.calls("ecs.RunTask")) == 1


@pytest.mark.parametrize("containers, exits", [
    ({"migrate": {"run": 60, "exit": 1}}, {"migrate": 1, "verify": None}),
    # fails after 25 minutes: past one invocation, still reported as the failure it is
    ({"migrate": {"run": 1500, "exit": 1}}, {"migrate": 1, "verify": None}),
    ({"bootstrap": {"run": 300, "exit": 1}}, {"bootstrap": 1, "migrate": None, "verify": None}),
], ids=["migrate-exits-1", "migrate-exits-1-after-25-min", "bootstrap-exits-1"])
def test_a_failed_container_fails_the_resource_naming_exit_codes_and_logs(
        setup, tmp_path, containers, exits):
    create = request(setup, "Create")
    r = run(setup, tmp_path, [create], containers=containers)
    body = r.reply(create)
    assert body["Status"] == "FAILED", body
    assert LOG_GROUP in reason(body), reason(body)
    for name, code in exits.items():
        assert names_exit(reason(body), name, code), reason(body)


def test_a_schema_not_at_head_fails_even_though_upgrade_db_exited_0(setup, tmp_path):
    """The lock-skip case: `upgrade-db` lost `db_upgrade_lock`, printed "Database migration
    skipped" and exited 0; `verify` (the essential container) finds the schema behind."""
    update = request(setup, "Update")
    r = run(setup, tmp_path, [update], containers={"migrate": {"run": 5, "exit": 0},
                                                   "verify": {"run": 10, "exit": 1}})
    body = r.reply(update)
    assert body["Status"] == "FAILED", body
    assert names_exit(reason(body), "verify", 1), reason(body)


def test_a_retry_after_a_deploy_that_timed_out_migrates(setup, tmp_path):
    """The issue's story. A deploy whose migration runs too long fails and rolls back; the
    retry's `upgrade-db` must not find `db_upgrade_lock` held by the first task, still migrating
    (it would skip, exit 0, and the retry fail in `verify` — or, without it, succeed on a schema
    that is behind)."""
    first = request(setup, "Update")
    rollback = request(setup, "Update", at=3400, DifyVersion="1.13.2",
                       old={"DifyVersion": setup.props["DifyVersion"]})
    retry = request(setup, "Update", at=3600)
    r = run(setup, tmp_path, [first, rollback, retry],
            per_task={"0": {"migrate": {"run": 2 * 3600}}},
            stack_status=[[0, "UPDATE_IN_PROGRESS"], [3400, "UPDATE_ROLLBACK_IN_PROGRESS"],
                          [3500, "UPDATE_ROLLBACK_COMPLETE"], [3600, "UPDATE_IN_PROGRESS"]])
    assert r.reply(first)["Status"] == "FAILED"
    assert r.reply(rollback)["Status"] == "SUCCESS"
    body = r.reply(retry)
    assert body["Status"] == "SUCCESS", body
    first_task, retry_task = r.started()
    assert [c.get("exitCode") for c in retry_task["containers"]] == [0, 0, 0]


def test_an_image_that_does_not_pull_fails_with_the_reason(setup, tmp_path):
    create = request(setup, "Create")
    r = run(setup, tmp_path, [create], pull=300, pull_error=True)
    body = r.reply(create)
    assert body["Status"] == "FAILED"
    assert names_exit(reason(body), "verify", None), reason(body)
    assert "CannotPullContainerError" in reason(body)


def test_a_migration_still_running_at_the_deadline_is_stopped_and_fails(setup, tmp_path):
    update = request(setup, "Update")
    r = run(setup, tmp_path, [update], containers={"migrate": {"run": 2 * 3600}})
    body = r.reply(update)
    assert body["Status"] == "FAILED", body
    assert "still RUNNING" in reason(body) and LOG_GROUP in reason(body), reason(body)
    (task,) = r.started()
    ((t, kw),) = r.calls("ecs.StopTask")
    assert kw["task"] == task["taskArn"]
    # It waited as long as it could, and answered before CloudFormation gave up.
    assert 50 * 60 < t < setup.service_timeout - 60
    assert len(r.result["invocations"]) >= 4
    assert [c.get("exitCode") for c in task["containers"]] == [0, KILLED, None]


def test_a_40_minute_migration_spans_invocations_and_succeeds_once(setup, tmp_path):
    create = request(setup, "Create")
    r = run(setup, tmp_path, [create], pull=180,
            containers={"bootstrap": {"run": 60}, "migrate": {"run": 35 * 60},
                        "verify": {"run": 30}})
    assert r.reply(create)["Status"] == "SUCCESS"
    invocations = r.result["invocations"]
    assert len(invocations) >= 3 and invocations[0]["source"] == "CloudFormation"
    assert all(i["source"].startswith("Lambda") for i in invocations[1:])
    assert len(r.calls("ecs.RunTask")) == 1 and not r.calls("ecs.StopTask")


@pytest.mark.parametrize("fault, expect", [
    ({"respond": {"tasks": [], "failures": [{"arn": "x", "reason": "RESOURCE:ENI"}]}},
     "RESOURCE:ENI"),
    ({"error": "AccessDeniedException"}, "AccessDeniedException"),
], ids=["no-capacity", "access-denied"])
def test_a_task_that_cannot_start_fails_the_resource(setup, tmp_path, fault, expect):
    create = request(setup, "Create")
    r = run(setup, tmp_path, [create], faults={"ecs.RunTask": fault})
    body = r.reply(create)
    assert body["Status"] == "FAILED" and expect in reason(body), body
    assert not r.started()


def bystanders(setup: Setup) -> list[dict]:
    """Tasks the handler must leave alone: a service's, an operator's run of the migration, and
    another stack's migration under the same startedBy (a resource of the same logical ID)."""
    return [{"family": "dify-prd-api", "startedBy": "ecs-svc/1234567890123456789"},
            {"family": setup.task_definition["family"], "startedBy": "operator"},
            {"family": "dify-stg-migration"}]


def test_a_rollback_keeps_the_migrated_schema_and_runs_nothing(setup, tmp_path):
    rollback = request(setup, "Update", DifyVersion="1.13.3", old={"DifyVersion": "1.13.3"})
    r = run(setup, tmp_path, [rollback], stack_status=[[0, "UPDATE_ROLLBACK_IN_PROGRESS"]])
    body = r.reply(rollback)
    assert body["Status"] == "SUCCESS" and reason(body).startswith("rollback"), body
    assert not r.calls("ecs.RunTask")


def test_a_rollback_stops_the_forward_migration_still_running(setup, tmp_path):
    """Another resource failed while the migration ran; CloudFormation stops waiting for it and
    rolls back, sending the previous properties: the forward task must not keep migrating."""
    new = {"TaskDefinition": setup.props["TaskDefinition"], "DifyVersion": "1.13.3"}
    old = {"TaskDefinition": setup.props["TaskDefinition"].rsplit(":", 1)[0] + ":6",
           "DifyVersion": "1.13.2"}
    forward = request(setup, "Update", old=old, **new)
    rollback = request(setup, "Update", at=600, old=new, **old)
    r = run(setup, tmp_path, [forward, rollback], containers={"migrate": {"run": 30 * 60}},
            stack_status=[[0, "UPDATE_IN_PROGRESS"], [600, "UPDATE_ROLLBACK_IN_PROGRESS"]],
            foreign=bystanders(setup))
    assert r.reply(rollback)["Status"] == "SUCCESS"
    assert r.reply(forward)["Status"] == "FAILED"  # CloudFormation no longer listens; harmless
    assert len(r.calls("ecs.RunTask")) == 1
    (task,) = r.started()
    assert any(kw["task"] == task["taskArn"] for _, kw in r.calls("ecs.StopTask"))


def test_a_downgrade_keeps_the_migrated_schema_and_runs_nothing(setup, tmp_path):
    update = request(setup, "Update", DifyVersion="1.13.2", old={"DifyVersion": "1.13.3"})
    r = run(setup, tmp_path, [update])
    body = r.reply(update)
    assert body["Status"] == "SUCCESS" and reason(body).startswith("downgrade"), body
    assert not r.calls("ecs.RunTask")


def test_delete_stops_a_migration_still_running_and_nothing_else(setup, tmp_path):
    """A create CloudFormation gave up on (another resource failed) is cleaned up with a Delete
    while its task still migrates. Tasks others started keep running."""
    create = request(setup, "Create")
    delete = request(setup, "Delete", at=600)
    r = run(setup, tmp_path, [create, delete], containers={"migrate": {"run": 30 * 60}},
            stack_status=[[0, "CREATE_IN_PROGRESS"], [600, "ROLLBACK_IN_PROGRESS"]],
            foreign=bystanders(setup))
    assert r.reply(delete)["Status"] == "SUCCESS"
    assert r.reply(create)["Status"] == "FAILED"
    (task,) = r.started()
    stops = r.calls("ecs.StopTask")
    assert stops and stops[0][1]["task"] == task["taskArn"], stops
    assert stops[0][0] <= r.delivered(delete)["t"], "stopped by the Delete, not after it"


def test_delete_with_nothing_running_succeeds(setup, tmp_path):
    delete = request(setup, "Delete")
    r = run(setup, tmp_path, [delete], foreign=bystanders(setup))
    assert r.reply(delete)["Status"] == "SUCCESS"
    assert not r.calls("ecs.StopTask") and not r.calls("ecs.RunTask")


@pytest.mark.parametrize("faults, expect", [
    # a response without lastStatus: a KeyError in the handler
    ({"ecs.DescribeTasks": {"from": 3, "respond": "malformed"}}, "KeyError"),
    ({"ecs.DescribeTasks": {"from": 3, "error": "ServerException"}}, "ServerException"),
    ({"ecs.DescribeTasks": {"from": 3, "respond": "missing"}}, "MISSING"),
    # the hand-over is denied (a missing permission): the wait cannot go on
    ({"lambda.Invoke": {"error": "AccessDeniedException"}}, "AccessDeniedException"),
], ids=["malformed-response", "describe-error", "task-missing", "hand-over-denied"])
def test_an_unexpected_error_while_waiting_stops_the_task_and_fails(
        setup, tmp_path, faults, expect):
    create = request(setup, "Create")
    r = run(setup, tmp_path, [create], faults=faults, containers={"migrate": {"run": 30 * 60}})
    body = r.reply(create)
    assert body["Status"] == "FAILED" and expect in reason(body), body
    (task,) = r.started()
    assert [kw["task"] for _, kw in r.calls("ecs.StopTask")] == [task["taskArn"]]


def test_an_error_before_the_task_started_still_answers(setup, tmp_path):
    update = request(setup, "Update")
    r = run(setup, tmp_path, [update],
            faults={"cloudformation.DescribeStacks": {"error": "AccessDenied"}})
    body = r.reply(update)
    assert body["Status"] == "FAILED" and "AccessDenied" in reason(body), body
    assert not r.calls("ecs.RunTask")


def test_a_failing_stop_task_is_logged_and_the_answer_still_goes(setup, tmp_path):
    create = request(setup, "Create")
    r = run(setup, tmp_path, [create], left_running=True,
            faults={"ecs.DescribeTasks": {"from": 2, "error": "ServerException"},
                    "ecs.StopTask": {"error": "ServerException"}},
            containers={"migrate": {"run": 30 * 60}})
    assert r.reply(create)["Status"] == "FAILED"
    (task,) = r.started()
    assert r.calls("ecs.StopTask")
    # The log names the task someone has to stop by hand.
    assert any(task["taskArn"] in line and "StopTask" in line for line in r.log.splitlines()), r.log


def test_an_answer_that_does_not_arrive_is_sent_again(setup, tmp_path):
    create = request(setup, "Create")
    r = run(setup, tmp_path, [create], response_errors=1)
    assert r.reply(create)["Status"] == "SUCCESS"
    assert [x["delivered"] for x in r.result["replies"]] == [False, True]


def test_lambda_never_retries_the_handler_itself():
    """CloudFormation and the handler's own hand-over invoke it asynchronously; Lambda would
    retry a crashed invocation twice and start a second migration beside the first."""
    t = Template("prd")
    handler_id, _ = t.only("AWS::Lambda::Function", "AppMigrationHandler")
    configs = [
        r["Properties"]
        for r in t.of_type("AWS::Lambda::EventInvokeConfig").values()
        if r["Properties"]["FunctionName"] == {"Ref": handler_id}
    ]
    assert len(configs) == 1, configs
    assert configs[0]["MaximumRetryAttempts"] == 0
    assert configs[0]["Qualifier"] == "$LATEST"
