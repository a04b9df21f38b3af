//! Examples from the JSONata documentation and Step Functions' JSONata guide.

use super::{Expression, JsonataError};
use serde_json::{Value, json};

fn run_with(expr: &str, input: Value) -> Result<Option<Value>, JsonataError> {
    let states = json!({"input": input, "context": {"Execution": {"Name": "x"}}});
    let vars = json!({"answer": 42, "items": ["a", "b"]});
    Expression::parse(expr)?.evaluate(&|name| match name {
        "states" => Some(states.clone()),
        other => vars.get(other).cloned(),
    })
}

fn run(expr: &str, input: Value) -> Option<Value> {
    match run_with(expr, input) {
        Ok(v) => v,
        Err(e) => panic!("{expr}: {e}"),
    }
}

fn err(expr: &str) -> String {
    match run_with(expr, json!({})) {
        Ok(v) => panic!("{expr} returned {v:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn literals_and_arithmetic() {
    assert_eq!(run("1 + 2 * 3", json!({})), Some(json!(7)));
    assert_eq!(run("(1 + 2) * 3", json!({})), Some(json!(9)));
    assert_eq!(run("7 % 4", json!({})), Some(json!(3)));
    assert_eq!(run("-5 + 1", json!({})), Some(json!(-4)));
    assert_eq!(run("1 / 4", json!({})), Some(json!(0.25)));
    assert_eq!(run("'a' & 1 & true", json!({})), Some(json!("a1true")));
    assert_eq!(run("null", json!({})), Some(json!(null)));
    assert_eq!(run("\"a\\\"b\"", json!({})), Some(json!("a\"b")));
}

#[test]
fn navigation() {
    let input = json!({"Account": {"Order": [
        {"OrderID": "o1", "Product": [{"Name": "Hat", "Price": 5, "Quantity": 2}, {"Name": "Cap", "Price": 3, "Quantity": 1}]},
        {"OrderID": "o2", "Product": [{"Name": "Bag", "Price": 10, "Quantity": 1}]}
    ]}});
    assert_eq!(
        run("$states.input.Account.Order.Product.Name", input.clone()),
        Some(json!(["Hat", "Cap", "Bag"]))
    );
    assert_eq!(
        run("$states.input.Account.Order[0].OrderID", input.clone()),
        Some(json!("o1"))
    );
    assert_eq!(
        run(
            "$states.input.Account.Order.Product[Price > 4].Name",
            input.clone()
        ),
        Some(json!(["Hat", "Bag"]))
    );
    assert_eq!(
        run(
            "$sum($states.input.Account.Order.Product.(Price * Quantity))",
            input.clone()
        ),
        Some(json!(23))
    );
    assert_eq!(
        run("$states.input.Account.Order[-1].OrderID", input.clone()),
        Some(json!("o2"))
    );
    assert_eq!(run("$states.input.nothing.here", input.clone()), None);
    assert_eq!(
        run("$states.input.Account.Order[1].Product[]", input.clone()).map(|v| v.is_array()),
        Some(true)
    );
    assert_eq!(
        run("$states.context.Execution.Name", json!({})),
        Some(json!("x"))
    );
    assert_eq!(
        run("$states.input.list", json!({"list": [5]})),
        Some(json!([5]))
    );
    assert_eq!(run("$states.input.*", json!({"a": 1})), Some(json!(1)));
}

#[test]
fn comparisons_and_booleans() {
    assert_eq!(
        run(
            "$states.input.v >= 20 and $states.input.v < 30",
            json!({"v": 22})
        ),
        Some(json!(true))
    );
    assert_eq!(
        run("$states.input.t = 'Public'", json!({"t": "Public"})),
        Some(json!(true))
    );
    assert_eq!(
        run("$not($states.input.t = 'Private')", json!({"t": "Private"})),
        Some(json!(false))
    );
    assert_eq!(run("3 in [1, 2, 3]", json!({})), Some(json!(true)));
    assert_eq!(
        run("$states.input.missing = 1", json!({})),
        Some(json!(false))
    );
    assert_eq!(
        run("$exists($states.input.a) ? 'yes' : 'no'", json!({"a": 0})),
        Some(json!("yes"))
    );
    assert_eq!(run("[1,2] = [1,2]", json!({})), Some(json!(true)));
    assert!(err("1 < 'a'").starts_with("T2009"));
}

#[test]
fn constructors_and_blocks() {
    assert_eq!(
        run("{'a': 1, 'b': [1, 'two', 3]}", json!({})),
        Some(json!({"a": 1, "b": [1, "two", 3]}))
    );
    assert_eq!(run("[1..4]", json!({})), Some(json!([1, 2, 3, 4])));
    assert_eq!(run("[[1, 2], [3]]", json!({})), Some(json!([[1, 2], [3]])));
    assert_eq!(
        run("[$items, 'c']", json!({})),
        Some(json!(["a", "b", "c"]))
    );
    assert_eq!(
        run("($x := 3; $y := 4; $x * $y)", json!({})),
        Some(json!(12))
    );
    assert_eq!(run("$variable := 1", json!({})), Some(json!(1)));
    assert_eq!(run("$answer + 1", json!({})), Some(json!(43)));
    assert_eq!(
        run("{'k': $states.input.missing}", json!({})),
        Some(json!({}))
    );
}

// A table of expression/result cases; its length is the number of cases.
#[test]
fn functions_and_lambdas() {
    assert_eq!(
        run("$map([1, 2, 3], function($v) { $v * 2 })", json!({})),
        Some(json!([2, 4, 6]))
    );
    assert_eq!(
        run(
            "$filter([1, 2, 3, 4], function($v) { $v % 2 = 0 })",
            json!({})
        ),
        Some(json!([2, 4]))
    );
    assert_eq!(
        run(
            "$reduce([1, 2, 3, 4], function($a, $b) { $a + $b })",
            json!({})
        ),
        Some(json!(10))
    );
    assert_eq!(
        run(
            "($f := function($n) { $n <= 1 ? 1 : $n * $f($n - 1) }; $f(5))",
            json!({})
        ),
        Some(json!(120))
    );
    assert_eq!(
        run("[3, 1, 2] ~> $sort()", json!({})),
        Some(json!([1, 2, 3]))
    );
    assert_eq!(
        run("$sort([3, 1, 2], function($l, $r) { $l < $r })", json!({})),
        Some(json!([3, 2, 1]))
    );
    assert_eq!(
        run("$merge([{'a': 1}, {'b': 2}])", json!({})),
        Some(json!({"a": 1, "b": 2}))
    );
    assert_eq!(run("$count([1, 2, 3])", json!({})), Some(json!(3)));
    assert_eq!(
        run("$string({'a': [1, true]})", json!({})),
        Some(json!("{\"a\":[1,true]}"))
    );
    assert_eq!(run("$string(0.1 + 0.2)", json!({})), Some(json!("0.3")));
    assert_eq!(run("$number('2')", json!({})), Some(json!(2)));
    assert_eq!(
        run("$uppercase('abc') & $substring('hello', 1, 3)", json!({})),
        Some(json!("ABCell"))
    );
    assert_eq!(
        run("$split('a,b,c', ',')", json!({})),
        Some(json!(["a", "b", "c"]))
    );
    assert_eq!(run("$join(['a', 'b'], '-')", json!({})), Some(json!("a-b")));
    assert_eq!(
        run(
            "$replace('John Smith', /(\\w+)\\s(\\w+)/, '$2, $1')",
            json!({})
        ),
        Some(json!("Smith, John"))
    );
    assert_eq!(
        run("$contains('hello$world', /^hello\\$/)", json!({})),
        Some(json!(true))
    );
    assert_eq!(
        run("$contains('hello$world', /^hello\\ /)", json!({})),
        Some(json!(false))
    );
    assert_eq!(
        run(
            "$round(2.5) & ',' & $round(3.5) & ',' & $round(1.235, 2)",
            json!({})
        ),
        Some(json!("2,4,1.24"))
    );
    assert_eq!(
        run("$keys({'a': 1, 'b': 2})", json!({})),
        Some(json!(["a", "b"]))
    );
    assert_eq!(run("$type([])", json!({})), Some(json!("array")));
    assert_eq!(
        run("$max([1, 5, 3]) + $min([4, 2])", json!({})),
        Some(json!(7))
    );
    assert_eq!(run("$average([1, 2, 3])", json!({})), Some(json!(2)));
    assert_eq!(
        run("$match('ab12', /[0-9]/).match", json!({})),
        Some(json!(["1", "2"]))
    );
}

#[test]
fn step_functions_additions() {
    assert_eq!(
        run("$partition([1, 2, 3], 2)", json!({})),
        Some(json!([[1, 2], [3]]))
    );
    assert_eq!(run("$partition([0], 1)", json!({})), Some(json!([[0]])));
    assert_eq!(
        run("$range(0, 10, 3)", json!({})),
        Some(json!([0, 3, 6, 9]))
    );
    assert_eq!(run("$range(1, 9, 9)", json!({})), Some(json!(1)));
    assert_eq!(
        run("$parse('{\"a\": [1]}')", json!({})),
        Some(json!({"a": [1]}))
    );
    assert_eq!(run("$parse('-0')", json!({})), Some(json!(0)));
    assert_eq!(
        run("$hash('input data', 'MD5')", json!({})),
        Some(json!("812f45842bc6d66ee14572ce20db8e86"))
    );
    assert_eq!(run("$length($uuid())", json!({})), Some(json!(36)));
    let r = run("$random()", json!({}))
        .and_then(|v| v.as_f64())
        .unwrap_or(-1.0);
    assert!((0.0..1.0).contains(&r));
    assert_eq!(run("$random(7) = $random(7)", json!({})), Some(json!(true)));
}

#[test]
fn errors_are_values_not_panics() {
    assert_eq!(
        err("$randomSeeded(1)"),
        "T1006: Attempted to invoke a non-function"
    );
    assert!(err("1 +").starts_with("S0207"));
    assert!(err("'abc").starts_with("S0101"));
    assert!(err("{'a' 1}").starts_with("S0202"));
    assert!(err("'a' + 1").starts_with("T2001"));
    assert!(err("$formatNumber(1, '#')").contains("not supported"));
    assert!(err("$.a^(b)").contains("not supported"));
    assert!(err("[1..100000000]").starts_with("D2014"));
    assert!(err("$error('boom')").contains("boom"));
    // Deep nesting is refused by the parser; deep recursion by the evaluator.
    let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(err(&deep).contains("nested"));
    assert!(err("($f := function($n) { $f($n + 1) }; $f(0))").starts_with("U1001"));
    assert!(
        err("($f := function($n) { $n = 0 ? 0 : $f($n - 1) + $f($n - 1) }; $f(40))")
            .starts_with("U1001")
    );
}

#[test]
fn functions_have_no_json_form() {
    let e = err("$fn := function($x){$x}");
    assert!(e.starts_with(super::UNSUPPORTED_RESULT));
}

#[test]
fn extreme_numbers_do_not_overflow() {
    assert_eq!(
        run("$substring('abc', -1e300, 1e300)", json!({})),
        Some(json!("abc"))
    );
    assert_eq!(
        run("$length($pad('a', -5, '-'))", json!({})),
        Some(json!(5))
    );
    assert_eq!(
        run("$pad('a', -1e300, '') = 'a'", json!({})),
        Some(json!(false))
    );
    assert_eq!(run("[1, 2][-1e300]", json!({})), None);
    assert!(err("[-9e18..9e18]").starts_with("D2014"));
}

/// The depth limits leave room on a thread stack half the default size (unoptimized build).
#[test]
fn limits_fit_a_small_stack() {
    let worker = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(|| {
            let nested = format!("{}1{}", "[".repeat(99), "]".repeat(99));
            assert!(run_with(&nested, json!({})).is_ok());
            let calls = format!("{}1{}", "$string(".repeat(99), ")".repeat(99));
            assert!(run_with(&calls, json!({})).is_ok());
            let blocks = format!("{}1{}", "(".repeat(99), ")".repeat(99));
            assert!(run_with(&blocks, json!({})).is_ok());
            let calls = format!("{}1{}", "$sum([".repeat(45), "])".repeat(45));
            assert!(run_with(&calls, json!({})).is_ok());
            assert!(err("($f := function($n) { $f($n + 1) }; $f(0))").starts_with("U1001"));
            assert!(err("($f := function($n) { [$f($n + 1)].x }; $f(0))").starts_with("U1001"));
        });
    assert!(worker.is_ok_and(|w| w.join().is_ok()));
}

/// Malformed and odd expressions come back as errors or values, never as panics.
// A table of malformed inputs; its length is the number of cases.
#[test]
fn token_soup_never_panics() {
    const PARTS: &[&str] = &[
        "$states",
        ".input",
        ".a",
        "[",
        "]",
        "(",
        ")",
        "{",
        "}",
        "'s'",
        "\"t\"",
        "1",
        "-2.5e3",
        "0",
        "$x",
        ":=",
        "function($v){",
        "$v",
        "}",
        "?",
        ":",
        ",",
        ";",
        "+",
        "-",
        "*",
        "/",
        "%",
        "&",
        "=",
        "!=",
        "<",
        ">=",
        "and",
        "or",
        "in",
        "..",
        "~>",
        "$sum(",
        "$map(",
        "$string(",
        "$substring(",
        "$split(",
        "/a+/i",
        "`b c`",
        "**",
        "*",
        "[]",
        "$",
        "$$",
        "$sort(",
        "$replace(",
        "$pad(",
        "$range(",
        "$partition(",
        "\\",
        "'",
        "/*",
        "*/",
        "#",
        "@",
        "^(",
        "|",
        "?:",
        "??",
        "null",
        "true",
        "$reduce(",
        "$zip(",
        "$keys(",
    ];
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let input = json!({"a": [1, {"a": "x"}, [2, 3]], "b": {"c": null}});
    for _ in 0..20_000 {
        let len = 1 + (next() % 12) as usize;
        let expr: String = (0..len)
            .map(|_| PARTS[(next() % PARTS.len() as u64) as usize])
            .collect::<Vec<_>>()
            .join(" ");
        let _ = run_with(&expr, input.clone());
    }
}
