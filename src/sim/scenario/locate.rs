//! Locating errors: toml errors and key paths turned into file:line:column, via a tree of
//! the spans of the file's values.

use super::overrides::Override;
use super::{Scenario, ScenarioError};
use serde::Deserialize;
use toml::Table;

pub(super) use crate::util::toml_span::Tree;

/// What error reporting needs: the text, its value spans and the overrides.
pub(super) struct Ctx<'a> {
    pub(super) origin: &'a str,
    pub(super) text: &'a str,
    pub(super) tree: Tree,
    pub(super) sets: Vec<Override>,
}

impl Ctx<'_> {
    fn line_col(&self, offset: usize) -> (usize, usize) {
        crate::util::toml_span::line_column(self.text, offset)
    }

    /// A `Syntax` error of a value that came from `--set` (line and column 0).
    fn set_by_override(&self, message: String) -> ScenarioError {
        ScenarioError::Syntax {
            origin: self.origin.to_string(),
            line: 0,
            column: 0,
            message,
        }
    }

    pub(super) fn syntax(&self, offset: usize, message: &str) -> ScenarioError {
        ScenarioError::syntax(self.origin, self.text, offset, message)
    }

    /// An `Invalid` error about `paths`: blamed on the last `--set` of any of them, else
    /// located at the first one found in the file.
    pub(super) fn invalid(&self, paths: &[&str], message: String) -> ScenarioError {
        let covers = |o: &&Override| paths.iter().any(|p| o.covers(p));
        if let Some(o) = self.sets.iter().rev().find(covers) {
            let message = format!("{message} (set by --set {})", o.arg);
            return ScenarioError::invalid(self.origin, 0, 0, message);
        }
        let (line, column) = match paths.iter().find_map(|p| self.tree.span(p)) {
            Some(span) => self.line_col(span.start),
            None => (0, 0),
        };
        ScenarioError::invalid(self.origin, line, column, message)
    }

    /// Deserializes the overridden table; a failure is located in the file or blamed on a `--set`.
    pub(super) fn deserialize(
        &self,
        original: &Table,
        table: Table,
    ) -> Result<Scenario, ScenarioError> {
        let err = match Scenario::deserialize(table) {
            Ok(s) => return Ok(s),
            Err(e) => e,
        };
        let message = err.message().trim();
        if let Err(e) = toml::from_str::<Scenario>(self.text) {
            if e.message().trim() == message {
                return Err(self.syntax(e.span().map_or(0, |s| s.start), message));
            }
        }
        // Not in the file: blame the first --set after which this error appears.
        let mut t = original.clone();
        for o in &self.sets {
            o.apply(&mut t)?;
            if let Err(e) = Scenario::deserialize(t.clone()) {
                if e.message().trim() == message {
                    let message = format!("{message} (set by --set {})", o.arg);
                    return Err(self.set_by_override(message));
                }
            }
        }
        Err(self.set_by_override(message.to_string()))
    }
}
