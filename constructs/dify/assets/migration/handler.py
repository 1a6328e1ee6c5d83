import json, time, urllib.request
import boto3
ecs = boto3.client("ecs")
cfn = boto3.client("cloudformation")
def reply(event, status, reason, physical_id):
    body = json.dumps({"Status": status, "Reason": reason[:3500], "PhysicalResourceId": physical_id,
                       "StackId": event["StackId"], "RequestId": event["RequestId"],
                       "LogicalResourceId": event["LogicalResourceId"]}).encode()
    req = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                 headers={"Content-Type": ""})
    urllib.request.urlopen(req, timeout=30)
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
def handler(event, context):
    physical_id = event.get("PhysicalResourceId") or "dify-migration"
    if event["RequestType"] == "Delete":
        return reply(event, "SUCCESS", "nothing to undo", physical_id)
    p = event["ResourceProperties"]
    try:
        # A rollback brings back the previous image; its upgrade-db would run against a schema
        # that is already newer. Migrations only move forward: leave the schema as it is.
        if event["RequestType"] == "Update" and rolling_back(event):
            return reply(event, "SUCCESS", "rollback: schema kept as migrated", physical_id)
        if event["RequestType"] == "Update" and downgrade(event):
            return reply(event, "SUCCESS", "downgrade: schema kept as migrated", physical_id)
        started = ecs.run_task(cluster=p["Cluster"], taskDefinition=p["TaskDefinition"],
            launchType="FARGATE", count=1, startedBy="cloudformation",
            networkConfiguration={"awsvpcConfiguration": {"subnets": p["Subnets"],
                "securityGroups": p["SecurityGroups"], "assignPublicIp": "DISABLED"}})
        if started["failures"] or not started["tasks"]:
            raise RuntimeError("RunTask failed: %s" % started["failures"])
        arn = started["tasks"][0]["taskArn"]
        print("started", arn)
        while True:
            if context.get_remaining_time_in_millis() < 30000:
                raise RuntimeError("migration task %s still running when the handler timed out" % arn)
            time.sleep(10)
            task = ecs.describe_tasks(cluster=p["Cluster"], tasks=[arn])["tasks"][0]
            if task["lastStatus"] != "STOPPED":
                continue
            codes = {c["name"]: c.get("exitCode") for c in task["containers"]}
            bad = {n: c for n, c in codes.items() if c != 0}
            if bad:
                raise RuntimeError("migration task %s failed: exit codes %s, %s (logs: %s)" % (
                    arn, bad, task.get("stoppedReason", ""), p["LogGroup"]))
            return reply(event, "SUCCESS", "migrated with %s" % p["TaskDefinition"], physical_id)
    except Exception as e:
        print("error:", e)
        return reply(event, "FAILED", str(e), physical_id)
