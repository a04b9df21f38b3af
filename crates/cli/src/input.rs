//! Reading a JSON argument given either inline or as a file path, like the AWS CLI's
//! `file://` convenience without the prefix.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

/// `arg` is JSON text if it parses as JSON, else a path to a file holding JSON.
pub fn json_arg(what: &str, arg: &str) -> anyhow::Result<(String, Value)> {
    if let Ok(v) = serde_json::from_str::<Value>(arg) {
        return Ok((arg.to_owned(), v));
    }
    let path = Path::new(arg);
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{what}: {arg:?} is neither JSON nor a readable file"))?;
    let value = serde_json::from_str(&text)
        .with_context(|| format!("{what}: {} is not valid JSON", path.display()))?;
    Ok((text, value))
}

/// Prints a line to stdout; a closed pipe (e.g. `| head`) ends quietly instead of panicking.
pub fn print_line(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
