//! Loads the `spec/` files — the same files Terraform deploys — and refuses to start on a broken
//! one, naming the file and the path inside it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use eventpay_core::RateTable;
use eventpay_patterns::Pattern;
use eventpay_states::StateMachine;
use serde::Deserialize;
use serde_json::Value;

use crate::error::SpecError;

/// One EventBridge rule, as `spec/rules/<name>.json` declares it.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub file: PathBuf,
    pub pattern: Pattern,
    pub target: Target,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub kind: TargetKind,
    #[serde(default)]
    pub input_path: Option<String>,
    #[serde(default)]
    pub input_transformer: Option<InputTransformer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    AuditLog,
    Notifications,
    SettlementWorkflow,
}

/// EventBridge's InputTransformer: named paths into the event and a template using `<name>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputTransformer {
    pub input_paths: BTreeMap<String, String>,
    pub input_template: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    event_pattern: Value,
    target: Target,
}

/// Everything the runtime reads from `spec/`.
#[derive(Debug, Clone)]
pub struct Spec {
    pub rates: RateTable,
    pub rules: Vec<Rule>,
    pub settlement: StateMachine,
    /// The state machine's definition as the engine runs it (placeholders filled).
    pub settlement_text: String,
    /// (path, method) pairs of the OpenAPI document, method lower-case.
    pub operations: BTreeSet<(String, String)>,
    /// The OpenAPI document as loaded, served at `/openapi.yaml` (what this runtime checked
    /// its operations against, so a `--spec-dir` of another spec is served as it is).
    pub openapi: std::sync::Arc<str>,
}

pub const RATES_FILE: &str = "rates.json";
pub const RULES_DIR: &str = "rules";
pub const SETTLEMENT_FILE: &str = "settlement.asl.json";
pub const OPENAPI_FILE: &str = "openapi.yaml";

impl Spec {
    /// Loads every spec file. `resources` fills the state machine's `${name}` placeholders,
    /// as Terraform's `templatefile()` does on AWS.
    pub fn load(dir: &Path, resources: &BTreeMap<String, String>) -> Result<Spec, SpecError> {
        let rates_path = dir.join(RATES_FILE);
        let rates = RateTable::from_json(&read(&rates_path)?)
            .map_err(|e| SpecError::new(&rates_path, "$", e.to_string()))?;
        let rules = load_rules(&dir.join(RULES_DIR))?;
        let settlement_path = dir.join(SETTLEMENT_FILE);
        let (settlement, settlement_text) = load_state_machine(&settlement_path, resources)?;
        let openapi_path = dir.join(OPENAPI_FILE);
        let openapi = read(&openapi_path)?;
        let operations = load_operations(&openapi_path, &openapi)?;
        Ok(Spec {
            rates,
            rules,
            settlement,
            settlement_text,
            operations,
            openapi: openapi.into(),
        })
    }
}

fn read(path: &Path) -> Result<String, SpecError> {
    std::fs::read_to_string(path)
        .map_err(|e| SpecError::new(path, "$", format!("cannot read: {e}")))
}

fn load_rules(dir: &Path) -> Result<Vec<Rule>, SpecError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| SpecError::new(dir, "$", format!("cannot read directory: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(SpecError::new(dir, "$", "no rule files (*.json)"));
    }
    let mut names = BTreeSet::new();
    files
        .iter()
        .map(|file| load_rule(file, &mut names))
        .collect()
}

fn load_rule(file: &Path, names: &mut BTreeSet<String>) -> Result<Rule, SpecError> {
    let text = read(file)?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let parsed: RuleFile = serde_path_to_error::deserialize(de).map_err(|e| {
        SpecError::new(file, json_path(e.path().to_string()), e.inner().to_string())
    })?;
    if !names.insert(parsed.name.clone()) {
        return Err(SpecError::new(
            file,
            "$.name",
            format!("rule name {:?} is used twice", parsed.name),
        ));
    }
    let pattern = Pattern::from_value(&parsed.event_pattern)
        .map_err(|e| SpecError::new(file, format!("$.event_pattern.{}", e.path), e.to_string()))?;
    let target = parsed.target;
    if let Some(path) = &target.input_path {
        check_input_path(path).map_err(|m| SpecError::new(file, "$.target.input_path", m))?;
    }
    if let Some(t) = &target.input_transformer {
        for (name, path) in &t.input_paths {
            check_input_path(path).map_err(|m| {
                SpecError::new(
                    file,
                    format!("$.target.input_transformer.input_paths.{name}"),
                    m,
                )
            })?;
        }
    }
    Ok(Rule {
        name: parsed.name,
        file: file.to_path_buf(),
        pattern,
        target,
    })
}

fn json_path(serde_path: String) -> String {
    if serde_path == "." {
        "$".into()
    } else {
        format!("$.{serde_path}")
    }
}

/// EventBridge target paths are simple JSONPath: `$` or `$.a.b`.
fn check_input_path(path: &str) -> Result<(), String> {
    if path == "$" {
        return Ok(());
    }
    let rest = path
        .strip_prefix("$.")
        .ok_or_else(|| format!("{path:?} must start with \"$.\""))?;
    if rest
        .split('.')
        .any(|seg| seg.is_empty() || seg.contains(['[', ']', '*']))
    {
        return Err(format!(
            "{path:?} is not a simple JSONPath (only $.a.b is supported)"
        ));
    }
    Ok(())
}

/// Reads a simple JSONPath (already checked) from `value`.
pub fn select<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    match path.strip_prefix("$.") {
        None => Some(value),
        Some(rest) => rest.split('.').try_fold(value, |v, seg| v.get(seg)),
    }
}

fn load_state_machine(
    file: &Path,
    resources: &BTreeMap<String, String>,
) -> Result<(StateMachine, String), SpecError> {
    let text = fill_template(file, &read(file)?, resources)?;
    let machine = StateMachine::parse(&text)
        .map_err(|e| SpecError::new(file, e.path.clone(), e.message.clone()))?;
    for resource in machine.task_resources() {
        if !resources.values().any(|r| r == &resource) && !crate::tasks::is_integration(&resource) {
            return Err(SpecError::new(
                file,
                "$.States",
                format!("Task resource {resource:?} is not available in the local runtime"),
            ));
        }
    }
    Ok((machine, text))
}

/// Replaces `${name}` with the registry's value, as Terraform's templatefile() does.
fn fill_template(
    file: &Path,
    text: &str,
    vars: &BTreeMap<String, String>,
) -> Result<String, SpecError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| SpecError::new(file, "$", "unterminated ${ placeholder"))?;
        let name = &after[..end];
        let value = vars.get(name).ok_or_else(|| {
            let line = text[..text.len() - rest.len() + start]
                .lines()
                .count()
                .max(1);
            SpecError::new(
                file,
                format!("line {line}"),
                format!(
                    "unknown placeholder ${{{name}}}; known: {}",
                    vars.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn load_operations(file: &Path, text: &str) -> Result<BTreeSet<(String, String)>, SpecError> {
    let doc: serde_yaml::Value = serde_yaml::from_str(text)
        .map_err(|e| SpecError::new(file, "$", format!("invalid YAML: {e}")))?;
    let paths = doc
        .get("paths")
        .and_then(|p| p.as_mapping())
        .ok_or_else(|| SpecError::new(file, "$.paths", "missing or not a mapping"))?;
    let mut ops = BTreeSet::new();
    for (path, item) in paths {
        let path = path
            .as_str()
            .ok_or_else(|| SpecError::new(file, "$.paths", "path keys must be strings"))?;
        let item = item
            .as_mapping()
            .ok_or_else(|| SpecError::new(file, format!("$.paths.{path}"), "must be a mapping"))?;
        for method in item.keys().filter_map(|k| k.as_str()) {
            if ["get", "post", "put", "delete", "patch"].contains(&method) {
                ops.insert((path.to_owned(), method.to_owned()));
            }
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_fills_known_and_names_unknown_placeholders() {
        let vars = BTreeMap::from([("a".to_string(), "X".to_string())]);
        let f = Path::new("f.json");
        assert_eq!(
            fill_template(f, "{\"r\":\"${a}\"}", &vars).unwrap(),
            "{\"r\":\"X\"}"
        );
        let err = fill_template(f, "\n\"${b}\"", &vars).unwrap_err();
        assert!(err.to_string().contains("${b}"), "{err}");
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn input_paths_are_simple_jsonpath() {
        assert!(check_input_path("$.detail.payment_id").is_ok());
        assert!(check_input_path("$").is_ok());
        assert!(check_input_path("detail").is_err());
        assert!(check_input_path("$.a[0]").is_err());
        let v = serde_json::json!({"detail": {"id": "p1"}});
        assert_eq!(select(&v, "$.detail.id"), Some(&serde_json::json!("p1")));
        assert_eq!(select(&v, "$.nope"), None);
    }
}
