"""Custom::DifyMigration: run the migration task once per rollout and wait until it stops.

CloudFormation waits up to the resource's ServiceTimeout (an hour) for the answer, but one
invocation of this function lasts at most 15 minutes: less than an image pull, the bootstrap,
`upgrade-db` and `verify` may take together. So when this invocation's time runs short it invokes
itself asynchronously with the event plus what it waits on (event[WAIT]: the task, its start)
and returns without answering; the invocation that sees the task stop, or the deadline pass,
answers.

Whatever fails once the task has started, the task is stopped before the answer: an orphan keeps
migrating while CloudFormation rolls back, and holds `db_upgrade_lock` against the next try.
"""
import json
import time
import traceback
import urllib.request

import boto3

ecs = boto3.client("ecs")
cfn = boto3.client("cloudformation")
lam = boto3.client("lambda")

WAIT = "DifyMigrationWait"  # what a hand-over adds to the event
DEADLINE = 55 * 60  # from the first invocation: 5 of ServiceTimeout's 60 min left to stop, answer
HAND_OVER = 60  # seconds left in an invocation when the wait passes to a new one
POLL = 15
UNSEEN = 60  # ECS is eventually consistent: a task just started may not be found for a while


def handler(event, context):
    wait = event.setdefault(WAIT, {})
    props = event.get("ResourceProperties", {})
    try:
        outcome = respond(event, context, wait)
    except Exception as e:  # anything at all: CloudFormation must still hear back
        traceback.print_exc()
        outcome = ("FAILED", "%s: %s" % (type(e).__name__, e))
    if outcome is None:
        return  # handed over: the new invocation answers
    status, reason = outcome
    if status == "FAILED" and wait.get("task"):
        stop(props, wait["task"], reason)  # a no-op when the task has stopped already
        reason += " (logs: %s)" % props.get("LogGroup")
    reply(event, status, reason)


def respond(event, context, wait):
    """(status, reason), or None once the wait has been handed over."""
    if event["RequestType"] == "Delete":
        # A stack delete, or the clean-up of a failed create: the schema has nothing to undo, but
        # a task CloudFormation stopped waiting for must not keep migrating.
        stop_strays(event, "stack delete")
        return "SUCCESS", "nothing to undo"
    if not wait:  # this request's first invocation
        if event["RequestType"] == "Update" and rolling_back(event):
            # A rollback brings back the previous image; its upgrade-db would run against a schema
            # that is already newer. Migrations only move forward: leave the schema as it is. The
            # forward migration may still run (CloudFormation does not wait for it when another
            # resource fails): stop it.
            stop_strays(event, "stack rollback")
            return "SUCCESS", "rollback: schema kept as migrated"
        if event["RequestType"] == "Update" and downgrade(event):
            return "SUCCESS", "downgrade: schema kept as migrated"
        wait["started"] = time.time()
        start(event, wait)
    return watch(event, context, wait)


def start(event, wait):
    p = event["ResourceProperties"]
    out = ecs.run_task(cluster=p["Cluster"], taskDefinition=p["TaskDefinition"],
                       launchType="FARGATE", count=1, startedBy=started_by(event),
                       networkConfiguration={"awsvpcConfiguration": {
                           "subnets": p["Subnets"], "securityGroups": p["SecurityGroups"],
                           "assignPublicIp": "DISABLED"}})
    for task in out.get("tasks", []):
        wait["task"] = task["taskArn"]  # before anything can fail, so the failure path stops it
    if out.get("failures") or not out.get("tasks"):
        raise RuntimeError("RunTask failed: %s" % out.get("failures"))
    print("started", wait["task"])


def watch(event, context, wait):
    p, arn = event["ResourceProperties"], wait["task"]
    while True:
        out = ecs.describe_tasks(cluster=p["Cluster"], tasks=[arn])
        if out.get("failures") or not out.get("tasks"):
            if time.time() > wait["started"] + UNSEEN:
                raise RuntimeError("DescribeTasks %s: %s" % (arn, out.get("failures")))
            task = {"lastStatus": "not found yet"}
        else:
            task = out["tasks"][0]
        if task["lastStatus"] == "STOPPED":
            return verdict(p, task)
        if time.time() >= wait["started"] + DEADLINE:
            return "FAILED", "migration task %s still %s after %d minutes" % (
                arn, task["lastStatus"], DEADLINE // 60)
        left = context.get_remaining_time_in_millis() / 1000 - HAND_OVER
        if left <= 0:
            lam.invoke(FunctionName=context.function_name, InvocationType="Event",
                       Payload=json.dumps(event))
            print("waiting on", arn, "continues in a new invocation")
            return None
        time.sleep(max(0, min(POLL, left, wait["started"] + DEADLINE - time.time())))


def verdict(p, task):
    # Every container must have exited 0, whatever the task says about itself: `bootstrap` and
    # `migrate` are not essential, so the task stops alike whether they failed or not, and a
    # container that never ran (its dependency failed, its image did not pull) has no exit code.
    containers = task.get("containers", [])
    if containers and all(c.get("exitCode") == 0 for c in containers):
        return "SUCCESS", "migrated with %s" % p["TaskDefinition"]
    exits = ", ".join("%s=%s%s" % (c["name"], c.get("exitCode", "none"),
                                   " (%s)" % c["reason"] if c.get("reason") else "")
                      for c in containers)
    return "FAILED", "migration task %s failed: exit codes %s; %s" % (
        task["taskArn"], exits or "none (no containers)", task.get("stoppedReason", ""))


def stop(p, arn, why):
    try:
        ecs.stop_task(cluster=p["Cluster"], task=arn, reason=("CloudFormation: " + why)[:255])
        print("stopped", arn)
    except Exception as e:  # the answer matters more; the log names the task to stop by hand
        print("could not stop %s: %r" % (arn, e))


def started_by(event):
    # Marks this resource's tasks so that a delete or a rollback finds one that outlived its
    # waiter. ECS allows up to 36 letters, digits, -, _ and /.
    return ("cfn-" + event["LogicalResourceId"])[:36]


def stop_strays(event, why):
    """Stops this resource's migration tasks that still run; never fails (a delete or a rollback
    that fails leaves the stack stuck)."""
    try:
        p = event["ResourceProperties"]
        family = p.get("Family") or p["TaskDefinition"].split("/")[-1].rsplit(":", 1)[0]
        # ListTasks allows startedBy only as its sole filter: the family is checked on the tasks.
        arns = ecs.list_tasks(cluster=p["Cluster"], startedBy=started_by(event))["taskArns"]
        tasks = ecs.describe_tasks(cluster=p["Cluster"], tasks=arns)["tasks"] if arns else []
        for task in tasks:
            if ":task-definition/%s:" % family in task["taskDefinitionArn"]:
                stop(p, task["taskArn"], why)
    except Exception:
        traceback.print_exc()


def version(v):
    try:
        return tuple(int(x) for x in v.split("-")[0].split("."))
    except (AttributeError, ValueError):
        return None


def downgrade(event):
    new = version(event["ResourceProperties"].get("DifyVersion"))
    old = version(event.get("OldResourceProperties", {}).get("DifyVersion"))
    return new is not None and old is not None and new < old


def rolling_back(event):
    stacks = cfn.describe_stacks(StackName=event["StackId"])["Stacks"]
    return bool(stacks) and stacks[0]["StackStatus"].endswith("ROLLBACK_IN_PROGRESS")


def reply(event, status, reason):
    body = json.dumps({"Status": status, "Reason": reason[:3000],
                       "PhysicalResourceId": event.get("PhysicalResourceId") or "dify-migration",
                       "StackId": event["StackId"], "RequestId": event["RequestId"],
                       "LogicalResourceId": event["LogicalResourceId"]}).encode()
    # The pre-signed S3 URL is signed without a content type: send none.
    req = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                 headers={"Content-Type": ""})
    print(status, reason)
    # Unanswered, CloudFormation waits out ServiceTimeout: retry a failed PUT, briefly (the
    # answer must fit in the HAND_OVER margin).
    for attempt in range(3):
        try:
            urllib.request.urlopen(req, timeout=10).close()
            return
        except Exception as e:
            print("answer not delivered (attempt %d): %r" % (attempt + 1, e))
            time.sleep(2)
