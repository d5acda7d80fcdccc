//! The `--set key.path=value` overrides: parsing them and applying them to the table.

use super::ScenarioError;
use toml::{Table, Value};

/// One `--set key.path=value`.
pub(super) struct Override {
    /// The argument as given.
    pub(super) arg: String,
    path: Vec<String>,
    value: Value,
}

impl Override {
    /// Parses `key.path=value`; a value that is not TOML is taken as a string.
    pub(super) fn parse(arg: &str) -> Result<Override, ScenarioError> {
        let bad = |m: &str| ScenarioError::BadOverride {
            arg: arg.to_string(),
            message: m.to_string(),
        };
        let (key, raw) = arg
            .split_once('=')
            .ok_or_else(|| bad("expected key.path=value"))?;
        let path: Vec<String> = key.split('.').map(|s| s.trim().to_string()).collect();
        if key.trim().is_empty() {
            return Err(bad("empty key"));
        }
        if path.iter().any(String::is_empty) {
            return Err(bad("empty segment in the key"));
        }
        let raw = raw.trim();
        let value = match format!("v = {raw}").parse::<Table>() {
            Ok(mut t) if t.len() == 1 => t.remove("v"),
            _ => None,
        };
        Ok(Override {
            arg: arg.to_string(),
            path,
            value: value.unwrap_or_else(|| Value::String(raw.to_string())),
        })
    }

    /// Sets the value, creating missing tables; numeric segments index existing arrays.
    pub(super) fn apply(&self, table: &mut Table) -> Result<(), ScenarioError> {
        let (first, rest) = self.path.split_first().expect("a key has a segment");
        let mut slot = table
            .entry(first.clone())
            .or_insert(Value::Table(Table::new()));
        for (depth, seg) in rest.iter().enumerate() {
            let here = self.path[..=depth].join(".");
            slot = match slot {
                Value::Table(t) => t.entry(seg.clone()).or_insert(Value::Table(Table::new())),
                Value::Array(a) => match seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                    Some(v) => v,
                    None => return Err(self.bad(format!("`{here}` has no element {seg}"))),
                },
                _ => return Err(self.bad(format!("`{here}` is not a table"))),
            };
        }
        *slot = self.value.clone();
        Ok(())
    }

    fn bad(&self, message: String) -> ScenarioError {
        ScenarioError::BadOverride {
            arg: self.arg.clone(),
            message,
        }
    }

    /// Whether this override set `path` or one of its ancestors.
    pub(super) fn covers(&self, path: &str) -> bool {
        let segs: Vec<&str> = path.split('.').collect();
        segs.len() >= self.path.len() && self.path.iter().zip(&segs).all(|(a, b)| a == b)
    }
}
