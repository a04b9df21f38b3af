//! Every operator exercised with the examples of AWS's EventBridge documentation
//! ("Content filtering in Amazon EventBridge event patterns", "Arrays in event patterns"),
//! plus the project's own rules and the validation messages AWS gives.

use serde_json::{Value, json};

use crate::{Pattern, Ruleset};

fn m(pattern: Value, event: Value) -> bool {
    Pattern::from_value(&pattern).unwrap().matches(&event)
}

fn reason(pattern: Value) -> String {
    Pattern::from_value(&pattern).unwrap_err().reason
}

fn ec2(detail: Value) -> Value {
    json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
        "account": "111122223333", "time": "2017-12-22T18:43:48Z", "region": "us-west-1",
        "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
        "detail": detail
    })
}

#[test]
fn exact_values_and_and_across_fields() {
    let p = json!({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
                   "detail": {"state": ["terminated"]}});
    assert!(m(p.clone(), ec2(json!({"state": "terminated"}))));
    assert!(!m(p, ec2(json!({"state": "running"}))));
    assert!(m(json!({"detail": {"n": [300]}}), ec2(json!({"n": 300.0}))));
    assert!(!m(
        json!({"detail": {"n": [300]}}),
        ec2(json!({"n": "300"}))
    ));
    assert!(m(json!({"detail": {"b": [true]}}), ec2(json!({"b": true}))));
    assert!(m(json!({"detail": {"z": [null]}}), ec2(json!({"z": null}))));
    assert!(!m(json!({"detail": {"z": [null]}}), ec2(json!({}))));
    assert!(m(
        json!({"detail": {"LastName": [""]}}),
        ec2(json!({"LastName": ""}))
    ));
    // Big integers such as account ids match by their text.
    assert!(m(
        json!({"detail": {"acct": [123456789012_u64]}}),
        ec2(json!({"acct": 123456789012_u64}))
    ));
}

#[test]
fn arrays_on_either_side() {
    let p = json!({"resources": [
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]});
    let e = json!({"resources": [
        "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]});
    assert!(m(p.clone(), e));
    assert!(!m(p, json!({"resources": ["arn:aws:autoscaling:x"]})));
    // One element of an array of objects must satisfy everything below it.
    let p = json!({"detail": {"items": {"k": ["a"], "v": [2]}}});
    assert!(m(
        p.clone(),
        ec2(json!({"items": [{"k": "a", "v": 1}, {"k": "a", "v": 2}]}))
    ));
    assert!(!m(
        p,
        ec2(json!({"items": [{"k": "a", "v": 1}, {"k": "b", "v": 2}]}))
    ));
}

#[test]
fn prefix_and_suffix() {
    assert!(m(
        json!({"time": [{"prefix": "2017-12-22"}]}),
        ec2(json!({}))
    ));
    assert!(!m(
        json!({"time": [{"prefix": "2017-10-02"}]}),
        ec2(json!({}))
    ));
    let p = json!({"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}});
    assert!(m(p.clone(), ec2(json!({"service": "eventbridge"}))));
    assert!(!m(p, ec2(json!({"service": "events"}))));
    assert!(m(
        json!({"FileName": [{"suffix": ".png"}]}),
        json!({"FileName": "a.png"})
    ));
    assert!(!m(
        json!({"FileName": [{"suffix": ".png"}]}),
        json!({"FileName": "a.PNG"})
    ));
    let p = json!({"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}});
    assert!(m(p, ec2(json!({"FileName": "image.PNG"}))));
    // String operators never match other types.
    assert!(!m(json!({"n": [{"prefix": "1"}]}), json!({"n": 12})));
}

#[test]
fn anything_but_forms() {
    let s = |v: Value| ec2(json!({"state": v}));
    assert!(m(
        json!({"detail": {"state": [{"anything-but": "initializing"}]}}),
        s(json!("pending"))
    ));
    assert!(!m(
        json!({"detail": {"state": [{"anything-but": "initializing"}]}}),
        s(json!("initializing"))
    ));
    assert!(m(
        json!({"detail": {"state": [{"anything-but": 123}]}}),
        s(json!(789))
    ));
    assert!(!m(
        json!({"detail": {"state": [{"anything-but": 123}]}}),
        s(json!(123.0))
    ));
    let list = json!({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}});
    assert!(m(list.clone(), s(json!("pending"))));
    assert!(!m(list.clone(), s(json!("stopped"))));
    assert!(
        !m(list, ec2(json!({}))),
        "a missing field is not 'anything but'"
    );
    let nums = json!({"detail": {"state": [{"anything-but": [100, 200, 300]}]}});
    assert!(m(nums.clone(), s(json!(999))));
    assert!(!m(nums, s(json!(200))));
    let prefix = json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}});
    assert!(m(prefix.clone(), s(json!("post-init"))));
    assert!(!m(prefix.clone(), s(json!("initializing"))));
    assert!(
        m(prefix, s(json!(null))),
        "null is a present value that is not excluded"
    );
    let suffix = json!({"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}});
    assert!(m(suffix.clone(), ec2(json!({"FileName": "file.txt.bak"}))));
    assert!(!m(suffix, ec2(json!({"FileName": "file.txt"}))));
    let ic = json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["initializing", "stopped"]}}]}});
    assert!(m(ic.clone(), s(json!("pending"))));
    assert!(!m(ic, s(json!("STOPPED"))));
    let wc = json!({"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}});
    assert!(m(wc.clone(), ec2(json!({"FilePath": "/usr/bin/x"}))));
    assert!(!m(wc, ec2(json!({"FilePath": "/usr/lib/x"}))));
}

#[test]
fn numeric_matching() {
    let p = json!({"detail": {
        "c-count": [{"numeric": [">", 0, "<=", 5]}],
        "d-count": [{"numeric": ["<", 10]}],
        "x-limit": [{"numeric": ["=", 3.018e2]}]}});
    assert!(m(
        p.clone(),
        ec2(json!({"c-count": 5, "d-count": 9.999, "x-limit": 301.8}))
    ));
    assert!(!m(
        p.clone(),
        ec2(json!({"c-count": 0, "d-count": 9, "x-limit": 301.8}))
    ));
    assert!(!m(
        p,
        ec2(json!({"c-count": 1, "d-count": "9", "x-limit": 301.8}))
    ));
    let ge = json!({"n": [{"numeric": [">=", 200, "<", 500]}]});
    assert!(m(ge.clone(), json!({"n": 200})));
    assert!(!m(ge.clone(), json!({"n": 500})));
    assert!(m(ge, json!({"n": [1, 300]})));
    assert!(m(json!({"n": [{"numeric": ["=", 1]}]}), json!({"n": 1.0})));
    assert!(m(
        json!({"n": [{"numeric": ["<=", -0.5]}]}),
        json!({"n": -1e-1 * 5.0})
    ));
}

#[test]
fn exists() {
    let p = json!({"detail": {"state": [{"exists": true}]}});
    assert!(m(p.clone(), ec2(json!({"state": "x"}))));
    assert!(m(p.clone(), ec2(json!({"state": null}))));
    assert!(!m(p.clone(), ec2(json!({"c-count": 1}))));
    assert!(
        !m(p, ec2(json!({"state": {"nested": 1}}))),
        "an object is not a value"
    );
    let absent = json!({"detail": {"state": [{"exists": false}]}});
    assert!(m(absent.clone(), ec2(json!({}))));
    assert!(m(absent.clone(), ec2(json!({"state": []}))));
    assert!(!m(absent, ec2(json!({"state": "x"}))));
}

#[test]
fn equals_ignore_case() {
    let p =
        json!({"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]});
    assert!(m(p, ec2(json!({}))));
    assert!(m(
        json!({"name": [{"equals-ignore-case": "alice"}]}),
        json!({"name": "ALICE"})
    ));
    assert!(!m(
        json!({"name": [{"equals-ignore-case": "alice"}]}),
        json!({"name": "alicia"})
    ));
}

#[test]
fn wildcard() {
    let p = json!({"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]});
    assert!(m(
        p.clone(),
        json!({"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/b"})
    ));
    assert!(!m(
        p,
        json!({"EventBusArn": "arn:aws:events:us-west-2:123456789012:event-bus/b"})
    ));
    assert!(m(
        json!({"f": [{"wildcard": "dir/*.png"}]}),
        json!({"f": "dir/a.png"})
    ));
    assert!(m(
        json!({"f": [{"wildcard": r"a\*b"}]}),
        json!({"f": "a*b"})
    ));
    assert!(!m(
        json!({"f": [{"wildcard": r"a\*b"}]}),
        json!({"f": "axb"})
    ));
}

#[test]
fn cidr_and_ip_values() {
    let p = json!({"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}});
    assert!(m(p.clone(), ec2(json!({"sourceIPAddress": "10.0.0.255"}))));
    assert!(!m(p.clone(), ec2(json!({"sourceIPAddress": "10.0.1.0"}))));
    assert!(!m(p, ec2(json!({"sourceIPAddress": 10}))));
    let v6 = json!({"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]});
    assert!(m(
        v6,
        json!({"ip": "2001:0db8:1234:1a00:0000:0000:0000:0001"})
    ));
    // An exact address matches any spelling of it.
    assert!(m(
        json!({"ip": ["2001:db8::1"]}),
        json!({"ip": "2001:0db8:0:0:0:0:0:1"})
    ));
}

#[test]
fn or_across_fields() {
    let p = json!({"source": ["aws.cloudwatch"], "$or": [
        {"metricName": ["CPUUtilization", "ReadLatency"]},
        {"namespace": ["AWS/EC2", "AWS/ES"]}]});
    assert!(m(
        p.clone(),
        json!({"source": "aws.cloudwatch", "namespace": "AWS/ES"})
    ));
    assert!(!m(
        p.clone(),
        json!({"source": "aws.ec2", "namespace": "AWS/ES"})
    ));
    assert!(!m(
        p,
        json!({"source": "aws.cloudwatch", "namespace": "AWS/S3"})
    ));
    let nested = json!({"detail": {"$or": [
        {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
        {"d-count": [{"numeric": ["<", 10]}]},
        {"x-limit": [{"numeric": ["=", 3.018e2]}]}]}});
    assert!(m(nested.clone(), ec2(json!({"x-limit": 301.8}))));
    assert!(!m(nested, ec2(json!({"x-limit": 301.9}))));
}

#[test]
fn dotted_names_are_nested_names() {
    assert!(m(
        json!({"detail": {"state.status": ["running"]}}),
        ec2(json!({"state": {"status": "running"}}))
    ));
    assert!(m(
        json!({"detail": {"state": {"status": ["running"]}}}),
        ec2(json!({"state.status": "running"}))
    ));
}

#[test]
fn project_rules() {
    let high_value = Pattern::parse(
        r#"{"source":["eventpay.payments"],"detail-type":["PaymentCreated"],"detail":{"amount_units":[{"numeric":[">=",10000]}]}}"#,
    )
    .unwrap();
    let settlement =
        Pattern::parse(r#"{"source":["eventpay.payments"],"detail-type":["PaymentCreated"]}"#)
            .unwrap();
    let audit = Pattern::parse(r#"{"source":["eventpay.payments"]}"#).unwrap();
    let rules = Ruleset::new(vec![
        ("audit".into(), audit),
        ("high-value".into(), high_value),
        ("settlement".into(), settlement),
    ]);
    let created = |units: i64| {
        json!({"source": "eventpay.payments", "detail-type": "PaymentCreated",
                                       "detail": {"amount_units": units}})
    };
    assert_eq!(
        rules.matching(&created(25_000)),
        ["audit", "high-value", "settlement"]
    );
    assert_eq!(rules.matching(&created(9_999)), ["audit", "settlement"]);
    let settled = json!({"source": "eventpay.payments", "detail-type": "PaymentSettled",
                         "detail": {"amount_units": 25_000}});
    assert_eq!(rules.matching(&settled), ["audit"]);
}

#[test]
fn validation_messages() {
    assert_eq!(reason(json!(["a"])), "Filter is not an object");
    assert_eq!(reason(json!({})), "Empty objects are not allowed");
    assert_eq!(
        reason(json!({"source": "x"})),
        "\"source\" must be an object or an array"
    );
    assert_eq!(
        reason(json!({"source": []})),
        "Empty arrays are not allowed"
    );
    assert_eq!(
        reason(json!({"a": [[1]]})),
        "Match value must be String, number, true, false, or null"
    );
    assert_eq!(
        reason(json!({"a": [{}]})),
        "Match expression name not found"
    );
    assert_eq!(
        reason(json!({"a": [{"regex": "x"}]})),
        "Unrecognized match type regex"
    );
    assert_eq!(
        reason(json!({"a": [{"prefix": "x", "suffix": "y"}]})),
        "Only one key allowed in match expression"
    );
    assert_eq!(
        reason(json!({"a": [{"prefix": {"wildcard": "x"}}]})),
        "Unsupported prefix pattern: wildcard"
    );
    assert_eq!(
        reason(json!({"a": [{"exists": "yes"}]})),
        "exists match pattern must be either true or false."
    );
    assert_eq!(
        reason(json!({"a": [{"numeric": ["!=", 1]}]})),
        "Unrecognized numeric range operator: !="
    );
    assert_eq!(
        reason(json!({"a": [{"numeric": [1]}]})),
        "Invalid member in numeric match: 1"
    );
    assert_eq!(
        reason(json!({"a": [{"numeric": ["=", "1"]}]})),
        "Value of equals must be numeric"
    );
    assert_eq!(
        reason(json!({"a": [{"numeric": ["<", 1, ">", 0]}]})),
        "Too many elements in numeric expression"
    );
    assert_eq!(
        reason(json!({"a": [{"numeric": [">", 5, "<", 1]}]})),
        "Bottom must be less than top"
    );
    assert_eq!(
        reason(json!({"a": [{"numeric": [">", 6e9]}]})),
        "Value must be between -5.0E9 and 5.0E9, inclusive"
    );
    assert_eq!(
        reason(json!({"a": [{"anything-but": ["a", 1]}]})),
        "Inside anything but list, either all values are number or string, mixed type is not supported"
    );
    assert_eq!(
        reason(json!({"a": [{"anything-but": {"regex": "x"}}]})),
        "Unsupported anything-but pattern: regex"
    );
    assert_eq!(
        reason(json!({"$or": [{"a": ["x"]}]})),
        "There must have at least 2 Objects in $or relationship."
    );
    assert_eq!(
        reason(json!({"$or": {"a": ["x"]}})),
        "It must be an Array followed with $or."
    );
    assert_eq!(
        reason(json!({"$or": [{"a": ["x"]}, "b"]})),
        "Only JSON object is allowed in array of $or relationship."
    );
    assert_eq!(
        reason(json!({"$or": [{"a": ["x"]}, {"prefix": ["b"]}]})),
        "prefix is Ruler reserved fieldName which cannot be used inside $or."
    );
    assert_eq!(
        reason(json!({"f": [{"wildcard": "a**"}]})),
        "Consecutive wildcard characters at pos 2"
    );
}

#[test]
fn errors_name_the_field() {
    let e = Pattern::parse(r#"{"detail":{"amount":[{"numeric":[">","x"]}]}}"#).unwrap_err();
    assert_eq!(e.path, "detail.amount");
    assert_eq!(
        e.to_string(),
        "Event pattern is not valid. Reason: Value of > must be numeric"
    );
    assert!(Pattern::parse("{not json").is_err());
}

#[test]
fn events_that_are_not_objects() {
    let p = Pattern::parse(r#"{"source":["x"]}"#).unwrap();
    assert!(p.matches_str(r#"{"source":"x"}"#).unwrap());
    assert!(p.matches_str("[1]").is_err());
    assert!(p.matches_str("{bad").is_err());
    assert!(!p.matches(&json!("x")));
}
