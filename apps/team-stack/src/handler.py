"""Stores each SQS message body in the table under its message id (boto3 is in the runtime)."""
import os

import boto3

TABLE = boto3.resource("dynamodb", region_name=os.environ["REGION"]).Table(os.environ["TABLE_NAME"])


def handler(event, _context):
    for record in event["Records"]:
        TABLE.put_item(Item={"id": record["messageId"], "body": record["body"]})
    return {"stored": len(event["Records"])}
