//! `luxsim run` and `luxsim sweep` as Unix programs: a closed stdout, SIGINT and SIGTERM,
//! SIGKILL at random moments, runs in which nothing is decided, and scenarios that cannot
//! run, each refused at load with a located message.

use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_luxsim")
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("luxsim-unix-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn luxsim(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("luxsim runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write_scenario(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, format!("name = \"{name}\"\n{body}")).unwrap();
    path
}

/// 200 nodes of which 30 % are silent: nothing ever finalizes, so the run goes on for as
/// long as `max_time` allows, polling all along.
const STALLED: &str = r#"
seed = 3
max_time = "1h"
[network]
nodes = 200
latency = { model = "constant", value = "10ms" }
poll_timeout = "100ms"
[byzantine]
fraction = 0.3
strategy = "silent"
"#;

/// A quick honest run (a few hundred milliseconds in a debug build).
const QUICK: &str = r#"
max_time = "30s"
[params]
preset = "testnet"
[network]
nodes = 150
latency = { model = "lognormal", median = "20ms", sigma = 0.5 }
poll_timeout = "500ms"
[expect]
finalized = 1.0
"#;

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// Names in `dir` (sorted).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Waits until `cond` holds (checked every 10 ms), for at most `limit`.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig}");
}

fn wait_output(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_still_writes_the_files_and_evaluates_expect() {
    let dir = temp_dir("pipe");
    // QUICK with an impossible p99 bound: [expect] must still be evaluated (exit 1).
    let s = write_scenario(
        &dir,
        "pipe",
        &format!("{QUICK}max_p99_finality = \"1ns\"\n"),
    );
    let out = dir.join("out");
    let mut child = Command::new(bin())
        .args(["run", "--report", "--out"])
        .arg(&out)
        .arg(&s)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // `| true`: the reader is gone before the first line
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(status.code(), Some(1), "the failed expect decides: {err}");
    assert!(err.contains("expect max_p99_finality failed"), "{err}");
    assert_eq!(
        names(&out),
        ["nodes.csv", "report.html", "summary.json", "trace.csv"]
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_run_where_nothing_finalizes_is_a_valid_run() {
    let dir = temp_dir("empty");
    let s = write_scenario(
        &dir,
        "empty",
        &STALLED.replace("max_time = \"1h\"", "max_time = \"2s\""),
    );
    let out = dir.join("out");
    let o = luxsim(&[
        "run",
        "--report",
        "--out",
        out.to_str().unwrap(),
        s.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let trace = std::fs::read_to_string(out.join("trace.csv")).unwrap();
    assert_eq!(
        trace, "time_ns,node,kind,peer,request,choice,count,answers,latency_ns\n",
        "the header, and no decide row"
    );
    let s = summary(&out);
    assert_eq!(s["finality_ms"], Value::Null, "not measured: null, not 0");
    assert_eq!(s["polls"], Value::Null);
    assert_eq!(s["ended"], "max_time");
    assert_eq!(s["interrupted"], false);
    assert!(text(&o.stdout).contains("finality: none measured"));
    // Plots and reports take it too.
    let p = luxsim(&["plot", out.to_str().unwrap()]);
    assert_eq!(p.status.code(), Some(0), "{}", text(&p.stderr));
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("none measured"), "{report}");
    // A p99 bound on a run without finality fails as such, not as "got 0.0ms".
    let s2 = write_scenario(
        &dir,
        "empty2",
        &(STALLED.replace("max_time = \"1h\"", "max_time = \"1s\"")
            + "[expect]\nmax_p99_finality = \"5s\"\n"),
    );
    let o = luxsim(&[
        "run",
        "--out",
        dir.join("out2").to_str().unwrap(),
        s2.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("got none (no honest node finalized)"),
        "{}",
        text(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn scenarios_that_cannot_run_are_refused_at_load() {
    let dir = temp_dir("refuse");
    let base = write_scenario(&dir, "base", QUICK);
    let base = base.to_str().unwrap();
    let refused = |set: &str, want: &str| {
        let o = luxsim(&["run", "--quiet", base, "--set", set]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{set}: {err}");
        assert!(err.contains(want), "{set}: {err}");
        assert!(!err.contains("panicked"), "{set}: {err}");
    };
    refused("network.nodes=1000000000", "needs about");
    refused("network.nodes=2000000000", "needs about");
    refused("max_time=\"585y\"", "max_time (585years) is too long");
    refused(
        "network.latency={model=\"constant\",value=\"585y\"}",
        "network.latency.value (585years) is too long",
    );
    refused(
        "network.latency={model=\"constant\",value=\"2h\"}",
        "exceeds max_time",
    );
    refused(
        "network.latency={model=\"lognormal\",median=\"40ms\",sigma=1e308}",
        "sigma must be between 0 and 10, got 1e308",
    );
    refused(
        "network.poll_timeout=\"1ns\"",
        "network.poll_timeout (1ns) is shorter than almost every round trip",
    );
    refused(
        "name=\"..\"",
        "name \"..\" must start with a letter or digit",
    );
    refused("name=\".\"", "name \".\" must start with a letter or digit");
    refused("name=\".hidden\"", "must start with a letter or digit");
    refused("max_events=0", "max_events must be at least 1");
    // --out may not name `.` or `..`, nor a directory of other files.
    for out in [".", ".."] {
        let o = luxsim(&["run", "--quiet", "--out", out, base]);
        assert_eq!(o.status.code(), Some(2), "--out {out}");
        assert!(text(&o.stderr).contains("cannot be an output directory"));
    }
    let foreign = dir.join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let o = luxsim(&["run", "--quiet", "--out", foreign.to_str().unwrap(), base]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("not a luxsim output directory"));
    assert_eq!(names(&foreign), ["notes.txt"], "nothing touched");
    // The memory check can be overridden (here on a scenario that does fit).
    let o = luxsim(&["run", "--quiet", "--skip-memory-check", base]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_run_past_its_event_budget_ends_and_says_so() {
    let dir = temp_dir("budget");
    let s = write_scenario(&dir, "budget", &format!("max_events = 20000\n{STALLED}"));
    let out = dir.join("out");
    let o = luxsim(&["run", "--out", out.to_str().unwrap(), s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let s = summary(&out);
    assert_eq!(s["ended"], "max_events");
    assert_eq!(s["events"], 20000);
    assert!(text(&o.stdout).contains("the event budget max_events ran out"));
    let _ = std::fs::remove_dir_all(dir);
}

/// Starts a stalled run and waits until it has begun writing (its staging directory).
fn start_stalled(dir: &Path, name: &str) -> (Child, PathBuf) {
    let s = write_scenario(dir, name, STALLED);
    let out = dir.join(format!("{name}-out"));
    let child = Command::new(bin())
        .args(["run", "--trace", "polls", "--out"])
        .arg(&out)
        .arg(&s)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let staging = dir.join(format!(".{name}-out.staging-{}", child.id()));
    assert!(
        wait_until(Duration::from_secs(60), || staging.exists()),
        "the run started"
    );
    // Let it simulate a little, so that there is something to keep.
    std::thread::sleep(Duration::from_millis(300));
    (child, out)
}

#[test]
fn sigint_and_sigterm_keep_complete_files_marked_interrupted() {
    let dir = temp_dir("signals");
    for (sig, code, name) in [("INT", 130, "SIGINT"), ("TERM", 143, "SIGTERM")] {
        let (child, out) = start_stalled(&dir, &format!("stalled-{sig}"));
        signal(&child, sig);
        let o = wait_output(child);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {err}");
        assert!(lines[0].starts_with(&format!("interrupted by {name}: kept ")));
        let s = summary(&out);
        assert_eq!(s["interrupted"], true);
        assert_eq!(s["ended"], "interrupted");
        assert!(s["events"].as_u64().unwrap() > 0);
        // The trace is whole: every line is a complete row of the header's 9 fields.
        let trace = std::fs::read_to_string(out.join("trace.csv")).unwrap();
        assert!(trace.ends_with('\n'));
        let mut rd = csv::Reader::from_reader(trace.as_bytes());
        let rows = rd.records().map(|r| r.unwrap().len()).collect::<Vec<_>>();
        assert!(!rows.is_empty() && rows.iter().all(|&n| n == 9));
        assert_eq!(names(&out), ["nodes.csv", "summary.json", "trace.csv"]);
    }
    let leftovers: Vec<String> = names(&dir)
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files: {leftovers:?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The files of a complete run of `scenario` with `seed`, `wall_ms` blanked.
fn generation(dir: &Path, scenario: &Path, seed: u64) -> Vec<(String, String)> {
    let out = dir.join(format!("reference-{seed}"));
    let o = luxsim(&[
        "run",
        "--quiet",
        "--seed",
        &seed.to_string(),
        "--out",
        out.to_str().unwrap(),
        scenario.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    contents(&out)
}

fn contents(dir: &Path) -> Vec<(String, String)> {
    names(dir)
        .into_iter()
        .map(|n| {
            let mut t = std::fs::read_to_string(dir.join(&n)).unwrap();
            if n == "summary.json" {
                let mut v: Value = serde_json::from_str(&t).unwrap();
                v["wall_ms"] = Value::Null;
                t = v.to_string();
            }
            (n, t)
        })
        .collect()
}

#[test]
fn sigkill_at_random_moments_never_leaves_mixed_or_temporary_files() {
    let dir = temp_dir("kill");
    let s = write_scenario(&dir, "kill", QUICK);
    // The two generations, and how long a whole run takes here, to spread the kills over.
    let t0 = Instant::now();
    let a = generation(&dir, &s, 1);
    let t1 = Instant::now();
    let b = generation(&dir, &s, 2);
    let span = 1.5 * (t1 - t0).max(t1.elapsed()).as_secs_f64();
    assert_ne!(a, b, "the two seeds give different files");
    let out = dir.join("out");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let (mut seen_a, mut seen_b, mut absent) = (0, 0, 0);
    for i in 0..30u64 {
        let seed = 1 + i % 2;
        let mut child = Command::new(bin())
            .args(["run", "--quiet", "--seed", &seed.to_string(), "--out"])
            .arg(&out)
            .arg(&s)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs_f64(rng.random_range(0.0..span)));
        let _ = child.kill();
        let _ = child.wait();
        if !out.exists() {
            absent += 1;
            continue;
        }
        let now = contents(&out);
        if now == a {
            seen_a += 1;
        } else if now == b {
            seen_b += 1;
        } else {
            panic!("kill {i}: the output directory is not one whole generation: {now:?}");
        }
    }
    // The next run tidies what the killed ones left beside the output directory.
    let o = luxsim(&[
        "run",
        "--quiet",
        "--seed",
        "2",
        "--out",
        out.to_str().unwrap(),
        s.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(contents(&out), b);
    let leftovers: Vec<String> = names(&dir)
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "stale files removed: {leftovers:?}");
    eprintln!("30 kills: {seen_a} left seed 1's files, {seen_b} seed 2's, {absent} none yet");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sigkill_during_sweeps_never_mixes_their_files() {
    let dir = temp_dir("kill-sweep");
    let s = write_scenario(&dir, "ks", QUICK);
    let sweep = |out: &Path, seeds: &str| {
        let mut c = Command::new(bin());
        c.args(["sweep", "--quiet", "--jobs", "2", "--seeds", seeds])
            .args(["--vary", "params.beta=8,10", "--out"])
            .arg(out)
            .arg(&s)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    let reference = |seeds: &str| {
        let out = dir.join(format!("ref-{seeds}"));
        assert!(sweep(&out, seeds).status().unwrap().success());
        contents(&out)
    };
    let t0 = Instant::now();
    let a = reference("1");
    let t1 = Instant::now();
    let b = reference("2");
    let span = 1.5 * (t1 - t0).max(t1.elapsed()).as_secs_f64();
    let out = dir.join("out");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    for i in 0..15 {
        let seeds = if i % 2 == 0 { "1" } else { "2" };
        let mut child = sweep(&out, seeds).spawn().unwrap();
        std::thread::sleep(Duration::from_secs_f64(rng.random_range(0.0..span)));
        let _ = child.kill();
        let _ = child.wait();
        // The published files are one sweep's or the other's; beside them may be the
        // journal of the sweep that was killed (which the other sweep refuses to mix with:
        // it resumes only the same sweep), so an unfinished one is removed.
        let journal = out.join("runs.journal.jsonl");
        if journal.exists() {
            let header = std::fs::read_to_string(&journal).unwrap();
            assert!(header.starts_with("{\"journal\":\"luxsim-journal/1\""));
            std::fs::remove_file(&journal).unwrap();
        }
        // A kill while a file is being written leaves its `.NAME.tmp-PID` (never a
        // published name); the next writer of that file removes it (checked below).
        let now: Vec<_> = (contents(&out).into_iter())
            .filter(|(n, _)| !n.starts_with('.'))
            .collect();
        if !now.is_empty() {
            assert!(now == a || now == b, "kill {i}: mixed sweep files {now:?}");
        }
    }
    let o = sweep(&out, "1").stderr(Stdio::piped()).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        contents(&out),
        a,
        "a whole sweep after the kills: its files, no leftovers"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sweep_and_check_stop_on_a_signal_and_keep_what_finished() {
    let dir = temp_dir("sweep-signal");
    // A sweep whose second point never finalizes: it runs until stopped.
    let s = write_scenario(&dir, "sw", STALLED);
    let out = dir.join("sw-out");
    let child = Command::new(bin())
        .args(["sweep", "--quiet", "--jobs", "1", "--seeds", "1"])
        .args(["--vary", "byzantine.fraction=0,0.3", "--out"])
        .arg(&out)
        .arg(&s)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first point (no Byzantine node) finishes quickly; then the stalled one runs.
    std::thread::sleep(Duration::from_millis(1500));
    signal(&child, "TERM");
    let o = wait_output(child);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(143), "{err}");
    assert!(err.contains("interrupted by SIGTERM: kept the"), "{err}");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(manifest["partial"], true);
    let runs = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    assert_eq!(
        runs.lines().count() as u64,
        1 + manifest["completed"].as_u64().unwrap(),
        "a row per finished run: {runs}"
    );
    // The journal stays beside the partial outputs, for a rerun to resume from.
    assert_eq!(
        names(&out),
        ["points.csv", "runs.csv", "runs.journal.jsonl", "sweep.json"]
    );
    // `luxsim check` on a baseline whose scenario stalls: SIGINT stops it, nothing recorded.
    let baseline = dir.join("baseline.json");
    std::fs::write(
        &baseline,
        format!(
            r#"{{"scenarios":[{{"scenario":"{}","seeds":[1],"figures":{{"finality_p50":{{"tolerance":0.05}},"finality_p99":{{"tolerance":0.1}},"polls_p50":{{"tolerance":0.05}},"finalized":{{"tolerance":0}}}}}}]}}"#,
            s.display()
        ),
    )
    .unwrap();
    let before = std::fs::read(&baseline).unwrap();
    let child = Command::new(bin())
        .args(["check", "--quiet", "--update", "--baseline"])
        .arg(&baseline)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, "INT");
    let o = wait_output(child);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted by SIGINT: nothing checked or recorded"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&baseline).unwrap(),
        before,
        "the baseline is untouched"
    );
    let leftovers: Vec<String> = names(&dir)
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files: {leftovers:?}");
    let _ = std::fs::remove_dir_all(dir);
}
