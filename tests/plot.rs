//! `luxsim::plot`: run and sweep figures as SVG and PNG, the network graph as DOT, and
//! `report.html`, from small runs made here with `luxsim::sim::run`.

use luxsim::plot::{self, PlotError};
use luxsim::sim::{self, RunOptions, Scenario, TraceFormat, TraceLevel};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const SCENARIO: &str = r#"
name = "plot-test"
seed = 5
max_time = "30s"

[params]
k = 10
alpha_preference = 7
alpha_confidence = 7
beta = 8

[network]
nodes = 120
latency = { model = "constant", value = "20ms" }

[workload]
choices = 2
initial = [0.5, 0.5]

[byzantine]
count = 12
strategy = "stubborn"
target = 1
"#;

/// A fresh directory under the system temp dir.
fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("luxsim-plot-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the test scenario into a fresh directory at this trace level and format.
fn run_into(name: &str, trace: TraceLevel, format: TraceFormat) -> PathBuf {
    let dir = temp(name);
    let scenario = Scenario::parse(SCENARIO, "plot-test.toml", &[]).unwrap();
    let opts = RunOptions {
        out_dir: Some(dir.clone()),
        trace,
        format,
        progress: false,
        stop_on_signal: false,
    };
    sim::run(&scenario, &opts).unwrap();
    dir
}

/// The run shared by most tests: a CSV trace with polls.
fn polls_run() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| run_into("polls", TraceLevel::Polls, TraceFormat::Csv))
}

fn summary(dir: &Path) -> sim::Summary {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// Checks that `text` is well-formed XML (every tag closed in order, quotes balanced) and
/// returns the names of its elements in document order.
fn xml_elements(text: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut elements = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        assert!(
            !rest[..start].contains('>'),
            "stray '>' in text: {:?}",
            &rest[..start]
        );
        let end = rest[start..].find('>').expect("unclosed tag") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{tag}>"
        );
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name.trim(), "</{name}> closes <{open}>");
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect();
        assert!(!name.is_empty(), "empty tag name");
        elements.push(name.clone());
        if !tag.ends_with('/') {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    elements
}

/// The text content of `<text>` elements, trimmed.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

/// Checks the PNG signature, walks every chunk (lengths and CRCs) up to IEND and returns
/// the width and height its IHDR declares.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let crc = |data: &[u8]| {
        let mut c = 0xFFFF_FFFFu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    };
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (mut at, mut size, mut idat) = (8, None, 0usize);
    loop {
        let len = be(&bytes[at..]) as usize;
        let kind = &bytes[at + 4..at + 8];
        let data = &bytes[at + 8..at + 8 + len];
        assert_eq!(
            be(&bytes[at + 8 + len..]),
            crc(&bytes[at + 4..at + 8 + len])
        );
        match kind {
            b"IHDR" => {
                assert_eq!(len, 13);
                assert!(size.is_none(), "IHDR first and once");
                size = Some((be(data), be(&data[4..])));
            }
            b"IDAT" => idat += len,
            b"IEND" => break,
            _ => {}
        }
        assert!(size.is_some(), "IHDR must come first");
        at += 12 + len;
    }
    assert_eq!(at + 12, bytes.len(), "IEND is the last chunk");
    assert!(idat > 0, "image data present");
    size.unwrap()
}

#[test]
fn run_plot_as_svg_has_both_panels_and_every_series() {
    let dir = polls_run();
    let s = summary(dir);
    let out = dir.join("figure.svg");
    assert_eq!(plot::plot(dir, Some(&out)).unwrap(), vec![out.clone()]);
    let svg = std::fs::read_to_string(&out).unwrap();
    let elements = xml_elements(&svg);
    assert_eq!(elements[0], "svg");
    assert!(svg.contains(r#"width="1000" height="1080""#));
    let labels = texts(&svg);
    // Progress: one line per choice from the polls, one per finalized choice; CDF: the line,
    // p50 and p99. Each series is a <polyline>, and so is its legend sample.
    let decided: Vec<&String> = s.decided.keys().collect();
    let mut series = vec![
        "choice 0: latest poll".to_string(),
        "choice 1: latest poll".to_string(),
        "finalized by time t".to_string(),
        format!("p50 = {:.1} ms", s.finality_ms.unwrap().p50),
        format!("p99 = {:.1} ms", s.finality_ms.unwrap().p99),
    ];
    series.extend(decided.iter().map(|c| format!("choice {c}: finalized")));
    for label in &series {
        assert!(
            labels.contains(label),
            "legend {label:?} missing in {labels:?}"
        );
    }
    let polylines = elements.iter().filter(|e| *e == "polyline").count();
    assert!(
        polylines >= 2 * series.len(),
        "{polylines} polylines for {} series",
        series.len()
    );
    assert!(labels.iter().any(|t| t.starts_with("plot-test (seed 5)")));
    assert!(labels.iter().any(|t| t.starts_with("Consensus progress")));
    assert!(labels.iter().any(|t| t.starts_with("Time to finality")));
}

#[test]
fn run_plot_as_png_has_the_declared_size() {
    let dir = polls_run();
    let out = dir.join("figure.png");
    plot::plot(&dir.join("trace.csv"), Some(&out)).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(png_size(&bytes), (1000, 1080));
    // Text is drawn (with the bundled font): the PNG holds far more than flat colour.
    assert!(bytes.len() > 20_000, "{} bytes", bytes.len());
}

#[test]
fn default_output_is_plot_svg_in_the_run_directory() {
    let dir = run_into("default-out", TraceLevel::Polls, TraceFormat::Csv);
    let files = plot::plot(&dir, None).unwrap();
    assert_eq!(files, vec![dir.join("plot.svg")]);
    xml_elements(&std::fs::read_to_string(&files[0]).unwrap());
}

#[test]
fn jsonl_traces_plot_like_csv_traces() {
    let dir = run_into("jsonl", TraceLevel::Polls, TraceFormat::Jsonl);
    let csv = plot::load_run(&polls_run().join("trace.csv"), None).unwrap();
    let jsonl = plot::load_run(&dir.join("trace.jsonl"), None).unwrap();
    assert_eq!(csv.polls, jsonl.polls);
    assert_eq!(csv.decides, jsonl.decides);
    let out = dir.join("plot.svg");
    plot::plot(&dir.join("trace.jsonl"), Some(&out)).unwrap();
    assert!(texts(&std::fs::read_to_string(out).unwrap()).contains(&"choice 1: latest poll".into()));
}

#[test]
fn decision_traces_plot_finality_without_preferences() {
    let dir = run_into("decisions", TraceLevel::Decisions, TraceFormat::Csv);
    let out = dir.join("plot.svg");
    plot::plot(&dir, Some(&out)).unwrap();
    let labels = texts(&std::fs::read_to_string(out).unwrap());
    assert!(!labels.iter().any(|l| l.contains("latest poll")));
    assert!(labels.iter().any(|l| l.ends_with(": finalized")));
    assert!(labels.iter().any(|l| l.contains("use --trace polls")));
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = temp("bad");
    let missing = plot::plot(&dir.join("nope"), None).unwrap_err();
    assert!(matches!(missing, PlotError::Read { .. }), "{missing}");
    let empty = plot::plot(&dir, None).unwrap_err();
    assert!(matches!(empty, PlotError::NotFound { .. }), "{empty}");
    let cases = [
        ("empty.csv", "", 1, "empty file"),
        ("header.csv", "a,b,c\n1,2,3\n", 1, "no time_ns column"),
        (
            "number.csv",
            "time_ns,node,kind,peer,request,choice,count,answers\n1,2,poll,,,1,3,5\nx,2,poll,,,1,3,5\n",
            3,
            "time_ns \"x\"",
        ),
        (
            "kind.csv",
            "time_ns,node,kind,peer,request,choice,count,answers\n1,2,vote,,,1,,\n",
            2,
            "unknown kind",
        ),
        (
            "choice.csv",
            "time_ns,node,kind,peer,request,choice,count,answers\n1,2,decide,,,,,\n",
            2,
            "without a choice",
        ),
        ("rows.jsonl", "{\"time_ns\":1,\"node\":2,\"kind\":\"decide\",\"choice\":0}\n{oops\n", 2, "not a luxsim trace row"),
    ];
    for (name, text, line, words) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        match plot::plot(&path, Some(&dir.join("x.svg"))) {
            Err(e @ PlotError::Malformed { line: l, .. }) => {
                assert_eq!(l, line, "{name}: {e}");
                assert!(e.to_string().contains(words), "{name}: {e}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    let format = plot::plot(polls_run(), Some(&dir.join("x.pdf"))).unwrap_err();
    assert!(matches!(format, PlotError::Format { .. }), "{format}");
    std::fs::write(dir.join("summary.json"), "{\"scenario\": 3}").unwrap();
    std::fs::write(
        dir.join("trace.csv"),
        "time_ns,node,kind,peer,request,choice,count,answers\n",
    )
    .unwrap();
    let summary = plot::write_report(&dir).unwrap_err();
    assert!(
        summary.to_string().contains("not a luxsim summary.json"),
        "{summary}"
    );
}

#[test]
fn degenerate_inputs_plot_without_panicking() {
    let dir = temp("degenerate");
    let header = "time_ns,node,kind,peer,request,choice,count,answers\n";
    // A trace with no rows: nothing finalized, empty charts.
    let empty = dir.join("empty.csv");
    std::fs::write(&empty, header).unwrap();
    for out in ["empty.svg", "empty.png"] {
        plot::plot(&empty, Some(&dir.join(out))).unwrap();
    }
    let svg = std::fs::read_to_string(dir.join("empty.svg")).unwrap();
    xml_elements(&svg);
    assert!(texts(&svg)
        .iter()
        .any(|t| t.contains("none of 0 honest nodes finalized")));
    // A huge node id is only a key; a choice beyond 254 cannot be a decision's.
    let odd = dir.join("odd.csv");
    std::fs::write(
        &odd,
        format!("{header}5,4294967295,poll,,,1,3,5\n9,4294967295,decide,,,1,,\n"),
    )
    .unwrap();
    plot::plot(&odd, Some(&dir.join("odd.svg"))).unwrap();
    let wide = dir.join("wide.csv");
    std::fs::write(&wide, format!("{header}5,1,poll,,,4000000000,3,5\n")).unwrap();
    let e = plot::plot(&wide, Some(&dir.join("wide.svg"))).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
    // Ledger runs are named as such.
    let ledger = dir.join("ledger.csv");
    std::fs::write(&ledger, format!("{header}5,1,accept,,,7000,3,\n")).unwrap();
    let e = plot::plot(&ledger, Some(&dir.join("ledger.svg"))).unwrap_err();
    assert!(matches!(e, PlotError::Unsupported { .. }), "{e}");
    // A sweep of one point.
    let one = dir.join("one");
    std::fs::create_dir_all(&one).unwrap();
    std::fs::write(
        one.join("points.csv"),
        "params.k,runs,finality_runs,finality_mean_ms,finality_p50_ms,finality_p90_ms,\
         finality_p99_ms,safety_violation_share,finished_share\n20,1,0,,,,,0,0\n",
    )
    .unwrap();
    xml_elements(&std::fs::read_to_string(&plot::plot(&one, None).unwrap()[0]).unwrap());
}

#[test]
fn report_html_holds_the_summary_and_inline_svg() {
    let dir = run_into("report", TraceLevel::Polls, TraceFormat::Csv);
    let s = summary(&dir);
    let path = plot::write_report(&dir).unwrap();
    assert_eq!(path, dir.join("report.html"));
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 2);
    assert_eq!(html.matches("</svg>").count(), 2);
    assert!(
        !html.contains("<script") && !html.contains("src="),
        "self-contained"
    );
    for figure in [
        format!("<th>honest nodes</th><td>{}</td>", s.honest),
        format!("p50 {:.1} ms", s.finality_ms.unwrap().p50),
        format!("p99 {:.1} ms", s.finality_ms.unwrap().p99),
        format!("{:.2} % of honest nodes", s.honest_finalized * 100.0),
        s.digest.clone(),
        "choice 0: latest poll".into(),
    ] {
        assert!(html.contains(&figure), "{figure:?} missing");
    }
    xml_elements(&html[html.find("<body>").unwrap()..html.find("</body>").unwrap() + 7]);

    let bare = run_into("report-none", TraceLevel::None, TraceFormat::Csv);
    let html = std::fs::read_to_string(plot::write_report(&bare).unwrap()).unwrap();
    assert!(html.contains("no plots") && !html.contains("<svg"));
}

/// Node and edge statements of a DOT digraph written one per line.
fn dot_counts(dot: &str) -> (usize, usize) {
    assert!(dot.starts_with("digraph network {"), "{dot}");
    assert!(dot.trim_end().ends_with('}'));
    assert_eq!(dot.matches('{').count(), dot.matches('}').count());
    let statements: Vec<&str> = dot.lines().map(str::trim).collect();
    let is_id = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let nodes = statements
        .iter()
        .filter(|l| l.split_once(" [").is_some_and(|(id, _)| is_id(id)))
        .count();
    let edges = statements
        .iter()
        .filter(|l| {
            l.split_once(" [").is_some_and(|(e, _)| {
                e.split_once(" -> ")
                    .is_some_and(|(a, b)| is_id(a) && is_id(b))
            })
        })
        .count();
    for l in &statements {
        // Quotes not escaped by a backslash come in pairs.
        let (mut quotes, mut escaped) = (0, false);
        for c in l.chars() {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => quotes += 1,
                _ => escaped = false,
            }
        }
        assert_eq!(quotes % 2, 0, "unbalanced quotes: {l}");
    }
    (nodes, edges)
}

#[test]
fn graph_of_regions_and_partitions() {
    let text = r#"
name = "geo"
[network]
nodes = 900
[network.regions]
names = ["us", "eu", "asia"]
base = [["5ms", "80ms", "150ms"], ["80ms", "5ms", "120ms"], ["150ms", "130ms", "5ms"]]
[[network.partitions]]
start = "2s"
end = "5s"
groups = [[0, 449], [450, 899]]
[[network.crashes]]
nodes = [0, 9]
at = "1s"
"#;
    let s = Scenario::parse(text, "geo.toml", &[]).unwrap();
    let dot = plot::network_dot(&s);
    // 3 regions + 2 partition groups + 1 crash range; us-eu and us-asia symmetric (2 edges),
    // eu-asia asymmetric (2 edges), 1 partition edge.
    assert_eq!(dot_counts(&dot), (6, 5), "{dot}");
    for text in [
        "us\\n300 nodes\\nintra 5ms",
        "label = \"80ms\", dir = none",
        "label = \"130ms\", dir = forward",
        "partition 0: cut 2s to 5s",
        "nodes 450-899\\n(450 nodes)\\nus: 150, eu: 150, asia: 150",
        "crash 1s, no recovery",
    ] {
        assert!(dot.contains(text), "{text:?} missing in\n{dot}");
    }
    let path = temp("graph").join("net.dot");
    plot::write_dot(&s, &path).unwrap();
    assert_eq!(std::fs::read_to_string(path).unwrap(), dot);
}

#[test]
fn graph_without_regions_is_compact() {
    let big =
        Scenario::parse("name = \"big\"\n[network]\nnodes = 5000\n", "big.toml", &[]).unwrap();
    assert_eq!(dot_counts(&plot::network_dot(&big)), (1, 0));
    let text = "name = \"split\"\n[network]\nnodes = 5000\n[[network.partitions]]\n\
                start = \"0s\"\ngroups = [[0, 999], [1000, 2999]]\ndirection = \"forward\"\n";
    let split = Scenario::parse(text, "split.toml", &[]).unwrap();
    let dot = plot::network_dot(&split);
    // Two groups and the 2,000 nodes in no group; one forward cut.
    assert_eq!(dot_counts(&dot), (3, 1), "{dot}");
    assert!(dot.contains("2000 nodes in no group"));
    assert!(dot.contains("cut from 0s, never heals\", dir = forward"));
}

/// A `points.csv` as `luxsim sweep` writes it (keys, then `runs` and the aggregates).
fn write_points(dir: &Path, two_keys: bool) -> PathBuf {
    let mut text = String::from(
        "params.k,byzantine.fraction,runs,finality_runs,finality_mean_ms,finality_p50_ms,\
         finality_p90_ms,finality_p99_ms,safety_violation_share,finished_share\n",
    );
    for k in [10, 20, 30] {
        for f in [0.0, 0.1] {
            if !two_keys && f > 0.0 {
                continue;
            }
            let p50 = 400.0 + k as f64 * 10.0 + f * 3000.0;
            let p99 = if k == 30 && f > 0.0 {
                String::new()
            } else {
                format!("{}", p50 * 2.0)
            };
            text += &format!("{k},{f:?},2,2,{p50},{p50},{p50},{p99},0,1\n");
        }
    }
    let path = dir.join("points.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn sweep_plot_has_lines_per_other_key_and_a_heat_map() {
    let dir = temp("sweep");
    write_points(&dir, true);
    let files = plot::plot(&dir, None).unwrap();
    assert_eq!(files, vec![dir.join("sweep.svg")]);
    let svg = std::fs::read_to_string(&files[0]).unwrap();
    let elements = xml_elements(&svg);
    assert!(svg.contains(r#"width="1400" height="1160""#));
    let labels = texts(&svg);
    for label in [
        "finality_p50_ms by params.k",
        "finality_p99_ms by params.k",
        "byzantine.fraction=0.0",
        "byzantine.fraction=0.1",
        "finality_p50_ms (params.k x byzantine.fraction)",
        "700",
        "n/a",
    ] {
        assert!(
            labels.contains(&label.to_string()),
            "{label:?} missing in {labels:?}"
        );
    }
    // 2 lines in each of 2 charts, each with a legend sample; 6 cells in each heat map.
    assert!(elements.iter().filter(|e| *e == "polyline").count() >= 8);
    assert!(elements.iter().filter(|e| *e == "rect").count() >= 12);

    let out = dir.join("sweep.png");
    plot::plot(&dir.join("points.csv"), Some(&out)).unwrap();
    assert_eq!(png_size(&std::fs::read(out).unwrap()), (1400, 1160));
}

#[test]
fn sweep_with_one_key_has_no_heat_map() {
    let dir = temp("sweep-one");
    let points = write_points(&dir, false);
    let sweep = luxsim::plot::load_sweep(&points).unwrap();
    assert_eq!(sweep.keys, ["params.k", "byzantine.fraction"]);
    assert_eq!(sweep.varied, [0]);
    assert_eq!(sweep.columns, ["finality_p50_ms", "finality_p99_ms"]);
    let svg_path = plot::plot(&points, Some(&dir.join("one.svg"))).unwrap();
    let svg = std::fs::read_to_string(&svg_path[0]).unwrap();
    xml_elements(&svg);
    assert!(svg.contains(r#"height="600""#));
    assert!(!texts(&svg).iter().any(|t| t.contains(" x ")));
}

#[test]
fn cli_plot_graph_and_run_report() {
    let exe = env!("CARGO_BIN_EXE_luxsim");
    let dir = temp("cli");
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let run = std::process::Command::new(exe)
        .args(["run", "--quiet", "--trace", "polls", "--report", "--out"])
        .arg(dir.join("run"))
        .arg(&scenario)
        .status()
        .unwrap();
    assert!(run.success());
    assert!(std::fs::read_to_string(dir.join("run/report.html"))
        .unwrap()
        .contains("<svg"));
    let png = dir.join("run.png");
    let plot = std::process::Command::new(exe)
        .arg("plot")
        .arg(dir.join("run"))
        .arg("--out")
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        plot.status.success(),
        "{}",
        String::from_utf8_lossy(&plot.stderr)
    );
    assert_eq!(png_size(&std::fs::read(&png).unwrap()), (1000, 1080));
    let graph = std::process::Command::new(exe)
        .args(["graph", "--set", "network.nodes=300"])
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(graph.status.success());
    let dot = String::from_utf8(graph.stdout).unwrap();
    assert_eq!(dot_counts(&dot), (1, 0));
    assert!(dot.contains("300 nodes, 12 byzantine (stubborn)"));
    let bad = std::process::Command::new(exe)
        .args(["plot"])
        .arg(dir.join("missing"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).starts_with("error: cannot read"));
}
