"""Browser tests of the web console: the built `eventpay up` binary on a free port, driven by
Playwright in Debian's headless Chromium (no browser download). Run by scripts/test-console:

    tests/console/console_test.py <path to the eventpay binary> <screenshot dir>

Each check prints one line; the first failure raises with what was on the page. Screenshots of
every page go to the screenshot dir (CI keeps them as artefacts).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

from playwright.sync_api import expect, sync_playwright

SPEC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "spec")


def asl_state_count():
    """Top-level states of the settlement state machine, as the console draws them."""
    with open(os.path.join(SPEC_DIR, "settlement.asl.json"), encoding="utf-8") as f:
        return len(json.load(f)["States"])

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 20_000
expect.set_options(timeout=TIMEOUT_MS)


def step(msg):
    print(f"console-test: {msg}", flush=True)


class Server:
    def __init__(self, binary, data_dir):
        self.proc = subprocess.Popen(
            [
                binary, "up", "--addr", "127.0.0.1:0", "--data-dir", data_dir,
                "--blocked-accounts", "BLOCKED-1",
                # A poison message reaches the dead-letter queue within seconds.
                "--visibility-timeout-secs", "1", "--max-receive-count", "2",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=dict(os.environ, RUST_LOG="warn"),
        )
        line = self.proc.stdout.readline()
        self.base = next(w for w in line.split() if w.startswith("http://"))

    def call(self, method, path, body=None, raw=None):
        data = raw.encode() if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=20) as resp:
            return json.loads(resp.read() or b"null")

    def pay(self, amount, beneficiary="ACC-B", reference="invoice 42"):
        q = self.call("POST", "/quotes", {"source_currency": "USD", "target_currency": "EUR", "amount": amount})
        p = self.call("POST", "/payments", {
            "quote_token": q["token"],
            "sender": {"name": "Ada Sender", "account": "DE89370400440532013000"},
            "beneficiary": {"name": "Bob Beneficiary", "account": beneficiary},
            "reference": reference,
        })
        return p["payment_id"]

    def wait_status(self, pid, want, within=30):
        end = time.time() + within
        while time.time() < end:
            p = self.call("GET", f"/payments/{pid}")
            if p["status"] == want:
                return p
            time.sleep(0.05)
        raise AssertionError(f"payment {pid} not {want}: {p['status']}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("eventpay did not stop within 15 s (an open console held it?)")


def main(binary, shots):
    os.makedirs(shots, exist_ok=True)
    with tempfile.TemporaryDirectory() as data_dir, tempfile.TemporaryDirectory() as profile:
        server = Server(binary, data_dir)
        try:
            with sync_playwright() as pw:
                ctx = pw.chromium.launch_persistent_context(
                    profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
                    viewport={"width": 1280, "height": 800},
                )
                ctx.set_default_timeout(TIMEOUT_MS)
                page = ctx.new_page()
                errors = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                # Nothing is fetched from anywhere but the console itself.
                foreign = []
                page.on("request", lambda r: None if r.url.startswith(server.base) else foreign.append(r.url))
                run(server, page, shots)
                assert not errors, f"JavaScript errors: {errors}"
                assert not foreign, f"requests outside the console: {foreign}"
                # An open console (its live stream) must not hold the server's shutdown.
                page.goto(server.base + "/console/flow")
                server.stop()
                ctx.close()
        finally:
            if server.proc.poll() is None:
                server.proc.kill()
    step("all browser checks passed")


def shot(page, shots, name):
    page.screenshot(path=os.path.join(shots, f"{name}.png"), full_page=True)


def run(server, page, shots):
    base = server.base

    # Flow: `/` leads to the console; the figures update by themselves.
    page.goto(base + "/")
    expect(page).to_have_url(base + "/console/flow")
    expect(page.locator("[data-testid=flow] .stage")).to_have_count(11)
    expect(page.locator("[data-testid=live-status]")).to_contain_text("live")
    requests_fig = page.locator("[data-fig='counters.requests']")
    expect(requests_fig).not_to_have_text("–")
    before = int(requests_fig.inner_text())
    settled = server.pay("120.00")
    expect(requests_fig).not_to_have_text(str(before))
    expect(page.locator("[data-fig='counters.settled']")).to_have_text("1")
    # The state machine's graph: one node per state of spec/settlement.asl.json.
    expect(page.locator("[data-testid=flow-graph] g.node")).to_have_count(asl_state_count())
    expect(page.locator("[data-testid=spec-files]")).to_contain_text("spec/settlement.asl.json")
    step("flow: diagram from the configuration, live figures update without a reload")
    shot(page, shots, "flow")

    # Payments: a new payment appears and reaches SETTLED without a reload.
    page.get_by_role("link", name="Payments", exact=True).click()
    expect(page).to_have_url(base + "/console/payments")
    second = server.pay("130.00", beneficiary="ACC-LIVE")
    row = page.locator(f"tr[data-payment='{second}']")
    expect(row.locator("[data-status=SETTLED]")).to_be_visible()
    step("payments: a new payment appears and reaches SETTLED without a reload")
    rejected = server.pay("140.00", beneficiary="BLOCKED-1")
    server.post_fault = server.call("POST", "/_local/faults", {"function": "eventpay-post-ledger", "failures": 3})
    failed = server.pay("150.00", beneficiary="ACC-FAIL")
    server.wait_status(rejected, "REJECTED")
    server.wait_status(failed, "FAILED")
    page.select_option("[data-testid=status-filter]", "REJECTED")
    expect(page).to_have_url(base + "/console/payments?status=REJECTED")
    expect(page.locator("[data-testid=payments-table] tbody tr")).to_have_count(1)
    expect(page.locator(f"tr[data-payment='{rejected}']")).to_be_visible()
    page.select_option("[data-testid=status-filter]", "")
    page.fill("[data-testid=search]", "ACC-LIVE")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=payments-table] tbody tr")).to_have_count(1)
    expect(page.locator(f"tr[data-payment='{second}']")).to_be_visible()
    page.goto(base + "/console/payments?limit=2")
    expect(page.locator("[data-testid=payments-table] tbody tr")).to_have_count(2)
    expect(page.locator(f"tr[data-payment='{failed}']")).to_be_visible()
    page.locator("[data-testid=older]").click()
    expect(page.locator(f"tr[data-payment='{second}']")).to_be_visible()
    expect(page.locator(f"tr[data-payment='{settled}']")).to_be_visible()
    expect(page.locator("[data-testid=older]")).to_have_count(0)
    page.locator("[data-testid=newer]").click()
    expect(page.locator(f"tr[data-payment='{failed}']")).to_be_visible()
    expect(page.locator("[data-testid=newer]")).to_have_count(0)
    step("payments: status filter, search by account, pagination both ways")
    shot(page, shots, "payments")

    # A payment's page: figures, ledger, and the causal timeline with every hop in order.
    page.goto(base + f"/console/payments/{settled}")
    timeline = page.locator("[data-testid=timeline]")
    expect(timeline.locator("[data-kind=execution]").last).to_contain_text("SUCCEEDED")
    kinds = timeline.locator(".wf-row").evaluate_all("rows => rows.map(r => r.dataset.kind)")
    want = ["http", "table", "stream", "forwarder", "queue", "bus", "rule", "execution", "state", "ledger", "notification"]
    it = iter(kinds)
    assert all(k in it for k in want), f"timeline hops out of order: {kinds}"
    text = timeline.inner_text()
    for hop in ["HTTP POST /payments", "payments table: INSERT → PENDING", "stream record #", "queue receive",
                "receive count 1", "event PaymentCreated on the bus", "rule settlement matched", "state PostLedger",
                "ledger write: 3 transfers, balanced per currency", "notification published"]:
        assert hop in text, f"{hop!r} missing from the timeline:\n{text}"
    expect(page.locator("[data-testid=ledger]")).to_contain_text("balanced in USD")
    expect(page.locator("[data-testid=ledger]")).to_contain_text("balanced in EUR")
    expect(page.locator("[data-testid=ledger]")).not_to_contain_text("NOT balanced")
    step("payment: every hop of the causal timeline in order, ledger balanced per currency")
    shot(page, shots, "payment")
    page.set_viewport_size({"width": 420, "height": 800})
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the payment page scrolls sideways on a narrow window by {overflow}px"
    shot(page, shots, "payment-narrow")
    page.set_viewport_size({"width": 1280, "height": 800})
    step("payment: readable on a narrow window")

    # The ledger: from the payment's T-account to the fees account, its balance and transfers.
    page.locator("[data-testid=ledger] a", has_text="fees:USD").first.click()
    expect(page.locator("[data-testid=account]")).to_have_text("fees:USD")
    expect(page.locator("[data-testid=balances]")).to_contain_text("USD")
    expect(page.locator("[data-testid=account-transfers]")).to_contain_text(f"{settled}/fee")
    step("ledger: an account's balance and transfers, linked from the payment")
    shot(page, shots, "ledger-account")
    page.goto(base + f"/console/payments/{settled}")

    # Its execution: the graph with the path taken, history, redrive button state.
    page.locator("[data-testid=execution-link]").click()
    graph = page.locator("[data-testid=execution-graph]")
    for state in ["MarkProcessing", "Validate", "PostLedger", "NotifyOutcome"]:
        expect(graph.locator(f"g.node.visited[data-state='{state}']")).to_have_count(1)
    expect(graph.locator("g.node.visited[data-state='MarkRejected']")).to_have_count(0)
    expect(graph.locator("g.node.failed")).to_have_count(0)
    expect(page.locator("[data-testid=history] tr[data-type=ExecutionSucceeded]")).to_have_count(1)
    expect(page.locator("[data-testid=redrive-execution]")).to_be_disabled()
    # Drawn from the definition version it ran on, here the live one.
    expect(page.locator("[data-testid=definition-version]")).to_contain_text("(live)")
    step("execution: graph with the path taken, history, no redrive for a succeeded execution")
    shot(page, shots, "execution")
    page.goto(base + f"/console/payments/{failed}")
    expect(page.locator("[data-testid=timeline]")).to_contain_text("FAILED")
    page.locator("[data-testid=execution-link]").click()
    graph = page.locator("[data-testid=execution-graph]")
    expect(graph.locator("g.node.failed[data-state='PostLedger']")).to_have_count(1)
    expect(graph.locator("g.node.failed[data-state='SettlementFailed']")).to_have_count(1)
    expect(page.locator("[data-testid=history] tr[data-type=LambdaFunctionFailed]")).to_have_count(3)
    redrive = page.locator("[data-testid=redrive-execution]")
    expect(redrive).to_be_enabled()
    expect(page.locator("#redrive-why")).to_contain_text("RedriveExecution")
    step("execution: the failed states are marked, retries in the history, redrive offered")
    shot(page, shots, "execution-failed")
    # It stopped in the Fail state: redriven, it runs from there and fails again.
    redrive.click()
    history = page.locator("[data-testid=history]")
    expect(history.locator("tr[data-type=ExecutionRedriven]")).to_have_count(1, timeout=15000)
    expect(history.locator("tr[data-type=ExecutionFailed]")).to_have_count(2, timeout=15000)
    expect(history.locator("tr[data-type=LambdaFunctionFailed]")).to_have_count(3)
    step("execution: redriven from the console, it ends again in the failed state")
    shot(page, shots, "execution-redriven")
    page.get_by_role("link", name="Executions", exact=True).click()
    page.select_option("[data-testid=execution-status-filter]", "FAILED")
    expect(page.locator("[data-testid=executions-table] tbody tr")).to_have_count(1)
    shot(page, shots, "executions")

    # Queues: a poison message reaches the DLQ and is redriven from the console.
    page.get_by_role("link", name="Queues", exact=True).click()
    server.call("POST", "/_local/queues/eventpay-payments/messages", raw="this is not a change record")
    expect(page.locator("[data-testid=dlq-depth]")).to_have_text("1")
    dlq = page.locator("[data-testid=dlq-messages]")
    expect(dlq).to_contain_text("this is not a change record")
    shot(page, shots, "queues-dlq")
    page.locator("[data-testid=redrive-dlq]").click()
    expect(page.locator("[data-testid=redrive-result]")).to_contain_text("moved 1 message")
    # Redriven, it fails again and comes back to the DLQ: the figure follows live.
    expect(page.locator("[data-testid=dlq-depth]")).to_have_text("1", timeout=TIMEOUT_MS)
    step("queues: poison message in the DLQ with its body, redriven from the console")
    shot(page, shots, "queues")

    # Rules and tools.
    page.get_by_role("link", name="Rules & tools").click()
    expect(page.locator("[data-testid=matched-settlement]")).to_have_text("4")
    page.locator("[data-testid=test-pattern]").click()
    expect(page.locator("[data-testid=pattern-result]")).to_have_text("matches")
    page.fill("[data-testid=event-input]", json.dumps({"source": "eventpay.payments", "detail-type": "PaymentCreated", "detail": {"base_amount_units": 5}}))
    page.locator("[data-testid=test-pattern]").click()
    expect(page.locator("[data-testid=pattern-result]")).to_have_text("does not match")
    page.fill("[data-testid=pattern-input]", '{"detail": 5}')
    page.locator("[data-testid=test-pattern]").click()
    expect(page.locator("[data-testid=pattern-result]")).to_have_attribute("data-result", "error")
    page.locator("[data-testid=run-machine]").click()
    expect(page.locator("[data-testid=run-output]")).to_contain_text("high-value")
    step("rules: match counts, the pattern form (match, no match, invalid), the state-machine form")
    shot(page, shots, "rules")

    # Notifications and audit log, searchable.
    page.get_by_role("link", name="Notifications & audit").click()
    page.fill("[data-testid=log-search]", rejected)
    expect(page.locator("[data-testid=notifications]")).to_contain_text(f"Payment {rejected} is REJECTED")
    expect(page.locator("[data-testid=audit]")).to_contain_text("PaymentRejected")
    step("notifications and audit log: newest first, searchable")
    shot(page, shots, "log")

    # Keyboard: the first Tab reaches the skip link, then the navigation.
    page.goto(base + "/console/flow")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(base + "/console/flow")
    step("keyboard: skip link and navigation reachable with Tab")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: console_test.py <eventpay binary> <screenshot dir>")
    main(sys.argv[1], sys.argv[2])
