//! Checking a node file, TOML or YAML, into [`NodeSettings`]: the rules of `docs/bridge.md`,
//! each error located at the file, line and column of the key it is about.

use super::config::{ConfigError, NodeFile, NodeSettings};
use super::security::{Key, Keys};
use super::yaml_span::YamlIndex;
use crate::node::StakeSampler;
use crate::util::toml_span::{line_column, Tree};
use std::borrow::Cow;
use std::collections::BTreeSet;

/// Where the keys of the file being checked are.
pub(super) enum Locator<'a> {
    /// A TOML file: its text and the spans of its values.
    Toml {
        /// The text, to turn byte offsets into lines and columns.
        text: &'a str,
        /// The spans of its values.
        tree: Tree,
    },
    /// A YAML file: the line and column of each of its values, found by `NodeFile` paths.
    Yaml(YamlIndex),
}

/// A file being checked: its name and where its keys are.
pub(super) struct Ctx<'a> {
    /// The file name, as errors show it.
    pub(super) origin: &'a str,
    /// Where its keys are.
    pub(super) at: Locator<'a>,
}

impl Ctx<'_> {
    /// An `Invalid` error at the first of `paths` (dotted `NodeFile` paths such as
    /// `peers.2.address`) present in the file, else where the YAML file has the nearest
    /// enclosing key of the first, else line 1.
    pub(super) fn invalid(&self, paths: &[&str], message: impl Into<String>) -> ConfigError {
        let (line, column) = match &self.at {
            Locator::Toml { text, tree } => {
                let offset = paths
                    .iter()
                    .find_map(|p| tree.span(p))
                    .map_or(0, |s| s.start);
                line_column(text, offset)
            }
            Locator::Yaml(index) => index.locate(paths),
        };
        ConfigError::invalid(self.origin, line, column, message.into())
    }

    /// The name of `NodeFile` key `key` (indices left out: `peers.address`) as this file
    /// writes it: itself in TOML, its place in YAML (`network.peers.address`).
    pub(super) fn name<'k>(&self, key: &'k str) -> Cow<'k, str> {
        match self.at {
            Locator::Toml { .. } => Cow::Borrowed(key),
            Locator::Yaml(_) => Cow::Owned(super::yaml_span::yaml_name(key)),
        }
    }

    /// Whether the file is YAML (for the few messages that quote TOML syntax).
    pub(super) fn is_yaml(&self) -> bool {
        matches!(self.at, Locator::Yaml(_))
    }
}

/// Checks a ZeroMQ TCP endpoint string: `tcp://HOST:PORT` (HOST a name, an IPv4 address,
/// `[IPv6]` or `*`; PORT a number, or `*` / 0 for any when binding).
pub fn check_endpoint(s: &str) -> Result<(), String> {
    let bad =
        |why: &str| format!("{s:?} is not a ZeroMQ endpoint such as tcp://127.0.0.1:7000 ({why})");
    let rest = s
        .strip_prefix("tcp://")
        .ok_or_else(|| bad("only tcp:// is supported"))?;
    let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("no :PORT"))?;
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            host == "*"
                || (!host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)))
        }
    };
    if !host_ok {
        return Err(bad("bad host"));
    }
    if port != "*" && port.parse::<u16>().is_err() {
        return Err(bad("the port must be a number from 0 to 65535, or *"));
    }
    Ok(())
}

impl NodeFile {
    /// Checks the file as written and resolves it; errors point into the file by `cx`.
    pub(super) fn check(self, cx: &Ctx) -> Result<NodeSettings, ConfigError> {
        let f = &self;
        if f.id > u32::from(u16::MAX) {
            return Err(cx.invalid(&["id"], format!("{} {} does not fit in 16 bits (compact votes carry u16 node ids; maximum 65535)", cx.name("id"), f.id)));
        }
        check_endpoint(&f.listen)
            .map_err(|m| cx.invalid(&["listen"], format!("{}: {m}", cx.name("listen"))))?;
        if let Some(feed) = &f.feed {
            check_endpoint(feed)
                .map_err(|m| cx.invalid(&["feed"], format!("{}: {m}", cx.name("feed"))))?;
        }
        for (i, a) in f.feed_connect.iter().enumerate() {
            check_endpoint(a).map_err(|m| {
                cx.invalid(
                    &[&format!("feed_connect.{i}")],
                    format!("{}: {m}", cx.name("feed_connect")),
                )
            })?;
        }
        let params = f.params.resolve().and_then(|p| p.validate().map(|()| p));
        let params = params.map_err(|e| {
            let key = e.field();
            cx.invalid(
                &[&format!("params.{key}"), "params"],
                format!("{}: {e}", cx.name("params")),
            )
        })?;
        let blocks: Vec<u16> = match (f.choices, &f.blocks) {
            (Some(_), Some(_)) => {
                return Err(cx.invalid(
                    &["blocks"],
                    format!(
                        "give either {} or {}, not both",
                        cx.name("choices"),
                        cx.name("blocks")
                    ),
                ))
            }
            (Some(n), None) if !(1..=65536).contains(&n) => {
                return Err(cx.invalid(
                    &["choices"],
                    format!(
                        "{} ({n}) must be between 1 and 65536 (block ids are u16)",
                        cx.name("choices")
                    ),
                ))
            }
            (Some(n), None) => (0..n).map(|c| c as u16).collect(),
            (None, None) => vec![0, 1],
            (None, Some(b)) => {
                let mut seen = BTreeSet::new();
                for (i, &id) in b.iter().enumerate() {
                    let at = [format!("blocks.{i}")];
                    let at = [at[0].as_str(), "blocks"];
                    if id > u32::from(u16::MAX) {
                        return Err(cx.invalid(
                            &at,
                            format!("block id {id} does not fit in 16 bits (maximum 65535)"),
                        ));
                    }
                    if !seen.insert(id) {
                        return Err(cx.invalid(&at, format!("block id {id} is listed twice")));
                    }
                }
                if b.is_empty() {
                    return Err(cx.invalid(
                        &["blocks"],
                        format!("{} must name at least one block", cx.name("blocks")),
                    ));
                }
                b.iter().map(|&id| id as u16).collect()
            }
        };
        if f.initial >= blocks.len() {
            return Err(cx.invalid(
                &["initial"],
                format!(
                    "{} ({}) must be a choice index below {}",
                    cx.name("initial"),
                    f.initial,
                    blocks.len()
                ),
            ));
        }
        if f.poll_timeout.is_zero() {
            return Err(cx.invalid(
                &["poll_timeout"],
                format!("{} must be greater than 0", cx.name("poll_timeout")),
            ));
        }
        if let Some(b) = &f.byzantine {
            if b.target >= blocks.len() {
                return Err(cx.invalid(
                    &["byzantine.target"],
                    format!(
                        "byzantine.target ({}) must be a choice index below {}",
                        b.target,
                        blocks.len()
                    ),
                ));
            }
        }
        if let Some(l) = &f.ledger {
            super::ledger_config::check_ledger(f, l, cx)?;
        }
        let stake_ok = |s: f64| s.is_finite() && s >= 0.0;
        if !stake_ok(f.stake) {
            return Err(cx.invalid(
                &["stake"],
                format!(
                    "{} ({}) must be a finite number >= 0",
                    cx.name("stake"),
                    f.stake
                ),
            ));
        }
        let keys = match &f.secret_key {
            Some(k) => Some(Keys::from_secret_z85(k).map_err(|e| {
                cx.invalid(&["secret_key"], format!("{}: {e}", cx.name("secret_key")))
            })?),
            None => None,
        };
        let mut validators = vec![(f.id, f.stake, keys.as_ref().map(Keys::public))];
        for (i, p) in f.peers.iter().enumerate() {
            let at = |key: &str| format!("peers.{i}.{key}");
            if p.id > u32::from(u16::MAX) {
                return Err(cx.invalid(
                    &[&at("id")],
                    format!("peer id {} does not fit in 16 bits (maximum 65535)", p.id),
                ));
            }
            if p.id == f.id {
                return Err(cx.invalid(
                    &[&at("id")],
                    format!("peer id {} is this node's own id", p.id),
                ));
            }
            if validators.iter().any(|v| v.0 == p.id) {
                return Err(cx.invalid(&[&at("id")], format!("peer id {} is listed twice", p.id)));
            }
            check_endpoint(&p.address).map_err(|m| {
                cx.invalid(
                    &[&at("address")],
                    format!("{}: {m}", cx.name("peers.address")),
                )
            })?;
            if !stake_ok(p.stake) {
                return Err(cx.invalid(
                    &[&at("stake")],
                    format!("peer stake ({}) must be a finite number >= 0", p.stake),
                ));
            }
            let public = match (&p.public_key, &keys) {
                (Some(k), Some(_)) => Some(Key::from_z85(k).map_err(|e| {
                    cx.invalid(
                        &[&at("public_key")],
                        format!("{}: {e}", cx.name("peers.public_key")),
                    )
                })?),
                (None, Some(_)) => {
                    return Err(cx.invalid(
                        &[&at("id")],
                        format!(
                            "peer {} has no public_key: with a {}, every peer needs one",
                            p.id,
                            cx.name("secret_key")
                        ),
                    ))
                }
                (Some(_), None) => {
                    return Err(cx.invalid(
                        &[&at("public_key")],
                        format!(
                            "a peer's public_key needs this node's own {} (luxsim keygen)",
                            cx.name("secret_key")
                        ),
                    ))
                }
                (None, None) => None,
            };
            if public.is_some() && validators.iter().any(|v| v.2 == public) {
                return Err(cx.invalid(
                    &[&at("public_key")],
                    format!("peer {}'s public_key is another validator's", p.id),
                ));
            }
            validators.push((p.id, p.stake, public));
        }
        let sampleable: f64 = validators
            .iter()
            .filter(|v| f.self_sample || v.0 != f.id)
            .map(|v| v.1)
            .sum();
        if sampleable <= 0.0 {
            return Err(cx.invalid(
                &["peers", "id"],
                "no stake to sample: add peers with positive stake",
            ));
        }
        validators.sort_by_key(|v| v.0);
        let stakes: Vec<f64> = validators.iter().map(|v| v.1).collect();
        if let Err(e) = StakeSampler::new(&stakes, f.sampling, f.stake_unit) {
            return Err(cx.invalid(&["stake_unit", "stake"], e.to_string()));
        }
        if let Some(l) = &f.ledger {
            for (i, p) in l.proposers.iter().enumerate() {
                if !validators.iter().any(|v| v.0 == *p) {
                    return Err(cx.invalid(
                        &[&format!("ledger.proposers.{i}"), "ledger.proposers"],
                        format!(
                            "{}: {p} is neither this node nor a peer",
                            cx.name("ledger.proposers")
                        ),
                    ));
                }
            }
        }
        Ok(NodeSettings {
            params,
            blocks,
            validators: validators.iter().map(|v| v.0).collect(),
            stakes,
            public_keys: validators.iter().map(|v| v.2).collect(),
            keys,
            file: self,
        })
    }
}
