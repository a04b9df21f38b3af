//! Events per second through a [`Ruleset`] of 10, 100 and 1000 rules, the local bus's hot path.
//!
//! Two rule groups:
//! - `mixed`: the shapes the project and typical EventBridge users write (exact source and
//!   detail-type, numeric ranges, prefixes, anything-but, exists and `$or`); many rules share
//!   their source and detail-type, so an event is relevant to a fixed share of them.
//! - `per_customer`: one rule per customer, differing by an exact `detail.customer_id`, as a
//!   tenant-per-rule deployment has; an event concerns one customer whatever the rule count.
//!
//! Most rules do not match, as on a real bus.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use eventpay_patterns::{Pattern, Ruleset};
use serde_json::{Value, json};

fn mixed_rule(i: usize) -> Value {
    let source = format!("eventpay.service{}", i % 7);
    match i % 6 {
        0 => json!({"source": [source], "detail-type": ["PaymentCreated"]}),
        1 => {
            json!({"source": [source], "detail": {"amount_units": [{"numeric": [">=", i * 10, "<", i * 10 + 5000]}]}})
        }
        2 => {
            json!({"detail-type": [{"prefix": "Payment"}], "detail": {"currency": [format!("C{i}")]}})
        }
        3 => {
            json!({"source": [source], "detail": {"status": [{"anything-but": ["SETTLED", "FAILED"]}]}})
        }
        4 => json!({"source": [source], "detail": {"reference": [{"exists": false}]}}),
        _ => json!({"source": [source], "$or": [
            {"detail": {"beneficiary": {"country": ["DE", "FR"]}}},
            {"detail": {"amount_units": [{"numeric": [">", 1_000_000]}]}}]}),
    }
}

fn customer_rule(i: usize) -> Value {
    let customer = format!("cust-{i}");
    match i % 3 {
        0 => json!({"source": ["eventpay.payments"], "detail": {"customer_id": [customer]}}),
        1 => json!({"source": ["eventpay.payments"], "detail-type": ["PaymentCreated"],
                    "detail": {"customer_id": [customer],
                               "amount_units": [{"numeric": [">=", 1000]}]}}),
        _ => json!({"source": ["eventpay.payments"],
                    "detail": {"customer_id": [customer],
                               "status": [{"anything-but": ["FAILED"]}]}}),
    }
}

fn mixed_event(n: usize) -> Value {
    json!({
        "version": "0", "id": format!("id-{n}"), "detail-type": "PaymentCreated",
        "source": format!("eventpay.service{}", n % 7), "account": "123456789012",
        "time": "2025-01-01T00:00:00Z", "region": "eu-west-1", "resources": [],
        "detail": {"payment_id": format!("p-{n}"), "amount_units": n * 37 % 20_000,
                   "currency": format!("C{}", n % 50), "status": "PENDING",
                   "beneficiary": {"name": "B", "country": "NL"}}
    })
}

fn customer_event(n: usize) -> Value {
    json!({
        "version": "0", "id": format!("id-{n}"), "detail-type": "PaymentCreated",
        "source": "eventpay.payments", "account": "123456789012",
        "time": "2025-01-01T00:00:00Z", "region": "eu-west-1", "resources": [],
        // Every 8th event concerns one of the first ten customers, so each size sees matches.
        "detail": {"payment_id": format!("p-{n}"), "amount_units": n * 37 % 20_000,
                   "customer_id": format!("cust-{}", if n.is_multiple_of(8) { n % 10 } else { n * 131 % 1000 }),
                   "currency": "EUR", "status": "PENDING"}
    })
}

type Maker = fn(usize) -> Value;

fn bench(c: &mut Criterion) {
    let groups: [(&str, Maker, Maker); 2] = [
        ("ruleset_matching", mixed_rule, mixed_event),
        ("ruleset_per_customer", customer_rule, customer_event),
    ];
    for (name, rule, event) in groups {
        let events: Vec<Value> = (0..64).map(event).collect();
        let mut group = c.benchmark_group(name);
        for size in [10, 100, 1000] {
            let rules = Ruleset::new(
                (0..size)
                    .map(|i| {
                        let p = Pattern::from_value(&rule(i)).expect("benchmark rules are valid");
                        (format!("rule-{i}"), p)
                    })
                    .collect(),
            );
            group.throughput(Throughput::Elements(events.len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(size), &rules, |b, rules| {
                b.iter(|| {
                    events
                        .iter()
                        .map(|e| rules.matching(e).len())
                        .sum::<usize>()
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
