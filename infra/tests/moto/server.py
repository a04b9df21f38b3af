"""moto server for the Terraform apply/destroy test (scripts/test-infra) and every test run
through scripts/with-moto, with four gaps of stock moto 5.2.5 filled in memory before its own
server starts with the given arguments:

1. Step Functions: the AWS provider calls ValidateStateMachineDefinition before creating or
   updating an aws_sfn_state_machine, and ListStateMachineVersions on read and delete; moto has
   neither, and the provider retries for many minutes. Here the definition is reported valid
   (terraform test checks it against spec/) and there are no published versions.
2. S3 bucket policies: moto ignores condition operators it does not know, so the state bucket's
   "deny unless aws:SecureTransport" statement denies every request (and a Deny whose condition
   does not hold would deny too). Here Bool conditions of bucket policies are evaluated, with
   aws:SecureTransport taken from the request's scheme (run the server with --ssl).
3. S3 versioned buckets: deleting a key that has a delete marker (what force_destroy of the state
   bucket does after the backend's lock files come and go) fails with HTTP 500, because a delete
   marker has no dispose(); the provider retries for ever. Here a delete marker disposes of nothing.
4. DynamoDB atomicity: the server handles requests on threads, and TransactWriteItems snapshots
   whole tables and restores them when a condition fails, without a lock: concurrent requests see
   each other's half-written transactions, and a failed one undoes another's committed writes
   (50 concurrent conditional creates of one item gave 16 "successes"). DynamoDB makes every
   request atomic and transactions serializable; here the item reads and writes of the DynamoDB
   backend take one lock, so each request is atomic as on DynamoDB.
"""

import contextvars
import functools
import json
import sys
import threading

from moto.core.responses import ActionResult
from moto.dynamodb.models import DynamoDBBackend
from moto.iam import access_control
from moto.s3.models import FakeBucket, FakeDeleteMarker
from moto.s3.responses import S3Response
from moto.server import main
from moto.stepfunctions.responses import StepFunctionResponse


def validate_state_machine_definition(self):
    return ActionResult({"result": "OK", "diagnostics": [], "truncated": False})


def list_state_machine_versions(self):
    return ActionResult({"stateMachineVersions": []})


StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition
StepFunctionResponse.list_state_machine_versions = list_state_machine_versions

_secure_transport = contextvars.ContextVar("secure_transport", default=False)


def _with_scheme(original):
    def handler(self, request, full_url, *args, **kwargs):
        token = _secure_transport.set(str(full_url).startswith("https://"))
        try:
            return original(self, request, full_url, *args, **kwargs)
        finally:
            _secure_transport.reset(token)

    return handler


S3Response._bucket_response = _with_scheme(S3Response._bucket_response)
S3Response._key_response = _with_scheme(S3Response._key_response)


def _holds(statement, context):
    """False when a Bool condition on a key of the context does not hold."""
    for key, expected in statement.get("Condition", {}).get("Bool", {}).items():
        if key in context:
            values = expected if isinstance(expected, list) else [expected]
            if context[key] not in [str(v).lower() for v in values]:
                return False
    return True


def get_permission(self, action, resource):
    """moto's evaluation, over the statements whose Bool conditions hold for this request
    (moto itself would treat a Deny whose condition does not hold as a Deny)."""
    if self.policy is None:
        return access_control.PermissionResult.NEUTRAL
    policy = json.loads(self.policy)
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    context = {"aws:SecureTransport": "true" if _secure_transport.get() else "false"}
    kept = []
    for statement in statements:
        if _holds(statement, context):
            statement = dict(statement)
            bool_free = {k: v for k, v in statement.get("Condition", {}).items() if k != "Bool"}
            statement.pop("Condition", None)
            if bool_free:
                statement["Condition"] = bool_free
            kept.append(statement)
    if not kept:
        return access_control.PermissionResult.NEUTRAL
    return access_control.IAMPolicy(json.dumps({**policy, "Statement": kept})).is_action_permitted(action, resource)


FakeBucket.get_permission = get_permission
FakeDeleteMarker.dispose = lambda self, garbage=False: None

_dynamodb_lock = threading.RLock()


def _atomic(original):
    @functools.wraps(original)
    def call(self, *args, **kwargs):
        with _dynamodb_lock:
            return original(self, *args, **kwargs)

    return call


for _name in ("put_item", "get_item", "query", "scan", "update_item", "delete_item", "transact_write_items"):
    setattr(DynamoDBBackend, _name, _atomic(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    main(sys.argv[1:])
