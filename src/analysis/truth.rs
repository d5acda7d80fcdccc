//! Reading `nodes.csv` (`sim::ground_truth`), the truth a detector is scored against.

use super::AnalysisError;
use std::path::Path;

/// Who each node was: indexed by node id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Truth {
    /// Whether node i was Byzantine.
    pub byzantine: Vec<bool>,
    /// Its strategy ("" for honest nodes).
    pub strategy: Vec<String>,
    /// Its share of the stake.
    pub stake: Vec<f64>,
}

impl Truth {
    /// The strategies present, sorted.
    pub fn strategies(&self) -> Vec<String> {
        let mut s: Vec<String> = self
            .strategy
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect();
        s.sort();
        s.dedup();
        s
    }
}

/// Reads `nodes.csv` at `path`; ids must be 0, 1, 2, ... in order.
pub fn read_truth(path: &Path) -> Result<Truth, AnalysisError> {
    let bad = |line: u64, message: String| AnalysisError::Truth {
        path: path.to_path_buf(),
        line,
        message,
    };
    let file = std::fs::File::open(path).map_err(|source| AnalysisError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut r = csv::Reader::from_reader(std::io::BufReader::new(file));
    let header = r
        .headers()
        .map_err(|e| bad(1, e.to_string()))?
        .iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            bad(
                1,
                format!("no `{name}` column: this is not a luxsim nodes.csv"),
            )
        })
    };
    let (id, stake, byz, strategy) = (
        col("id")?,
        col("stake")?,
        col("byzantine")?,
        col("strategy")?,
    );
    let mut t = Truth::default();
    for rec in r.records() {
        let rec = rec.map_err(|e| bad(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = rec.position().map_or(0, |p| p.line());
        let get = |i: usize| rec.get(i).unwrap_or("");
        let expect = t.byzantine.len();
        match get(id).parse::<usize>() {
            Ok(v) if v == expect => {}
            _ => return Err(bad(line, format!("id `{}`: expected {expect}", get(id)))),
        }
        let b = match get(byz) {
            "true" => true,
            "false" => false,
            other => {
                return Err(bad(
                    line,
                    format!("byzantine `{other}`: expected true or false"),
                ))
            }
        };
        let s: f64 = get(stake)
            .parse()
            .map_err(|_| bad(line, format!("stake `{}` is not a number", get(stake))))?;
        t.byzantine.push(b);
        t.strategy.push(get(strategy).to_owned());
        t.stake.push(s);
    }
    if t.byzantine.is_empty() {
        return Err(bad(1, "no nodes".into()));
    }
    Ok(t)
}
