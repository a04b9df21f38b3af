"""Asserts, through the AWS APIs of the emulator, that the bootstrap's state storage is whole
(`intact`: after the refused destroy from the default settings, every protection is still there
and the state objects are kept) or that the teardown removed it (`gone`).

usage: state_storage.py intact|gone ENDPOINT STATE_BUCKET LOCK_TABLE KEY_ARN
"""

import sys

import boto3
import botocore.exceptions
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

MODE, ENDPOINT, BUCKET, TABLE, KEY = sys.argv[1:6]
failures = []


def client(service):
    return boto3.client(
        service, endpoint_url=ENDPOINT, region_name="us-east-1", verify=False,
        aws_access_key_id="test", aws_secret_access_key="test",
    )


def expect(condition, message):
    print(("  ok    " if condition else "  FAIL  ") + message)
    if not condition:
        failures.append(message)


def call(fn, **kwargs):
    try:
        return fn(**kwargs)
    except botocore.exceptions.ClientError:
        return None


s3, ddb, kms, iam = (client(s) for s in ["s3", "dynamodb", "kms", "iam"])
buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
key_state = kms.describe_key(KeyId=KEY)["KeyMetadata"]["KeyState"]
roles = [r["RoleName"] for r in iam.list_roles()["Roles"] if "-github-" in r["RoleName"]]

if MODE == "intact":
    expect(BUCKET in buckets, "the state bucket exists")
    versions = call(s3.list_object_versions, Bucket=BUCKET) or {}
    objects = [v["Key"] for v in versions.get("Versions", [])]
    expect(any(k.endswith("terraform.tfstate") for k in objects),
           f"the state objects are kept ({len(objects)} versions)")
    expect((call(s3.get_bucket_versioning, Bucket=BUCKET) or {}).get("Status") == "Enabled", "versioning is on")
    sse = call(s3.get_bucket_encryption, Bucket=BUCKET) or {}
    rules = sse.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    expect(any(r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms" for r in rules), "SSE-KMS is on")
    pab = (call(s3.get_public_access_block, Bucket=BUCKET) or {}).get("PublicAccessBlockConfiguration", {})
    expect(len(pab) == 4 and all(pab.values()), "all public access is blocked")
    policy = (call(s3.get_bucket_policy, Bucket=BUCKET) or {}).get("Policy", "")
    expect("aws:SecureTransport" in policy, "the TLS-only bucket policy is in place")
    expect(call(ddb.describe_table, TableName=TABLE) is not None, "the lock table exists")
    expect(key_state == "Enabled", f"the state key is enabled ({key_state})")
    expect(len(roles) == 3, f"the GitHub roles exist ({roles})")
else:
    expect(BUCKET not in buckets, "the state bucket is gone, with its state versions")
    expect(call(ddb.describe_table, TableName=TABLE) is None, "the lock table is gone")
    expect(key_state == "PendingDeletion", f"the state key is scheduled for deletion ({key_state})")
    expect(not roles, f"no GitHub role is left ({roles})")

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
