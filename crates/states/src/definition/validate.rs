//! Graph checks on a parsed definition: every transition names a state of the same block,
//! `StartAt` exists, every state is reachable, and there is a way to finish.

use super::choice::Rule;
use super::model::{Block, Kind, State};
use crate::error::DefinitionError;
use std::collections::BTreeSet;

fn err(path: String, message: String) -> DefinitionError {
    DefinitionError { path, message }
}

pub(crate) fn validate_block(block: &Block, at: &str) -> Result<(), DefinitionError> {
    if !block.states.contains_key(&block.start_at) {
        return Err(err(
            format!("{at}/StartAt"),
            format!(
                "StartAt names '{}', which is not a state here",
                block.start_at
            ),
        ));
    }
    for (name, state) in &block.states {
        let sat = format!("{at}/States/{name}");
        for (field, target) in transitions(state) {
            if !block.states.contains_key(&target) {
                return Err(err(
                    format!("{sat}/{field}"),
                    format!("'{target}' is not a state here"),
                ));
            }
        }
        match &state.kind {
            Kind::Parallel { branches } => {
                for (i, b) in branches.iter().enumerate() {
                    validate_block(b, &format!("{sat}/Branches/{i}"))?;
                }
            }
            Kind::Map(m) => validate_block(&m.processor, &format!("{sat}/ItemProcessor"))?,
            _ => {}
        }
    }
    let mut seen = BTreeSet::new();
    let mut todo = vec![block.start_at.clone()];
    while let Some(n) = todo.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        if let Some(s) = block.states.get(&n) {
            todo.extend(transitions(s).into_iter().map(|(_, t)| t));
        }
    }
    if let Some(unreached) = block.states.keys().find(|k| !seen.contains(*k)) {
        return Err(err(
            format!("{at}/States/{unreached}"),
            format!("state '{unreached}' is not reachable from StartAt"),
        ));
    }
    let terminal = block.states.values().any(|s| {
        matches!(s.kind, Kind::Succeed | Kind::Fail { .. })
            || (s.next.is_none() && !matches!(s.kind, Kind::Choice { .. }))
    });
    if !terminal {
        return Err(err(
            format!("{at}/States"),
            "no state ends the execution (End, Succeed or Fail)".into(),
        ));
    }
    Ok(())
}

/// Every transition out of a state, with the field that names it.
fn transitions(s: &State) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(n) = &s.next {
        out.push(("Next".to_string(), n.clone()));
    }
    for (i, c) in s.catch.iter().enumerate() {
        out.push((format!("Catch/{i}/Next"), c.next.clone()));
    }
    if let Kind::Choice { rules, default } = &s.kind {
        for (i, Rule { next, .. }) in rules.iter().enumerate() {
            out.push((format!("Choices/{i}/Next"), next.clone()));
        }
        if let Some(d) = default {
            out.push(("Default".to_string(), d.clone()));
        }
    }
    out
}

/// Every Task resource in the block and its nested blocks, in first-seen order.
pub(crate) fn collect_resources(block: &Block, out: &mut Vec<String>) {
    for s in block.states.values() {
        match &s.kind {
            Kind::Task(t) if !out.contains(&t.resource) => out.push(t.resource.clone()),
            Kind::Parallel { branches } => branches.iter().for_each(|b| collect_resources(b, out)),
            Kind::Map(m) => collect_resources(&m.processor, out),
            _ => {}
        }
    }
}
