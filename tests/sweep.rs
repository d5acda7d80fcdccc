//! `luxsim sweep` and `luxsim merge` through the binary: determinism across thread counts
//! and shards, the value syntax, and bad input.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SCENARIO: &str = r#"
name = "sweep-test"
seed = 5
max_time = "20s"

[params]
k = 10
alpha_preference = 7
alpha_confidence = 7
beta = 10

[network]
nodes = 150
latency = { model = "lognormal", median = "40ms", sigma = 0.5 }

[byzantine]
fraction = 0.05
strategy = "balance"
"#;

/// A fresh temporary directory holding the test scenario as `s.toml`.
fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("luxsim-sweep-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("s.toml"), SCENARIO).unwrap();
    dir
}

fn luxsim(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_luxsim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn ok(dir: &Path, args: &[&str]) {
    let out = luxsim(dir, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "luxsim {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sweep(dir: &Path, out: &str, extra: &[&str]) {
    let mut args = vec![
        "sweep",
        "s.toml",
        "--vary",
        "params.k=8,10",
        "--vary",
        "byzantine.fraction=0,0.1",
        "--seeds",
        "2",
        "--quiet",
        "--out",
        out,
    ];
    args.extend(extra);
    ok(dir, &args);
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn outputs_do_not_depend_on_threads_or_shards() {
    let dir = workdir("determinism");
    sweep(&dir, "one", &["--jobs", "1"]);
    sweep(&dir, "two", &["--jobs", "2"]);
    sweep(&dir, "shard2", &["--shard", "2/2"]);
    sweep(&dir, "shard1", &["--shard", "1/2", "--jobs", "1"]);
    ok(
        &dir,
        &["merge", "shard2", "shard1", "--out", "merged", "-q"],
    );
    let (one, two, merged) = (dir.join("one"), dir.join("two"), dir.join("merged"));
    for file in ["runs.csv", "points.csv", "sweep.json"] {
        assert_eq!(read(&one, file), read(&two, file), "{file}: --jobs 1 vs 2");
        assert_eq!(
            read(&one, file),
            read(&merged, file),
            "{file}: merged vs one"
        );
    }
    let runs = String::from_utf8(read(&one, "runs.csv")).unwrap();
    let lines: Vec<&str> = runs.lines().collect();
    assert_eq!(lines.len(), 1 + 8);
    assert!(lines[0].starts_with("params.k,byzantine.fraction,seed,honest_finalized,"));
    assert!(!lines[0].contains("wall"));
    // Grid order (first --vary outermost), then seeds 5, 6.
    let firsts: Vec<String> = lines[1..]
        .iter()
        .map(|l| l.split(',').take(3).collect::<Vec<_>>().join(","))
        .collect();
    assert_eq!(firsts[0], "8,0,5");
    assert_eq!(firsts[1], "8,0,6");
    assert_eq!(firsts[2], "8,0.1,5");
    assert_eq!(firsts[7], "10,0.1,6");
    let points = String::from_utf8(read(&one, "points.csv")).unwrap();
    assert_eq!(points.lines().count(), 1 + 4);
    assert!(points.lines().nth(1).unwrap().starts_with("8,0,2,"));
    // A shard writes no points.csv; its manifest says which slice it holds.
    assert!(!dir.join("shard1").join("points.csv").exists());
    let manifest = String::from_utf8(read(&dir.join("shard1"), "sweep.json")).unwrap();
    assert!(manifest.contains("\"index\": 1") && manifest.contains("\"count\": 2"));

    // Merge refuses an incomplete or doubled set of shards, and shards of another sweep.
    for (dirs, wanted) in [
        (vec!["shard1"], "shard 2 of 2 missing"),
        (vec!["shard1", "shard1", "shard2"], "same shard"),
        (vec!["shard1", "one"], "split the sweep differently"),
        (vec!["nowhere"], "cannot read"),
    ] {
        let mut args = vec!["merge"];
        args.extend(dirs);
        args.extend(["--out", "bad"]);
        let out = luxsim(&dir, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr_of(&out).contains(wanted),
            "{args:?}: {}",
            stderr_of(&out)
        );
    }
    sweep(&dir, "other", &["--shard", "2/2", "--set", "params.beta=9"]);
    let out = luxsim(&dir, &["merge", "shard1", "other", "--out", "bad"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("not from the same sweep"),
        "{}",
        stderr_of(&out)
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn ranges_and_durations() {
    let dir = workdir("syntax");
    ok(
        &dir,
        &[
            "sweep",
            "s.toml",
            "--vary",
            "byzantine.fraction=0..0.1:0.05",
            "--vary",
            "network.latency.median=20ms,40ms",
            "--seeds",
            "1",
            "--quiet",
            "--out",
            "out",
        ],
    );
    let runs = String::from_utf8(read(&dir.join("out"), "runs.csv")).unwrap();
    let rows: Vec<Vec<&str>> = runs
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let labels: Vec<(&str, &str)> = rows.iter().map(|r| (r[0], r[1])).collect();
    assert_eq!(
        labels,
        [
            ("0", "20ms"),
            ("0", "40ms"),
            ("0.05", "20ms"),
            ("0.05", "40ms"),
            ("0.1", "20ms"),
            ("0.1", "40ms")
        ]
    );
    // The latency reached the scenario: slower messages, later finality.
    let header: Vec<&str> = runs.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|&h| h == "finality_p50_ms").unwrap();
    let p50 = |r: &Vec<&str>| r[col].parse::<f64>().unwrap();
    assert!(p50(&rows[1]) > p50(&rows[0]) * 1.3, "{runs}");
    let manifest = String::from_utf8(read(&dir.join("out"), "sweep.json")).unwrap();
    assert!(manifest.contains("\"partial\": false"));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_arguments_exit_2() {
    let dir = workdir("bad");
    for (extra, wanted) in [
        (&["--vary", "params.k"][..], "bad --vary"),
        (&["--vary", "params.k=1..3"], "START..END:STEP"),
        (&["--vary", "params.k=3..1:1"], "START must be <= END"),
        (&["--vary", "params.k=8,,10"], "empty value"),
        (&["--vary", "params.k=8,8"], "given twice"),
        (&["--vary", "params.kk=8"], "unknown field `kk`"),
        (&["--vary", "params.k=eight"], "params.k=eight"),
        (&["--vary", "seed=1,2"], "seed cannot be varied"),
        (
            &["--vary", "params.k=8", "--vary", "params.k=10"],
            "varied twice",
        ),
        (&["--vary", "params.k=8", "--shard", "0/2"], "bad --shard"),
        (&["--vary", "params.k=8", "--shard", "3/2"], "bad --shard"),
        (&["--vary", "params.k=8", "--shard", "half"], "bad --shard"),
        (&["--vary", "params.k=8", "--jobs", "0"], "--jobs"),
    ] {
        let mut args = vec!["sweep", "s.toml", "--seeds", "1", "--out", "out", "-q"];
        args.extend(extra);
        let out = luxsim(&dir, &args);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(wanted), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let out = luxsim(
        &dir,
        &["sweep", "s.toml", "--vary", "params.k=8", "--seeds", "0"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.join("out").exists());
    fs::remove_dir_all(dir).unwrap();
}

/// Ctrl-C keeps the finished runs, marks the manifest partial and exits with 130.
#[cfg(unix)]
#[test]
fn interrupt_keeps_finished_runs() {
    use std::time::{Duration, Instant};
    let dir = workdir("interrupt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_luxsim"))
        .args([
            "sweep",
            "s.toml",
            "--vary",
            "params.k=8..10:1",
            "--seeds",
            "200",
        ])
        .args(["--jobs", "1", "--quiet", "--out", "out"])
        .current_dir(&dir)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(status.code(), Some(130));
    let manifest = String::from_utf8(read(&dir.join("out"), "sweep.json")).unwrap();
    assert!(manifest.contains("\"partial\": true"), "{manifest}");
    let runs = String::from_utf8(read(&dir.join("out"), "runs.csv")).unwrap();
    let rows = runs.lines().count() - 1;
    assert!(rows < 600, "{rows} rows");
    // With one worker the finished runs are the first ones, in grid order.
    for (i, line) in runs.lines().skip(1).enumerate() {
        assert!(line.starts_with(&format!("8,{},", 5 + i)), "{line}");
    }
    fs::remove_dir_all(dir).unwrap();
}
