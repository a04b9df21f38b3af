"""schemathesis hooks for scripts/test-api (loaded through SCHEMATHESIS_HOOKS).

A payment needs a quote token signed by the server, which no schema can generate: every
generated POST /payments body that carries a string token gets a fresh one from POST /quotes,
so positive data can be accepted (202) and negative data is refused for what was mutated, not
for the token. Non-string tokens are left alone (they are the negative case for that field).
"""

import json
import os
import urllib.request

import schemathesis

BASE = os.environ["EVENTPAY_BASE"]
QUOTE = {"source_currency": "USD", "target_currency": "EUR", "amount": "100.00"}


def fresh_token():
    req = urllib.request.Request(
        BASE + "/quotes",
        data=json.dumps(QUOTE).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=20) as resp:
        return json.loads(resp.read())["token"]


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """Every phase's calls pass here (map_body does not see the coverage phase's)."""
    if case.operation.path != "/payments" or case.operation.method.lower() != "post":
        return
    if isinstance(case.body, dict) and isinstance(case.body.get("quote_token"), str):
        case.body = dict(case.body, quote_token=fresh_token())
