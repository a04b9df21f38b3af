//! `Ruleset::matching` must report exactly the rules whose `Pattern::matches` holds, in rule
//! order: checked on random rule sets and events drawn from a small vocabulary (so rules share
//! fields and values, and events hit them), and on every AWS-recorded conformance case.

use std::fs;
use std::path::Path;

use eventpay_patterns::{Pattern, Ruleset};
use serde_json::{Map, Value, json};

/// A small deterministic generator (xorshift64*), so failures reproduce from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const NAMES: &[&str] = &["a", "b", "c", "a.b", "b.c"];

fn scalars() -> Vec<Value> {
    vec![
        json!("x"),
        json!("y"),
        json!("xy"),
        json!("XY"),
        json!("x-y"),
        json!(""),
        json!("10.0.0.1"),
        json!("10.0.0.07"),
        json!("été"),
        json!(1),
        json!(1.0),
        json!(2),
        json!(1.5),
        json!(-3),
        json!(10_000_000_000_i64),
        json!(true),
        json!(false),
        json!(null),
    ]
}

fn operators() -> Vec<Value> {
    vec![
        json!({"prefix": "x"}),
        json!({"prefix": ""}),
        json!({"prefix": {"equals-ignore-case": "X"}}),
        json!({"suffix": "y"}),
        json!({"suffix": {"equals-ignore-case": "Y"}}),
        json!({"equals-ignore-case": "xY"}),
        json!({"equals-ignore-case": "ÉTÉ"}),
        json!({"anything-but": ["x", "y"]}),
        json!({"anything-but": 1}),
        json!({"anything-but": {"prefix": "x"}}),
        json!({"anything-but": {"suffix": "y"}}),
        json!({"anything-but": {"equals-ignore-case": ["X"]}}),
        json!({"anything-but": {"wildcard": "x*"}}),
        json!({"numeric": [">", 0, "<=", 2]}),
        json!({"numeric": ["=", 1.5]}),
        json!({"numeric": ["<", 0]}),
        json!({"numeric": [">=", 1]}),
        json!({"exists": true}),
        json!({"exists": false}),
        json!({"exists": false}),
        json!({"wildcard": "x*y"}),
        json!({"cidr": "10.0.0.0/24"}),
        json!({"exactly": "x"}),
    ]
}

fn pattern_object(rng: &mut Rng, depth: usize) -> Value {
    let mut map = Map::new();
    for _ in 0..1 + rng.below(3) {
        let roll = rng.below(100);
        if depth < 2 && roll < 12 {
            let alternatives = (0..2 + rng.below(2))
                .map(|_| pattern_object(rng, depth + 1))
                .collect();
            map.insert("$or".into(), Value::Array(alternatives));
        } else if depth < 2 && roll < 40 {
            map.insert(rng.pick(NAMES).into(), pattern_object(rng, depth + 1));
        } else {
            let values = (0..1 + rng.below(3))
                .map(|_| {
                    if rng.chance(45) {
                        rng.pick(&scalars())
                    } else {
                        rng.pick(&operators())
                    }
                })
                .collect();
            map.insert(rng.pick(NAMES).into(), Value::Array(values));
        }
    }
    Value::Object(map)
}

fn event_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(100) {
        0..50 => rng.pick(&scalars()),
        50..65 => Value::Array(
            (0..rng.below(3))
                .map(|_| event_value(rng, depth + 1))
                .collect(),
        ),
        _ if depth < 3 => event_object(rng, depth + 1),
        _ => rng.pick(&scalars()),
    }
}

fn event_object(rng: &mut Rng, depth: usize) -> Value {
    let mut map = Map::new();
    for _ in 0..rng.below(4) {
        map.insert(rng.pick(NAMES).into(), event_value(rng, depth));
    }
    Value::Object(map)
}

fn assert_agrees(rules: &[(String, Pattern)], events: &[Value], context: &str) {
    let set = Ruleset::new(rules.to_vec());
    assert_eq!(set.len(), rules.len());
    for event in events {
        let expected: Vec<&str> = rules
            .iter()
            .filter(|(_, p)| p.matches(event))
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(set.matching(event), expected, "{context}; event {event}");
    }
}

#[test]
fn random_rules_and_events() {
    let mut matched = 0;
    for seed in 1..=400u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut pool: Vec<(String, Pattern)> = Vec::new();
        let mut texts: Vec<Value> = Vec::new();
        while pool.len() < 60 {
            // Reuse earlier rules now and then: identical rules share branches in the index.
            let text = if !texts.is_empty() && rng.chance(15) {
                rng.pick(&texts)
            } else {
                pattern_object(&mut rng, 0)
            };
            if let Ok(p) = Pattern::from_value(&text) {
                pool.push((format!("r{}", pool.len()), p));
                texts.push(text);
            }
        }
        let events: Vec<Value> = (0..40).map(|_| event_object(&mut rng, 0)).collect();
        for e in &events {
            matched += pool.iter().filter(|(_, p)| p.matches(e)).count();
        }
        let context = format!("seed {seed}; rules {}", Value::Array(texts));
        assert_agrees(&pool, &events, &context);
    }
    // The generator must produce matches, or the comparison proves little.
    assert!(matched > 10_000, "only {matched} matches");
}

#[test]
fn conformance_cases_through_one_ruleset() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aws");
    let mut rules = Vec::new();
    let mut events = Vec::new();
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json5") {
            continue;
        }
        let doc: Value = json5::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        if let Ok(p) = Pattern::from_value(&doc["EventPattern"]) {
            rules.push((path.display().to_string(), p));
        }
        events.push(doc["Event"].clone());
    }
    assert!(rules.len() > 100);
    assert_agrees(&rules, &events, "conformance rules");
}
