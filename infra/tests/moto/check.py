"""Asserts, through the AWS APIs of the emulator, that a Terraform apply created the eventpay
deployment (`present`) or that a destroy removed it (`absent`).

usage: check.py present|absent ENDPOINT NAME_PREFIX STATE_BUCKET STATE_KEY
"""

import json
import sys

import boto3
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

MODE, ENDPOINT, PREFIX, BUCKET, STATE_KEY = sys.argv[1:6]
FUNCTIONS = [
    "quote", "create-payment", "get-payment", "list-payments", "get-ledger-account",
    "stream-forwarder", "processor", "update-status", "validate", "post-ledger",
]
RULES = {"audit", "high-value", "settlement"}
QUEUES = {"payments", "payments-dlq", "stream-failures"}

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


def names_with_prefix(names):
    return {n[len(PREFIX) + 1:] for n in names if n.startswith(PREFIX + "-")}


present = MODE == "present"
lam, ddb, sqs, events, sns, sfn, apigw, logs, kms, s3 = (client(s) for s in [
    "lambda", "dynamodb", "sqs", "events", "sns", "stepfunctions", "apigateway", "logs", "kms", "s3"])

# Functions: runtime, architecture, tracing, environment.
functions = {f["FunctionName"]: f for f in lam.list_functions()["Functions"]}
ours = names_with_prefix(functions)
if present:
    expect(ours == set(FUNCTIONS), f"the ten functions exist ({sorted(ours)})")
    quote = functions.get(f"{PREFIX}-quote", {})
    expect(quote.get("Runtime") == "provided.al2023" and quote.get("Architectures") == ["arm64"],
           "functions run provided.al2023 on arm64")
    expect(quote.get("TracingConfig", {}).get("Mode") == "Active", "functions are traced with X-Ray")
    env = lam.get_function_configuration(FunctionName=f"{PREFIX}-create-payment")["Environment"]["Variables"]
    expect(env.get("EVENTPAY_TABLE") == f"{PREFIX}-payments" and env.get("EVENTPAY_QUOTE_KEY_ID", "").startswith("arn:aws:kms:"),
           "create-payment is configured with the table and the quote key")
    for name in ["post-ledger", "get-ledger-account"]:
        env = lam.get_function_configuration(FunctionName=f"{PREFIX}-{name}")["Environment"]["Variables"]
        expect(env.get("EVENTPAY_LEDGER_TABLE") == f"{PREFIX}-ledger", f"{name} is configured with the ledger table")
    mappings = lam.list_event_source_mappings()["EventSourceMappings"]
    stream = [m for m in mappings if ":dynamodb:" in m["EventSourceArn"]]
    queue = [m for m in mappings if ":sqs:" in m["EventSourceArn"]]
    expect(len(stream) == 1 and stream[0].get("BisectBatchOnFunctionError") is True,
           "the stream mapping exists and bisects failing batches")
    expect(len(queue) == 1 and "ReportBatchItemFailures" in queue[0].get("FunctionResponseTypes", []),
           "the queue mapping reports batch item failures")
else:
    expect(not ours, f"no function is left ({sorted(ours)})")

# Tables.
tables = names_with_prefix(ddb.list_tables()["TableNames"])
if present:
    expect(tables == {"payments", "ledger"}, f"the payments and ledger tables exist ({sorted(tables)})")
    table = ddb.describe_table(TableName=f"{PREFIX}-payments")["Table"]
    expect(table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES", "the table streams new and old images")
    expect(table.get("SSEDescription", {}).get("SSEType") == "KMS", "the table is encrypted with KMS")
    expect({i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])} == {"by_created", "by_status"},
           "the table has the listing indexes")
    if "ledger" in tables:
        ledger = ddb.describe_table(TableName=f"{PREFIX}-ledger")["Table"]
        expect({(k["AttributeName"], k["KeyType"]) for k in ledger["KeySchema"]} == {("pk", "HASH"), ("sk", "RANGE")},
               "the ledger table is keyed pk, sk (crates/aws/src/ledger_items.rs)")
        expect(ledger.get("SSEDescription", {}).get("SSEType") == "KMS", "the ledger table is encrypted with KMS")
        expect(ledger.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST", "the ledger table is on-demand")
else:
    expect(not tables, f"no table is left ({sorted(tables)})")

# Queues.
urls = sqs.list_queues(QueueNamePrefix=PREFIX).get("QueueUrls", [])
queues = names_with_prefix(u.rsplit("/", 1)[1] for u in urls)
if present:
    expect(queues == QUEUES, f"the three queues exist ({sorted(queues)})")
    attrs = sqs.get_queue_attributes(QueueUrl=[u for u in urls if u.endswith(f"{PREFIX}-payments")][0],
                                     AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attrs.get("RedrivePolicy", "{}"))
    expect(redrive.get("deadLetterTargetArn", "").endswith(f"{PREFIX}-payments-dlq") and int(redrive.get("maxReceiveCount", 0)) >= 1,
           "the payments queue redrives to the DLQ")
    expect(bool(attrs.get("KmsMasterKeyId")), "the payments queue is encrypted with KMS")
else:
    expect(not queues, f"no queue is left ({sorted(queues)})")

# Bus, rules and targets.
buses = names_with_prefix(b["Name"] for b in events.list_event_buses()["EventBuses"])
if present:
    bus = f"{PREFIX}-payments"
    expect(buses == {"payments"}, "the event bus exists")
    rules = {r["Name"]: r for r in events.list_rules(EventBusName=bus)["Rules"]}
    expect(names_with_prefix(rules) == RULES, f"the spec's rules exist ({sorted(rules)})")
    settlement = events.list_targets_by_rule(Rule=f"{PREFIX}-settlement", EventBusName=bus)["Targets"]
    expect(len(settlement) == 1 and ":states:" in settlement[0]["Arn"] and settlement[0].get("InputPath") == "$.detail",
           "the settlement rule starts the state machine with the event's detail")
else:
    expect(not buses, f"no bus is left ({sorted(buses)})")

# Topic, state machine, API, log groups.
topics = names_with_prefix(t["TopicArn"].rsplit(":", 1)[1] for t in sns.list_topics()["Topics"])
machines = {m["name"]: m for m in sfn.list_state_machines()["stateMachines"]}
apis = [a for a in apigw.get_rest_apis()["items"] if a["name"] == f"{PREFIX}-api"]
groups = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"] if PREFIX in g["logGroupName"]]
if present:
    expect(topics == {"notifications", "outcomes"}, f"the notifications and outcomes topics exist ({sorted(topics)})")
    for topic in sorted(topics):
        topic_arn = f"arn:aws:sns:us-east-1:123456789012:{PREFIX}-{topic}"
        expect(bool(sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"].get("KmsMasterKeyId")),
               f"the {topic} topic is encrypted with KMS")
    if "outcomes" in topics:
        outcomes_arn = f"arn:aws:sns:us-east-1:123456789012:{PREFIX}-outcomes"
        subs = sns.list_subscriptions_by_topic(TopicArn=outcomes_arn)["Subscriptions"]
        policies = [sns.get_subscription_attributes(SubscriptionArn=s["SubscriptionArn"])["Attributes"].get("FilterPolicy")
                    for s in subs if s["Protocol"] == "email" and s["SubscriptionArn"].startswith("arn:")]
        expect(any(p and json.loads(p).get("status") for p in policies),
               f"the outcomes e-mail subscription filters on status ({policies})")
    expect(f"{PREFIX}-settlement" in machines, "the settlement state machine exists")
    if f"{PREFIX}-settlement" in machines:
        sm = sfn.describe_state_machine(stateMachineArn=machines[f"{PREFIX}-settlement"]["stateMachineArn"])
        definition = json.loads(sm["definition"])
        expect(definition["States"]["Validate"]["Resource"].endswith(f":function:{PREFIX}-validate"),
               "the definition invokes the validate function")
    expect(len(apis) == 1, "the REST API exists")
    if apis:
        stages = [s["stageName"] for s in apigw.get_stages(restApiId=apis[0]["id"])["item"]]
        expect(stages == ["v1"], f"the API has its stage ({stages})")
    expect(len(groups) >= 12, f"the log groups exist ({len(groups)})")
else:
    expect(not topics, f"no topic is left ({sorted(topics)})")
    expect(f"{PREFIX}-settlement" not in machines, "no state machine is left")
    expect(not apis, "no REST API is left")
    expect(not groups, f"no log group is left ({groups})")

# KMS keys: enabled after apply, pending deletion after destroy.
aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
ours = {a: k for a, k in aliases.items() if a.startswith(f"alias/{PREFIX}-")}
if present:
    expect(len(ours) == 5, f"the five KMS keys have aliases ({sorted(ours)})")
else:
    expect(not ours, f"no KMS alias is left ({sorted(ours)})")

# The remote state lives in the bootstrap's bucket.
state = json.loads(s3.get_object(Bucket=BUCKET, Key=STATE_KEY)["Body"].read())
count = len(state.get("resources", []))
if present:
    expect(count > 40, f"the state in s3://{BUCKET}/{STATE_KEY} holds the deployment ({count} resources)")
else:
    expect(count == 0, f"the state in s3://{BUCKET}/{STATE_KEY} is empty ({count} resources)")

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
