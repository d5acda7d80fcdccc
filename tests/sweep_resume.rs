//! Sweeps on a batch system through the binary: `--shard auto` from the scheduler's
//! variables, resuming an interrupted or killed shard from its journal (a torn last line
//! included) to the bytes of an uninterrupted one, refusing another sweep's progress, and
//! `merge` naming missing shards and runs, or merging what exists with `--allow-partial`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SCENARIO: &str = r#"
name = "resume-test"
seed = 5
max_time = "20s"

[params]
k = 10
alpha_preference = 7
alpha_confidence = 7
beta = 10

[network]
nodes = 120
latency = { model = "lognormal", median = "40ms", sigma = 0.5 }
"#;

const JOURNAL: &str = "runs.journal.jsonl";

fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("luxsim-resume-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("s.toml"), SCENARIO).unwrap();
    dir
}

/// `sweep s.toml` over 2 x 2 points and 3 seeds (12 runs), one worker, quiet.
fn sweep_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "sweep",
        "s.toml",
        "--vary",
        "params.k=8,10",
        "--vary",
        "params.beta=8,10",
        "--seeds",
        "3",
        "--jobs",
        "1",
        "--quiet",
        "--out",
        out,
    ];
    args.extend(extra);
    args
}

fn luxsim(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_luxsim"));
    c.args(args).current_dir(dir);
    for var in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_JOB_ID",
        "JOB_COMPLETION_INDEX",
    ] {
        c.env_remove(var);
    }
    c.envs(env.iter().copied())
        .output()
        .expect("the binary runs")
}

fn ok(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = luxsim(dir, args, env);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "luxsim {args:?} failed: {err}");
    err
}

fn fails(dir: &Path, args: &[&str], wanted: &str) -> String {
    let out = luxsim(dir, args, &[]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "luxsim {args:?}: {err}");
    assert!(
        err.contains(wanted),
        "luxsim {args:?}: wanted {wanted:?} in {err}"
    );
    err
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

fn lines(path: &Path) -> usize {
    fs::read(path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

/// Starts a sweep that holds after `runs` runs (the test hook), waits until its journal
/// holds them, then sends `signal`; returns the exit code.
fn stop_after(dir: &Path, args: &[&str], runs: usize, signal: &str) -> Option<i32> {
    let journal = dir.join(args[args.iter().position(|&a| a == "--out").unwrap() + 1]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_luxsim"))
        .args(args)
        .current_dir(dir)
        .env("LUXSIM_TEST_HOLD_AFTER_RUNS", runs.to_string())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(120);
    while lines(&journal.join(JOURNAL)) < 1 + runs {
        assert!(Instant::now() < until, "the journal never held {runs} runs");
        assert!(child.try_wait().unwrap().is_none(), "the sweep ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    let id = child.id().to_string();
    assert!(Command::new("kill")
        .args([signal, &id])
        .status()
        .unwrap()
        .success());
    child.wait().unwrap().code()
}

#[test]
fn killed_and_stopped_shards_resume_to_the_same_bytes() {
    let dir = workdir("resume");
    ok(&dir, &sweep_args("one", &[]), &[]);
    ok(&dir, &sweep_args("whole1", &["--shard", "1/2"]), &[]);
    ok(&dir, &sweep_args("whole2", &["--shard", "2/2"]), &[]);
    assert!(
        !dir.join("whole1").join(JOURNAL).exists(),
        "a finished shard keeps no journal"
    );

    // Killed hard after 2 runs, with a torn line appended: 2 of 6 done, 4 run again.
    let args = sweep_args("shard1", &["--shard", "1/2"]);
    assert_eq!(stop_after(&dir, &args, 2, "-KILL"), None);
    let journal = dir.join("shard1").join(JOURNAL);
    assert!(!dir.join("shard1").join("sweep.json").exists());
    let mut bytes = fs::read(&journal).unwrap();
    bytes.extend_from_slice(b"{\"run\":2,\"row\":[\"8\",\"10\"");
    fs::write(&journal, &bytes).unwrap();
    let err = ok(&dir, &args, &[]);
    assert!(err.contains("discarded a torn last line"), "{err}");
    assert!(err.contains("resuming: 2 of 6 runs already done"), "{err}");

    // Stopped by SIGTERM after 3 runs: partial outputs and the journal; the last row is then
    // cut in half (a kill in the middle of a write), so 2 of 6 are done.
    let args = sweep_args("shard2", &["--shard", "2/2"]);
    assert_eq!(stop_after(&dir, &args, 3, "-TERM"), Some(143));
    let manifest = String::from_utf8(read(&dir.join("shard2"), "sweep.json")).unwrap();
    assert!(manifest.contains("\"partial\": true"), "{manifest}");
    let journal = dir.join("shard2").join(JOURNAL);
    let bytes = fs::read(&journal).unwrap();
    fs::write(&journal, &bytes[..bytes.len() - 20]).unwrap();
    let err = ok(&dir, &args, &[]);
    assert!(err.contains("resuming: 2 of 6 runs already done"), "{err}");

    for (resumed, whole) in [("shard1", "whole1"), ("shard2", "whole2")] {
        for file in ["runs.csv", "sweep.json"] {
            let (a, b) = (dir.join(resumed), dir.join(whole));
            assert_eq!(read(&a, file), read(&b, file), "{resumed}/{file}");
        }
        assert!(!dir.join(resumed).join(JOURNAL).exists());
    }
    ok(
        &dir,
        &["merge", "shard2", "shard1", "--out", "merged", "-q"],
        &[],
    );
    for file in ["runs.csv", "points.csv", "sweep.json"] {
        assert_eq!(
            read(&dir.join("one"), file),
            read(&dir.join("merged"), file),
            "{file}"
        );
    }
    // A finished directory is not resumed: it runs again, to the same bytes.
    let err = ok(&dir, &sweep_args("whole1", &["--shard", "1/2"]), &[]);
    assert!(!err.contains("resuming"), "{err}");
    assert_eq!(
        read(&dir.join("whole1"), "runs.csv"),
        read(&dir.join("shard1"), "runs.csv")
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn another_sweeps_progress_is_refused() {
    let dir = workdir("other");
    let args = sweep_args("part", &["--shard", "1/2"]);
    assert_eq!(stop_after(&dir, &args, 1, "-KILL"), None);
    let before = read(&dir.join("part"), JOURNAL);
    for (extra, seeds, what) in [
        (
            &["--shard", "1/2", "--set", "params.beta=9"][..],
            "3",
            "--set overrides differ",
        ),
        (&["--shard", "2/2"], "3", "--shard differ"),
        (&[], "3", "--shard differ"),
        (&["--shard", "1/2"], "4", "--seeds differ"),
    ] {
        let mut a = sweep_args("part", extra);
        a[7] = seeds;
        let err = fails(&dir, &a, "holds the unfinished progress of another sweep");
        assert!(err.contains(what), "{a:?}: {err}");
    }
    assert_eq!(
        read(&dir.join("part"), JOURNAL),
        before,
        "the journal is left as it was"
    );
    ok(&dir, &args, &[]);
    // A directory of other files gets no journal: the sweep stops before it runs.
    fs::create_dir_all(dir.join("mine")).unwrap();
    fs::write(dir.join("mine").join("notes.txt"), "mine").unwrap();
    fails(
        &dir,
        &sweep_args("mine", &[]),
        "is not a luxsim output directory",
    );
    assert!(!dir.join("mine").join(JOURNAL).exists());
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn shard_auto_reads_slurm_and_kubernetes_variables() {
    let dir = workdir("auto");
    ok(&dir, &sweep_args("two", &["--shard", "2/3"]), &[]);
    let slurm = [
        ("SLURM_ARRAY_TASK_ID", "5"),
        ("SLURM_ARRAY_TASK_MIN", "4"),
        ("SLURM_ARRAY_TASK_MAX", "6"),
        ("SLURM_ARRAY_TASK_COUNT", "3"),
        ("SLURM_ARRAY_TASK_STEP", "1"),
    ];
    ok(&dir, &sweep_args("slurm", &["--shard", "auto"]), &slurm);
    let k8s = [("JOB_COMPLETION_INDEX", "1"), ("LUXSIM_SHARD_COUNT", "3")];
    ok(&dir, &sweep_args("k8s", &["--shard", "auto"]), &k8s);
    ok(&dir, &sweep_args("k8s3", &["--shard", "auto/3"]), &k8s[..1]);
    for out in ["slurm", "k8s", "k8s3"] {
        for file in ["runs.csv", "sweep.json"] {
            assert_eq!(
                read(&dir.join("two"), file),
                read(&dir.join(out), file),
                "{out}"
            );
        }
    }
    for (env, wanted) in [
        (&[][..], "neither SLURM_ARRAY_TASK_ID"),
        (&[("JOB_COMPLETION_INDEX", "0")], "LUXSIM_SHARD_COUNT"),
        (
            &[
                ("SLURM_ARRAY_TASK_ID", "9"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
                ("SLURM_ARRAY_TASK_MAX", "3"),
            ],
            "outside",
        ),
        (
            &[
                ("SLURM_ARRAY_TASK_ID", "1"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
                ("SLURM_ARRAY_TASK_MAX", "5"),
                ("SLURM_ARRAY_TASK_STEP", "2"),
            ],
            "not contiguous",
        ),
    ] {
        let out = luxsim(&dir, &sweep_args("bad", &["--shard", "auto"]), env);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {err}");
        assert!(
            err.contains("--shard auto") && err.contains(wanted),
            "{env:?}: {err}"
        );
    }
    assert!(!dir.join("bad").exists());
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn merge_names_what_is_missing_and_allow_partial_merges_the_rest() {
    let dir = workdir("merge");
    ok(&dir, &sweep_args("s1", &["--shard", "1/3"]), &[]);
    ok(&dir, &sweep_args("s3", &["--shard", "3/3"]), &[]);
    // Shard 2 killed after 1 of its 4 runs: only a journal.
    assert_eq!(
        stop_after(&dir, &sweep_args("s2", &["--shard", "2/3"]), 1, "-KILL"),
        None
    );
    fails(
        &dir,
        &["merge", "s1", "s3", "--out", "m"],
        "shard 2 of 3 missing",
    );
    let err = fails(
        &dir,
        &["merge", "s3", "s2", "s1", "--out", "m"],
        "shard 2 of 3 (s2) has 1 of 4 runs",
    );
    assert!(err.contains("--allow-partial"), "{err}");
    assert!(!dir.join("m").exists());
    // Other grids, seeds or scenarios are refused.
    let mut other = sweep_args("o2", &["--shard", "2/3"]);
    other[3] = "params.k=8,12";
    ok(&dir, &other, &[]);
    fails(
        &dir,
        &["merge", "s1", "o2", "s3", "--out", "m"],
        "their --vary axes differ",
    );

    let out = luxsim(
        &dir,
        &[
            "merge",
            "s1",
            "s2",
            "s3",
            "--out",
            "m",
            "-q",
            "--allow-partial",
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("incomplete merge, 9 of 12 runs") && err.contains("\"partial\": true"),
        "{err}"
    );
    let manifest = String::from_utf8(read(&dir.join("m"), "sweep.json")).unwrap();
    assert!(
        manifest.contains("\"partial\": true") && manifest.contains("\"completed\": 9"),
        "{manifest}"
    );
    assert!(
        manifest.contains("shard 2 of 3 (s2) has 1 of 4 runs"),
        "{manifest}"
    );
    // points.csv counts the runs present: runs 5..7 are missing (points 1 and 2).
    let points = String::from_utf8(read(&dir.join("m"), "points.csv")).unwrap();
    let runs: Vec<&str> = points
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    assert_eq!(runs, ["3", "2", "1", "3"], "{points}");
    // An incomplete merge is not a shard to merge again.
    fails(&dir, &["merge", "m", "--out", "m2"], "has 9 of 12 runs");
    // The shard finished, the merge is whole and the same as one machine's.
    ok(&dir, &sweep_args("s2", &["--shard", "2/3"]), &[]);
    ok(&dir, &sweep_args("one", &[]), &[]);
    ok(&dir, &["merge", "s1", "s2", "s3", "--out", "m", "-q"], &[]);
    for file in ["runs.csv", "points.csv", "sweep.json"] {
        assert_eq!(
            read(&dir.join("one"), file),
            read(&dir.join("m"), file),
            "{file}"
        );
    }
    fs::remove_dir_all(dir).unwrap();
}
