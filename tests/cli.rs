//! The `luxsim run` command line: outputs, exit codes and error messages.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("luxsim-cli-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `text` to `name` in this directory and returns its path.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `luxsim` with `args`.
fn luxsim<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_luxsim"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("luxsim runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The exit code, with the output shown when the assertion fails.
fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

fn summary_json(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

/// A small, quick scenario: 100 honest nodes, k = 10.
const SMALL: &str = r#"name = "cli-small"
seed = 3

[params]
k = 10
alpha_preference = 7
alpha_confidence = 7
beta = 10

[network]
nodes = 100
latency = { model = "uniform", min = "5ms", max = "30ms" }
poll_timeout = "300ms"
"#;

#[test]
fn run_on_a_shipped_scenario_writes_summary_and_trace() {
    let tmp = TempDir::new("shipped");
    let out = tmp.path("out");
    let o = luxsim([
        "run".as_ref(),
        shipped("baseline.toml").as_os_str(),
        "--set".as_ref(),
        "network.nodes=200".as_ref(),
        "--quiet".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_exit(&o, 0);
    assert!(o.stdout.is_empty(), "--quiet printed: {}", stdout(&o));
    let s = summary_json(&out);
    for key in [
        "scenario",
        "seed",
        "engine",
        "mode",
        "nodes",
        "byzantine",
        "params",
        "events",
        "messages",
        "virtual_time_ms",
        "wall_ms",
        "honest_finalized",
        "agreement",
        "safety_violation",
        "decided",
        "finality_ms",
        "polls",
        "expect",
        "digest",
    ] {
        assert!(s.get(key).is_some(), "summary.json has no `{key}`: {s}");
    }
    for key in ["p50", "p90", "p99", "max"] {
        assert!(s["finality_ms"][key].is_f64(), "finality_ms.{key}: {s}");
    }
    for key in ["p50", "p99"] {
        assert!(s["polls"][key].is_number(), "polls.{key}: {s}");
    }
    assert_eq!(s["scenario"], "baseline");
    assert_eq!(s["seed"], 1);
    assert_eq!(s["engine"], "snowball");
    assert_eq!(s["mode"], "event");
    assert_eq!(s["nodes"], 200);
    assert_eq!(s["byzantine"]["count"], 0);
    assert_eq!(s["params"]["k"], 20);
    assert_eq!(s["honest_finalized"], 1.0);
    assert_eq!(s["agreement"], true);
    assert_eq!(s["safety_violation"], false);
    let decided: u64 = s["decided"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(decided, 200);
    let f = &s["finality_ms"];
    let p = |k: &str| f[k].as_f64().unwrap();
    assert!(0.0 < p("p50") && p("p50") <= p("p90") && p("p90") <= p("p99") && p("p99") <= p("max"));
    let checks = s["expect"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["safety", "finalized", "max_p99_finality"]);
    assert!(checks.iter().all(|c| c["passed"] == true), "{s}");
    let digest = s["digest"].as_str().unwrap();
    assert_eq!(digest.len(), 64);
    assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()));
    // The default trace level is `decisions`: one decide row per honest node.
    let trace = std::fs::read_to_string(out.join("trace.csv")).expect("trace.csv");
    let mut lines = trace.lines();
    assert_eq!(
        lines.next(),
        Some("time_ns,node,kind,peer,request,choice,count,answers,latency_ns")
    );
    assert_eq!(lines.filter(|l| l.contains(",decide,")).count(), 200);
    assert!(!out.join("trace.csv.tmp").exists() && !out.join("summary.json.tmp").exists());
}

#[test]
fn check_determinism_exits_0() {
    let tmp = TempDir::new("determinism");
    let file = tmp.write("small.toml", SMALL);
    let out = tmp.path("out");
    let o = luxsim([
        "run".as_ref(),
        file.as_os_str(),
        "--check-determinism".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_exit(&o, 0);
    let text = stdout(&o);
    assert!(
        text.contains("determinism: second run has the same digest"),
        "{text}"
    );
    let digest = summary_json(&out)["digest"].as_str().unwrap().to_string();
    assert!(text.contains(&format!("digest {digest}")), "{text}");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

/// Runs `text` written as `bad.toml` and expects exit 2 with `bad.toml:LINE:COL: ` on stderr.
fn bad_file(text: &str, line: usize, col: usize, message: &str) {
    let tmp = TempDir::new("bad");
    let file = tmp.write("bad.toml", text);
    let out = tmp.path("out");
    let o = luxsim([
        "run".as_ref(),
        file.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    let at = format!("{}:{line}:{col}: {message}", file.display());
    assert!(err.contains(&at), "wanted `{at}` in:\n{err}");
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    assert!(
        !out.exists(),
        "a run with a bad scenario wrote {}",
        out.display()
    );
}

#[test]
fn an_unknown_key_is_exit_2_at_its_line_and_column() {
    bad_file(
        "name = \"x\"\n[network]\nnodes = 100\n  kk = 3\n",
        4,
        3,
        "unknown field `kk`",
    );
    bad_file(
        "name = \"x\"\nseeed = 4\n[network]\nnodes = 100\n",
        2,
        1,
        "unknown field `seeed`",
    );
}

#[test]
fn a_syntax_error_is_exit_2_at_its_line_and_column() {
    bad_file("name = \"x\"\n[network]\nnodes = = 100\n", 3, 9, "");
    bad_file("name = \"x\"\n[network\nnodes = 100\n", 2, 9, "");
}

#[test]
fn a_wrong_type_or_broken_rule_is_exit_2_at_the_value() {
    bad_file(
        "name = \"x\"\n[network]\nnodes = \"many\"\n",
        3,
        9,
        "invalid type: string \"many\", expected usize",
    );
    let text = SMALL.to_string()
        + "\n[[network.partitions]]\nstart = \"1s\"\ngroups = [[0, 49], [50, 100]]\n";
    let line = text.lines().count();
    bad_file(&text, line, 20, "network.partitions[0].groups[1]");
}

#[test]
fn a_missing_file_is_exit_2() {
    let tmp = TempDir::new("missing");
    let file = tmp.path("nowhere.toml");
    let o = luxsim(["run".as_ref(), file.as_os_str()]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("nowhere.toml"), "{err}");
}

#[test]
fn a_bad_set_is_exit_2() {
    let tmp = TempDir::new("bad-set");
    let text = format!("{SMALL}\n[workload]\ninitial = [0.5, 0.5]\n");
    let file = tmp.write("small.toml", &text);
    let out = tmp.path("out");
    for (set, wanted) in [
        ("network.nodes", "bad --set \"network.nodes\""),
        ("=5", "bad --set \"=5\""),
        ("network..nodes=5", "bad --set \"network..nodes=5\""),
        ("network.nodes.x=1", "`network.nodes` is not a table"),
        (
            "workload.initial.5=0.1",
            "`workload.initial` has no element 5",
        ),
        (
            "network.partitions.3.end=1s",
            "(set by --set network.partitions.3.end=1s)",
        ),
        ("network.nodes=many", "(set by --set network.nodes=many)"),
        ("network.kk=1", "unknown field `kk`"),
        ("params.beta=0", "(set by --set params.beta=0)"),
        (
            "network.stake_unit=-1",
            "(set by --set network.stake_unit=-1)",
        ),
    ] {
        let o = luxsim([
            "run".as_ref(),
            file.as_os_str(),
            "--set".as_ref(),
            set.as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        assert_exit(&o, 2);
        let err = stderr(&o);
        assert!(
            err.contains(wanted),
            "--set {set}: wanted `{wanted}` in:\n{err}"
        );
        assert!(!out.exists(), "--set {set}: wrote {}", out.display());
    }
}

#[test]
fn a_bad_command_line_is_exit_2() {
    let file = shipped("baseline.toml");
    for args in [
        vec!["run", file.to_str().unwrap(), "--trace", "everything"],
        vec!["run", file.to_str().unwrap(), "--seed", "minus-one"],
        vec!["run"],
        vec!["walk", file.to_str().unwrap()],
    ] {
        let o = luxsim(&args);
        assert_exit(&o, 2);
        assert!(!o.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn a_failed_expect_is_exit_1_and_named() {
    let tmp = TempDir::new("expect");
    let file = tmp.write("small.toml", SMALL);
    let out = tmp.path("out");
    let o = luxsim([
        "run".as_ref(),
        file.as_os_str(),
        "--set".as_ref(),
        "expect.max_p99_finality=\"1ms\"".as_ref(),
        "--set".as_ref(),
        "expect.safety=true".as_ref(),
        "--quiet".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(err.contains("expect max_p99_finality failed"), "{err}");
    assert!(!err.contains("expect safety failed"), "{err}");
    // The outputs are written all the same, with the check marked as failed.
    let s = summary_json(&out);
    let checks = s["expect"].as_array().unwrap();
    let check = |name: &str| checks.iter().find(|c| c["name"] == name).unwrap().clone();
    assert_eq!(check("max_p99_finality")["passed"], false);
    assert_eq!(check("safety")["passed"], true);
    assert_eq!(s["honest_finalized"], 1.0);
    assert!(out.join("trace.csv").exists());
}

#[test]
fn seed_changes_the_digest_and_jsonl_traces_parse() {
    let tmp = TempDir::new("seed");
    let file = tmp.write("small.toml", SMALL);
    let run = |seed: &str, out: &Path, format: &str| {
        let o = luxsim([
            "run".as_ref(),
            file.as_os_str(),
            "--seed".as_ref(),
            seed.as_ref(),
            "--trace".as_ref(),
            "polls".as_ref(),
            "--format".as_ref(),
            format.as_ref(),
            "--quiet".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        assert_exit(&o, 0);
        summary_json(out)
    };
    let (a, b, c) = (tmp.path("a"), tmp.path("b"), tmp.path("c"));
    let first = run("11", &a, "csv");
    let second = run("12", &b, "jsonl");
    let again = run("11", &c, "jsonl");
    assert_eq!(first["seed"], 11);
    assert_eq!(second["seed"], 12);
    assert_ne!(first["digest"], second["digest"]);
    // The digest depends on the seed, not on the trace format.
    assert_eq!(first["digest"], again["digest"]);
    assert!(!b.join("trace.csv").exists());
    let text = std::fs::read_to_string(b.join("trace.jsonl")).expect("trace.jsonl");
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(rows.len() > 100);
    for r in &rows {
        let obj = r.as_object().expect("each line is an object");
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        for k in [
            "time_ns", "node", "kind", "peer", "request", "choice", "count", "answers",
        ] {
            assert!(keys.contains(&k), "{r}");
        }
        assert!(matches!(r["kind"].as_str(), Some("poll" | "decide")), "{r}");
    }
    let decides = rows.iter().filter(|r| r["kind"] == "decide").count();
    assert_eq!(decides, 100);
    // The same run in CSV has as many rows.
    let csv = std::fs::read_to_string(a.join("trace.csv")).unwrap();
    let again_rows = std::fs::read_to_string(c.join("trace.jsonl")).unwrap();
    assert_eq!(csv.lines().count() - 1, again_rows.lines().count());
}

#[test]
fn bad_latency_parameters_are_located_in_the_file() {
    let text = SMALL.replace(
        "latency = { model = \"uniform\", min = \"5ms\", max = \"30ms\" }",
        "latency = { model = \"uniform\", min = \"50ms\", max = \"30ms\" }",
    );
    let line = text.lines().position(|l| l.starts_with("latency")).unwrap() + 1;
    let tmp = TempDir::new("latency");
    let file = tmp.write("bad.toml", &text);
    let o = luxsim([
        "run".as_ref(),
        file.as_os_str(),
        "--out".as_ref(),
        tmp.path("out").as_os_str(),
    ]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    // Somewhere on the latency line: the table or one of its values.
    let at = format!("{}:{line}:", file.display());
    assert!(err.contains(&at), "wanted `{at}` in:\n{err}");
}

#[test]
fn a_failed_run_leaves_no_temporary_file() {
    let tmp = TempDir::new("tmp-left");
    let text = SMALL.replace("min = \"5ms\"", "min = \"50ms\"");
    let file = tmp.write("small.toml", &text);
    let out = tmp.path("out");
    let o = luxsim([
        "run".as_ref(),
        file.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_exit(&o, 2);
    let left: Vec<String> = std::fs::read_dir(&out)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "left in {}: {left:?}", out.display());
}
