//! Per-node features and the vote matrix, read from a run's `messages` trace.
//!
//! The trace is read twice, streaming: the first pass collects what is known only later
//! (each node's decision, each poll's top choice, the run's last time), the second every
//! query and answer. Memory is the features (one row a node), the matrix (nodes x
//! buckets), the polls' top choices and the queries still waiting for an answer, never the
//! trace itself.
//!
//! What an answerer is judged by is what its queriers received: delivered `query` and
//! `answer` rows. A lost answer looks, to the querier, like no answer at all, so loss
//! lowers every node's response rate alike.

use super::AnalysisError;
use rustc_hash::FxHashMap;
use std::path::Path;

/// How the trace is cut up: the equivocation window and the matrix's time buckets.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Two answers of one node to different queriers at most this far apart (ns) are
    /// "at nearly the same time".
    pub window_ns: u64,
    /// Columns of the vote matrix: the run's time cut into this many equal buckets.
    pub buckets: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            window_ns: 50_000_000,
            buckets: 64,
        }
    }
}

/// What one node did, as an answerer (first) and as a querier; counts, not rates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeFeatures {
    /// Queries delivered to it.
    pub queries_received: u64,
    /// Answers it sent that were delivered.
    pub answers: u64,
    /// Of those, answers to a querier that decided.
    pub to_deciders: u64,
    /// Of those, answers equal to that querier's final decision.
    pub agree_decision: u64,
    /// Answers to a poll the querier recorded.
    pub to_recorded_polls: u64,
    /// Of those, answers equal to that poll's top choice (the sampled majority).
    pub agree_poll: u64,
    /// Answers sent once half the honest deciders had decided (the run's median decision
    /// time), when honest answerers have mostly converged.
    pub late_answers: u64,
    /// Of those, answers equal to the run's decision.
    pub agree_late: u64,
    /// Consecutive answers (in time) that differ.
    pub flips: u64,
    /// Consecutive answers to different queriers within the window.
    pub close_pairs: u64,
    /// Of those, pairs whose answers differ.
    pub contradictions: u64,
    /// Sum over its answers of the answer's arrival at the querier minus the query's
    /// arrival at it (ns): how long a querier waited once its query had landed.
    pub response_ns_sum: u128,
    /// Longest such wait (ns).
    pub response_ns_max: u64,
    /// Sum of the one-way latency its answers met (ns).
    pub latency_ns_sum: u128,
    /// Queries it sent (delivered or not).
    pub queries_sent: u64,
    /// Polls it recorded.
    pub polls: u64,
    /// Sum of the answers its recorded polls got.
    pub poll_answers: u64,
    /// Its decision: choice and time (ns).
    pub decided: Option<(u32, u64)>,
}

impl NodeFeatures {
    /// Answers over queries received (None without queries).
    pub fn response_rate(&self) -> Option<f64> {
        ratio(self.answers, self.queries_received)
    }
    /// Share of its answers equal to the querier's final decision.
    pub fn agree_decision_rate(&self) -> Option<f64> {
        ratio(self.agree_decision, self.to_deciders)
    }
    /// Share of its answers equal to the top choice of the poll they went to.
    pub fn agree_poll_rate(&self) -> Option<f64> {
        ratio(self.agree_poll, self.to_recorded_polls)
    }
    /// Share of its late answers equal to the run's decision.
    pub fn agree_late_rate(&self) -> Option<f64> {
        ratio(self.agree_late, self.late_answers)
    }
    /// Flips over consecutive answer pairs.
    pub fn flip_rate(&self) -> Option<f64> {
        ratio(self.flips, self.answers.saturating_sub(1))
    }
    /// Contradictions over close pairs.
    pub fn contradiction_rate(&self) -> Option<f64> {
        ratio(self.contradictions, self.close_pairs)
    }
    /// Mean wait from a query's arrival at the node to its answer's arrival back, in ms.
    pub fn response_ms(&self) -> Option<f64> {
        (self.answers > 0).then(|| self.response_ns_sum as f64 / self.answers as f64 / 1e6)
    }
    /// Mean one-way latency of its answers, in ms.
    pub fn answer_latency_ms(&self) -> Option<f64> {
        (self.answers > 0).then(|| self.latency_ns_sum as f64 / self.answers as f64 / 1e6)
    }
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Answerer x time-bucket matrix: +1 for each delivered answer equal to the run's decision,
/// -1 for each other one. Row-major, `nodes * buckets`.
#[derive(Debug, Clone, PartialEq)]
pub struct VoteMatrix {
    /// Rows (nodes).
    pub nodes: usize,
    /// Columns (time buckets).
    pub buckets: usize,
    /// Width of a bucket in ns (the last one also holds the run's last instant).
    pub bucket_ns: u64,
    /// The cells.
    pub cells: Vec<i32>,
}

/// Everything read from one trace.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// One row per node id.
    pub nodes: Vec<NodeFeatures>,
    /// The vote matrix.
    pub matrix: VoteMatrix,
    /// The choice most honest deciders decided (None if nobody decided).
    pub decision: Option<u32>,
    /// The median decision time of the honest deciders (ns): answers from then on are late.
    pub half_decided_ns: Option<u64>,
    /// The last time in the trace (ns).
    pub end_ns: u64,
    /// Rows read.
    pub rows: u64,
    /// Answers whose query was not in the trace (kept in `answers`, no response time).
    pub unmatched_answers: u64,
}

/// The columns of a trace row this module reads.
struct Columns {
    time: usize,
    node: usize,
    kind: usize,
    peer: usize,
    request: usize,
    choice: usize,
    answers: Option<usize>,
    latency: Option<usize>,
}

impl Columns {
    fn of(path: &Path, header: &csv::ByteRecord) -> Result<Columns, AnalysisError> {
        let find = |name: &str| header.iter().position(|h| h == name.as_bytes());
        let need = |name: &str| {
            find(name).ok_or_else(|| AnalysisError::Trace {
                path: path.to_path_buf(),
                line: 1,
                message: format!("no `{name}` column: this is not a luxsim trace.csv"),
            })
        };
        Ok(Columns {
            time: need("time_ns")?,
            node: need("node")?,
            kind: need("kind")?,
            peer: need("peer")?,
            request: need("request")?,
            choice: need("choice")?,
            answers: find("answers"),
            latency: find("latency_ns"),
        })
    }
}

/// One parsed row; `None` fields were empty.
struct Row<'a> {
    time: u64,
    node: u32,
    kind: &'a [u8],
    peer: Option<u32>,
    request: Option<u32>,
    choice: Option<u32>,
    answers: Option<u64>,
    latency: Option<u64>,
}

/// Streams the rows of `path`, calling `f` with each and its line.
fn each_row(
    path: &Path,
    mut f: impl FnMut(&Row<'_>, u64) -> Result<(), AnalysisError>,
) -> Result<u64, AnalysisError> {
    let read_err = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        AnalysisError::Trace {
            path: path.to_path_buf(),
            line,
            message: e.to_string(),
        }
    };
    let file = std::fs::File::open(path).map_err(|source| AnalysisError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    let header = r.byte_headers().map_err(read_err)?.clone();
    let c = Columns::of(path, &header)?;
    let mut rec = csv::ByteRecord::new();
    let mut rows = 0;
    while r.read_byte_record(&mut rec).map_err(read_err)? {
        let line = rec.position().map_or(0, |p| p.line());
        let bad = |column: &str, field: &[u8]| AnalysisError::Trace {
            path: path.to_path_buf(),
            line,
            message: format!(
                "column `{column}`: `{}` is not a non-negative integer",
                String::from_utf8_lossy(field)
            ),
        };
        let field = |i: usize| rec.get(i).unwrap_or(b"");
        let opt = |i: usize, column: &str| -> Result<Option<u64>, AnalysisError> {
            let s = field(i);
            if s.is_empty() {
                return Ok(None);
            }
            parse_u64(s).map(Some).ok_or_else(|| bad(column, s))
        };
        let opt32 = |i: usize, column: &str| -> Result<Option<u32>, AnalysisError> {
            match opt(i, column)? {
                None => Ok(None),
                Some(v) => u32::try_from(v)
                    .map(Some)
                    .map_err(|_| bad(column, field(i))),
            }
        };
        let time = opt(c.time, "time_ns")?.ok_or_else(|| bad("time_ns", b""))?;
        let node = opt32(c.node, "node")?.ok_or_else(|| bad("node", b""))?;
        let row = Row {
            time,
            node,
            kind: field(c.kind),
            peer: opt32(c.peer, "peer")?,
            request: opt32(c.request, "request")?,
            choice: opt32(c.choice, "choice")?,
            answers: match c.answers {
                Some(i) => opt(i, "answers")?,
                None => None,
            },
            latency: match c.latency {
                Some(i) => opt(i, "latency_ns")?,
                None => None,
            },
        };
        f(&row, line)?;
        rows += 1;
    }
    Ok(rows)
}

fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// Reads the features and vote matrix of the trace at `path`, for `nodes` nodes of which
/// `honest[i]` says which are honest (the run's decision is the honest deciders' majority).
pub fn extract(path: &Path, honest: &[bool], opts: Options) -> Result<Extracted, AnalysisError> {
    let n = honest.len();
    let out_of_range = |line: u64, id: u32| AnalysisError::Trace {
        path: path.to_path_buf(),
        line,
        message: format!("node {id} is not in nodes.csv ({n} nodes)"),
    };
    let mut nodes = vec![NodeFeatures::default(); n];
    let mut tops: FxHashMap<(u32, u32), u32> = FxHashMap::default();
    let mut end_ns = 0;
    let mut messages = false;
    // Pass 1: decisions, poll tops, the end.
    each_row(path, |r, line| {
        end_ns = end_ns.max(r.time);
        if r.node as usize >= n {
            return Err(out_of_range(line, r.node));
        }
        match r.kind {
            b"decide" => {
                let choice = r
                    .choice
                    .ok_or_else(|| missing(path, line, "decide", "choice"))?;
                nodes[r.node as usize].decided = Some((choice, r.time));
            }
            b"poll" => {
                let request = r
                    .request
                    .ok_or_else(|| missing(path, line, "poll", "request"))?;
                if let Some(top) = r.choice {
                    tops.insert((r.node, request), top);
                }
            }
            b"query" | b"answer" => messages = true,
            b"propose" | b"accept" | b"reject" | b"push" | b"get" | b"put" => {
                return Err(AnalysisError::Ledger {
                    path: path.to_path_buf(),
                    line,
                })
            }
            _ => {}
        }
        Ok(())
    })?;
    if !messages {
        return Err(AnalysisError::NoMessages {
            path: path.to_path_buf(),
        });
    }
    let decision = majority(&nodes, honest);
    let half_decided_ns = median_decision(&nodes, honest);
    let buckets = opts.buckets.max(1);
    let bucket_ns = (end_ns / buckets as u64).max(1) + 1;
    let mut cells = vec![0i32; n * buckets];
    // Queries delivered and not yet answered: (querier, request, answerer) -> arrival.
    let mut waiting: FxHashMap<(u32, u32, u32), u64> = FxHashMap::default();
    // Each answerer's previous answer: (time, querier, choice).
    let mut last: Vec<Option<(u64, u32, u32)>> = vec![None; n];
    let mut unmatched = 0;
    let rows = each_row(path, |r, line| {
        match r.kind {
            b"query" | b"lost" | b"cut" if r.choice.is_none() => {
                let peer = r.peer.ok_or_else(|| missing(path, line, "query", "peer"))?;
                let request = r
                    .request
                    .ok_or_else(|| missing(path, line, "query", "request"))?;
                if peer as usize >= n {
                    return Err(out_of_range(line, peer));
                }
                nodes[r.node as usize].queries_sent += 1;
                if r.kind == b"query" {
                    nodes[peer as usize].queries_received += 1;
                    let arrival = r.time + r.latency.unwrap_or(0);
                    waiting.insert((r.node, request, peer), arrival);
                }
            }
            b"answer" => {
                let q = r
                    .peer
                    .ok_or_else(|| missing(path, line, "answer", "peer"))?;
                let request = r
                    .request
                    .ok_or_else(|| missing(path, line, "answer", "request"))?;
                let choice = r
                    .choice
                    .ok_or_else(|| missing(path, line, "answer", "choice"))?;
                if q as usize >= n {
                    return Err(out_of_range(line, q));
                }
                let a = r.node as usize;
                let querier_decided = nodes[q as usize].decided.map(|(d, _)| d);
                let f = &mut nodes[a];
                f.answers += 1;
                f.latency_ns_sum += u128::from(r.latency.unwrap_or(0));
                match waiting.remove(&(q, request, r.node)) {
                    Some(arrival) => {
                        let landed = r.time + r.latency.unwrap_or(0);
                        let wait = landed.saturating_sub(arrival);
                        f.response_ns_sum += u128::from(wait);
                        f.response_ns_max = f.response_ns_max.max(wait);
                    }
                    None => unmatched += 1,
                }
                if let Some(top) = tops.get(&(q, request)) {
                    f.to_recorded_polls += 1;
                    f.agree_poll += u64::from(*top == choice);
                }
                if let Some(d) = querier_decided {
                    f.to_deciders += 1;
                    f.agree_decision += u64::from(d == choice);
                }
                if let Some((t, prev_q, prev_c)) = last[a] {
                    f.flips += u64::from(prev_c != choice);
                    if prev_q != q && r.time.saturating_sub(t) <= opts.window_ns {
                        f.close_pairs += 1;
                        f.contradictions += u64::from(prev_c != choice);
                    }
                }
                last[a] = Some((r.time, q, choice));
                if let (Some(d), Some(half)) = (decision, half_decided_ns) {
                    if r.time >= half {
                        f.late_answers += 1;
                        f.agree_late += u64::from(choice == d);
                    }
                }
                if let Some(d) = decision {
                    let b = ((r.time / bucket_ns) as usize).min(buckets - 1);
                    cells[a * buckets + b] += if choice == d { 1 } else { -1 };
                }
            }
            b"poll" => {
                let f = &mut nodes[r.node as usize];
                f.polls += 1;
                f.poll_answers += r.answers.unwrap_or(0);
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(Extracted {
        nodes,
        matrix: VoteMatrix {
            nodes: n,
            buckets,
            bucket_ns,
            cells,
        },
        decision,
        half_decided_ns,
        end_ns,
        rows,
        unmatched_answers: unmatched,
    })
}

fn missing(path: &Path, line: u64, kind: &str, column: &str) -> AnalysisError {
    AnalysisError::Trace {
        path: path.to_path_buf(),
        line,
        message: format!("a `{kind}` row without `{column}`"),
    }
}

/// The choice most honest deciders decided; ties go to the smaller choice.
fn majority(nodes: &[NodeFeatures], honest: &[bool]) -> Option<u32> {
    let mut counts: Vec<u64> = Vec::new();
    for (f, _) in nodes.iter().zip(honest).filter(|(_, &h)| h) {
        if let Some((c, _)) = f.decided {
            let c = c as usize;
            if counts.len() <= c {
                counts.resize(c + 1, 0);
            }
            counts[c] += 1;
        }
    }
    let best = counts.iter().copied().max()?;
    (best > 0).then(|| counts.iter().position(|&c| c == best).unwrap_or(0) as u32)
}

/// The median decision time of the honest nodes that decided (the lower middle one).
fn median_decision(nodes: &[NodeFeatures], honest: &[bool]) -> Option<u64> {
    let mut t: Vec<u64> = nodes
        .iter()
        .zip(honest)
        .filter(|(_, &h)| h)
        .filter_map(|(f, _)| f.decided.map(|(_, t)| t))
        .collect();
    t.sort_unstable();
    t.get(t.len().saturating_sub(1) / 2).copied()
}
