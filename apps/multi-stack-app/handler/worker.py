"""Copies each SQS message body into the bucket and records it in the table."""
import os

import boto3

S3 = boto3.client("s3")
TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, _context):
    for record in event["Records"]:
        key = f"messages/{record['messageId']}"
        S3.put_object(Bucket=os.environ["BUCKET_NAME"], Key=key, Body=record["body"].encode())
        TABLE.put_item(Item={"id": record["messageId"], "key": key})
    return {"stored": len(event["Records"])}
