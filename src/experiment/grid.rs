//! The grid of a sweep: `--vary KEY=VALUES` axes, value lists and ranges, and the points.
//!
//! An axis is a scenario key path and its values, each kept as a *label*: the text written
//! in the CSV files. A label becomes a `--set`-style override: numbers and booleans stay
//! TOML numbers and booleans, any other text becomes a TOML string (`20ms` -> `"20ms"`).
//! The grid is the product of the axes, the first axis outermost.

use super::ExperimentError;
use serde::{Deserialize, Serialize};
use toml::{Table, Value};

/// Most values one axis may have.
const MAX_VALUES: usize = 100_000;

/// One varied key and its values, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// The scenario key path, e.g. `params.k`.
    pub key: String,
    /// The values as written in the CSV files, e.g. `10`, `0.15`, `20ms`.
    pub values: Vec<String>,
}

impl Axis {
    /// Parses `KEY=VALUES`: VALUES is a comma list of values and `START..END:STEP` ranges.
    pub fn parse(arg: &str) -> Result<Axis, ExperimentError> {
        let bad = |m: String| ExperimentError::BadVary {
            arg: arg.to_string(),
            message: m,
        };
        let (key, list) = arg
            .split_once('=')
            .ok_or_else(|| bad("expected KEY=VALUES, e.g. params.k=10,20,30".into()))?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(|s| s.trim().is_empty()) {
            return Err(bad("empty key or key segment".into()));
        }
        if key == "seed" {
            return Err(bad(
                "the seed cannot be varied: --seeds N runs seeds seed..seed+N-1 \
                 (set the first with --set seed=S)"
                    .into(),
            ));
        }
        let mut values: Vec<String> = Vec::new();
        for item in list.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(bad(
                    "empty value (values are separated by single commas)".into()
                ));
            }
            let new = if item.contains("..") {
                expand_range(item).map_err(&bad)?
            } else {
                vec![item.to_string()]
            };
            for v in new {
                if values.contains(&v) {
                    return Err(bad(format!("value {v} given twice")));
                }
                values.push(v);
                if values.len() > MAX_VALUES {
                    return Err(bad(format!("more than {MAX_VALUES} values")));
                }
            }
        }
        Ok(Axis {
            key: key.to_string(),
            values,
        })
    }

    /// The `--set` override for value `i`: `key=literal`.
    pub fn override_for(&self, i: usize) -> String {
        format!("{}={}", self.key, toml_literal(&self.values[i]))
    }
}

/// The TOML text for a label: numbers and booleans as they are, anything else as a string.
pub fn toml_literal(label: &str) -> String {
    let literal = match format!("v = {label}").parse::<Table>() {
        Ok(t) => {
            t.len() == 1
                && matches!(
                    t.get("v"),
                    Some(Value::Integer(_) | Value::Float(_) | Value::Boolean(_))
                )
        }
        Err(_) => false,
    };
    if literal {
        label.to_string()
    } else {
        Value::String(label.to_string()).to_string()
    }
}

/// Expands `START..END:STEP` (end included when it lands on a step).
fn expand_range(item: &str) -> Result<Vec<String>, String> {
    let form = || format!("bad range {item:?}: expected START..END:STEP, e.g. 0..0.3:0.05");
    let (start, rest) = item.split_once("..").ok_or_else(form)?;
    let (end, step) = rest.split_once(':').ok_or_else(form)?;
    let (start, end, step) = (start.trim(), end.trim(), step.trim());
    if let (Ok(a), Ok(b), Ok(s)) = (
        start.parse::<i64>(),
        end.parse::<i64>(),
        step.parse::<i64>(),
    ) {
        check_order(a <= b, s > 0, item)?;
        let count = (b as i128 - a as i128) / s as i128 + 1;
        check_count(count as f64, item)?;
        return Ok((0..count as i64).map(|i| (a + i * s).to_string()).collect());
    }
    let num = |t: &str| match t.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!("bad range {item:?}: {t:?} is not a finite number")),
    };
    let (a, b, s) = (num(start)?, num(end)?, num(step)?);
    check_order(a <= b, s > 0.0, item)?;
    let steps = ((b - a) / s + 1e-9).floor();
    check_count(steps + 1.0, item)?;
    let decimals = decimals(start).max(decimals(step)).min(15);
    Ok((0..=steps as usize)
        .map(|i| format_minimal(a + i as f64 * s, decimals))
        .collect())
}

fn check_order(ordered: bool, positive: bool, item: &str) -> Result<(), String> {
    if !positive {
        return Err(format!("bad range {item:?}: the step must be > 0"));
    }
    if !ordered {
        return Err(format!("bad range {item:?}: START must be <= END"));
    }
    Ok(())
}

fn check_count(count: f64, item: &str) -> Result<(), String> {
    if count > MAX_VALUES as f64 {
        return Err(format!("bad range {item:?}: more than {MAX_VALUES} values"));
    }
    Ok(())
}

/// Decimal places a number as written needs: `0.05` -> 2, `1e-3` -> 3, `2.5e1` -> 0.
fn decimals(text: &str) -> usize {
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (text, 0),
    };
    let frac = mantissa.split_once('.').map_or(0, |(_, f)| f.len()) as i64;
    (frac - exp).max(0) as usize
}

/// `x` rounded to `decimals` places, without trailing zeros: 0.15000000000000002 -> `0.15`.
pub fn format_minimal(x: f64, decimals: usize) -> String {
    let mut s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.truncate(s.trim_end_matches('0').trim_end_matches('.').len());
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// The product of the axes: points in order, the first axis outermost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    /// The axes, in `--vary` order.
    pub axes: Vec<Axis>,
}

impl Grid {
    /// A grid over `axes`; two axes on one key are an error.
    pub fn new(axes: Vec<Axis>) -> Result<Grid, ExperimentError> {
        for (i, a) in axes.iter().enumerate() {
            if axes[..i].iter().any(|b| b.key == a.key) {
                return Err(ExperimentError::BadVary {
                    arg: a.key.clone(),
                    message: "the key is varied twice".into(),
                });
            }
        }
        Ok(Grid { axes })
    }

    /// Number of points (1 when nothing is varied); `None` on overflow.
    pub fn points(&self) -> Option<usize> {
        self.axes
            .iter()
            .try_fold(1usize, |n, a| n.checked_mul(a.values.len()))
    }

    /// The value index on each axis of point `p`.
    fn indices(&self, mut p: usize) -> Vec<usize> {
        let mut idx = vec![0; self.axes.len()];
        for (slot, axis) in idx.iter_mut().zip(&self.axes).rev() {
            *slot = p % axis.values.len();
            p /= axis.values.len();
        }
        idx
    }

    /// The labels of point `p`, one per axis.
    pub fn labels(&self, p: usize) -> Vec<String> {
        let idx = self.indices(p);
        self.axes
            .iter()
            .zip(idx)
            .map(|(a, i)| a.values[i].clone())
            .collect()
    }

    /// The `--set` overrides of point `p`, one per axis.
    pub fn overrides(&self, p: usize) -> Vec<String> {
        let idx = self.indices(p);
        self.axes
            .iter()
            .zip(idx)
            .map(|(a, i)| a.override_for(i))
            .collect()
    }

    /// `key=label` pairs of point `p`, for messages.
    pub fn describe(&self, p: usize) -> String {
        let labels = self.labels(p);
        let pairs: Vec<String> = self
            .axes
            .iter()
            .zip(&labels)
            .map(|(a, v)| format!("{}={v}", a.key))
            .collect();
        if pairs.is_empty() {
            "the scenario".into()
        } else {
            pairs.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(arg: &str) -> Vec<String> {
        Axis::parse(arg).unwrap().values
    }

    #[test]
    fn lists_and_ranges() {
        assert_eq!(values("params.k=10,20, 30"), ["10", "20", "30"]);
        assert_eq!(
            values("byzantine.fraction=0..0.3:0.05"),
            ["0", "0.05", "0.1", "0.15", "0.2", "0.25", "0.3"]
        );
        assert_eq!(values("params.k=10..30:10"), ["10", "20", "30"]);
        assert_eq!(values("params.k=10..35:10"), ["10", "20", "30"]);
        assert_eq!(values("x=0.1..0.7:0.2"), ["0.1", "0.3", "0.5", "0.7"]);
        assert_eq!(values("x=1e-3..3e-3:1e-3"), ["0.001", "0.002", "0.003"]);
        assert_eq!(values("x=-0.1..0.1:0.1"), ["-0.1", "0", "0.1"]);
        assert_eq!(values("x=5..5:1"), ["5"]);
        assert_eq!(values("x=1,5..7:1"), ["1", "5", "6", "7"]);
    }

    #[test]
    fn bad_axes() {
        for arg in [
            "params.k",
            "=1,2",
            "params..k=1",
            "params.k=",
            "params.k=1,,2",
            "params.k=1,1",
            "params.k=3..1:1",
            "params.k=1..3:0",
            "params.k=1..3",
            "params.k=a..b:1",
            "params.k=0..1e9:1",
            "seed=1,2",
        ] {
            assert!(Axis::parse(arg).is_err(), "{arg} was accepted");
        }
    }

    #[test]
    fn literals() {
        assert_eq!(toml_literal("10"), "10");
        assert_eq!(toml_literal("0.15"), "0.15");
        assert_eq!(toml_literal("true"), "true");
        assert_eq!(toml_literal("20ms"), "\"20ms\"");
        assert_eq!(toml_literal("silent"), "\"silent\"");
        assert_eq!(toml_literal("a\"b"), "'a\"b'");
    }

    #[test]
    fn grid_order_first_axis_outermost() {
        let g = Grid::new(vec![
            Axis::parse("a=1,2").unwrap(),
            Axis::parse("b=x,y,z").unwrap(),
        ])
        .unwrap();
        assert_eq!(g.points(), Some(6));
        assert_eq!(g.labels(0), ["1", "x"]);
        assert_eq!(g.labels(1), ["1", "y"]);
        assert_eq!(g.labels(3), ["2", "x"]);
        assert_eq!(g.overrides(5), ["a=2", "b=\"z\""]);
        assert_eq!(Grid::new(vec![]).unwrap().points(), Some(1));
        let twice = vec![Axis::parse("a=1").unwrap(), Axis::parse("a=2").unwrap()];
        assert!(Grid::new(twice).is_err());
    }
}
