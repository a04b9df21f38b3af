//! Events per second through a [`Ruleset`] of 10, 100 and 1000 rules, the local bus's hot path.
//!
//! Rules mix the shapes the project and typical EventBridge users write: exact source and
//! detail-type, numeric ranges, prefixes, anything-but, exists and `$or`. Most rules do not
//! match, as on a real bus.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use eventpay_patterns::{Pattern, Ruleset};
use serde_json::{Value, json};

fn rule(i: usize) -> Pattern {
    let source = format!("eventpay.service{}", i % 7);
    let value = match i % 6 {
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
    };
    Pattern::from_value(&value).expect("benchmark rules are valid")
}

fn event(n: usize) -> Value {
    json!({
        "version": "0", "id": format!("id-{n}"), "detail-type": "PaymentCreated",
        "source": format!("eventpay.service{}", n % 7), "account": "123456789012",
        "time": "2025-01-01T00:00:00Z", "region": "eu-west-1", "resources": [],
        "detail": {"payment_id": format!("p-{n}"), "amount_units": n * 37 % 20_000,
                   "currency": format!("C{}", n % 50), "status": "PENDING",
                   "beneficiary": {"name": "B", "country": "NL"}}
    })
}

fn bench(c: &mut Criterion) {
    let events: Vec<Value> = (0..64).map(event).collect();
    let mut group = c.benchmark_group("ruleset_matching");
    for size in [10, 100, 1000] {
        let rules = Ruleset::new((0..size).map(|i| (format!("rule-{i}"), rule(i))).collect());
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

criterion_group!(benches, bench);
criterion_main!(benches);
