//! `luxsim check` through the binary: an unchanged engine passes, a tightened figure fails
//! with a table, and `--update` records the figures again.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A baseline over a small version of the shipped baseline scenario, with no values yet.
const BASELINE: &str = r#"{
  "about": "test baseline",
  "scenarios": [
    {
      "scenario": "scenarios/baseline.toml",
      "set": ["network.nodes=150", "params.k=10", "params.alpha_preference=7",
              "params.alpha_confidence=7", "params.beta=10"],
      "seeds": [1, 2],
      "figures": {
        "finality_p50": { "tolerance": 0.05 },
        "finality_p99": { "tolerance": 0.1 },
        "polls_p50": { "tolerance": 0.05 },
        "finalized": { "tolerance": 0.0 }
      }
    }
  ]
}
"#;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("luxsim-check-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `luxsim check --baseline FILE ARGS` from the repository root.
fn check(baseline: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_luxsim"))
        .arg("check")
        .arg("--baseline")
        .arg(baseline)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn figures(baseline: &Path) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&fs::read(baseline).unwrap()).unwrap();
    v["scenarios"][0]["figures"].clone()
}

#[test]
fn passes_fails_and_updates() {
    let dir = temp("cycle");
    let file = dir.join("baseline.json");
    fs::write(&file, BASELINE).unwrap();

    // No values yet: the check fails and says how to record them.
    let out = check(&file, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("NO BASELINE"));
    assert!(text(&out.stderr).contains("--update"));

    // Record, then an unchanged engine reproduces the figures exactly.
    let out = check(&file, &["--update", "--jobs", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let recorded = figures(&file);
    assert!(recorded["finality_p50"]["value"].as_f64().unwrap() > 0.0);
    assert_eq!(recorded["finalized"]["value"].as_f64(), Some(1.0));
    let out = check(&file, &["--jobs", "1"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("scenario") && stdout.contains("tolerance"));
    assert_eq!(stdout.matches(" ok").count(), 4, "{stdout}");
    assert!(stdout.contains("+0.00%"), "{stdout}");

    // Tighten one figure below what the engine reaches: exit 1 and a table that says so.
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    let p50 = recorded["finality_p50"]["value"].as_f64().unwrap();
    v["scenarios"][0]["figures"]["finality_p50"]["value"] = (p50 * 0.8).into();
    fs::write(&file, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let out = check(&file, &["--quiet"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("finality p50 (ms)"))
        .unwrap_or_else(|| panic!("no finality line in\n{stdout}"));
    assert!(line.contains("REGRESSED") && line.contains("+25.00%") && line.contains("5%"));
    assert_eq!(stdout.matches("REGRESSED").count(), 1, "{stdout}");
    assert!(text(&out.stderr).contains("1 figures regressed"));

    // --update restores the recorded figures, keeping tolerances and the rest of the file.
    let out = check(&file, &["--update", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(figures(&file), recorded);
    let again: serde_json::Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    assert_eq!(again["about"], "test baseline");
    assert_eq!(again["scenarios"][0]["seeds"], serde_json::json!([1, 2]));
    let out = check(&file, &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_baselines_exit_2() {
    let dir = temp("bad");
    let file = dir.join("baseline.json");
    for (content, wanted) in [
        ("{", "not a baseline"),
        (r#"{"scenarios": []}"#, "no scenarios"),
        (&BASELINE.replace("[1, 2]", "[]"), "no seeds"),
        (&BASELINE.replace("0.1 }", "-0.1 }"), "tolerance"),
        (&BASELINE.replace("\"seeds\"", "\"seed\""), "unknown field"),
        (
            &BASELINE.replace("baseline.toml", "nothing.toml"),
            "nothing.toml",
        ),
        (
            &BASELINE.replace("nodes=150", "nodes=many"),
            "network.nodes",
        ),
    ] {
        fs::write(&file, content).unwrap();
        let out = check(&file, &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{content}: {err}");
        assert!(err.contains(wanted), "{content}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = check(&dir.join("absent.json"), &[]);
    assert_eq!(out.status.code(), Some(2));
    fs::remove_dir_all(dir).unwrap();
}
