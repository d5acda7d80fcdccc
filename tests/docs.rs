//! The docs run as written: every shell command in `README.md` and `docs/*.md` is executed
//! and must exit 0, every synopsis names only flags that exist, and every scenario shown in
//! a ```toml block loads (and runs, when it is a whole scenario).
//!
//! Commands run under `bash` in a scratch directory holding the repository's `scenarios/`,
//! `deploy/` and `examples/`, with the `luxsim` under test first on `PATH`;
//! `cargo run --release --` stands for that binary, and the test command (`scripts/test`,
//! of which this suite is part) is not run again. A block that cannot run here says why in a comment just above it,
//! `<!-- not run: REASON -->` (Docker, a scheduler's job script); this test lists them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fenced block: its language, its lines, where it starts, and the reason it is not run.
#[derive(Debug)]
struct Block {
    file: String,
    line: usize,
    lang: String,
    body: Vec<String>,
    not_run: Option<String>,
}

fn blocks(path: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(path).unwrap();
    let file = path.strip_prefix(root()).unwrap().display().to_string();
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    let mut reason: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(b) = open.as_mut() {
            if line.starts_with("```") {
                out.push(open.take().unwrap());
            } else {
                b.body.push(line.to_string());
            }
            continue;
        }
        if let Some(lang) = line.strip_prefix("```") {
            open = Some(Block {
                file: file.clone(),
                line: i + 1,
                lang: lang.trim().to_string(),
                body: Vec::new(),
                not_run: reason.take(),
            });
        } else if let Some(r) = line
            .trim()
            .strip_prefix("<!-- not run:")
            .and_then(|r| r.strip_suffix("-->"))
        {
            reason = Some(r.trim().to_string());
        } else if !line.trim().is_empty() {
            reason = None;
        }
    }
    out
}

fn docs() -> Vec<Block> {
    let mut files = vec![root().join("README.md")];
    let mut more: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    more.sort();
    files.extend(more);
    files.iter().flat_map(|f| blocks(f)).collect()
}

/// The commands of a shell block: continuations joined, comments dropped.
fn commands(b: &Block) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in &b.body {
        let line = strip_comment(line);
        if let Some(part) = line.trim_end().strip_suffix('\\') {
            current.push_str(part.trim());
            current.push(' ');
            continue;
        }
        current.push_str(line.trim());
        if !current.trim().is_empty() {
            out.push(current.trim().to_string());
        }
        current.clear();
    }
    out
}

/// `cmd   # comment` -> `cmd`; a `#` inside quotes is kept.
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let bytes = line.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        match c {
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'#' if !single && !double && (i == 0 || bytes[i - 1] == b' ') => return &line[..i],
            _ => {}
        }
    }
    line
}

/// A synopsis (`luxsim run SCENARIO [--seed N] ...`), not a command to run.
fn is_synopsis(cmd: &str) -> bool {
    cmd.contains(" [--")
        || cmd.contains("...")
        || cmd
            .split_whitespace()
            .skip(2)
            .any(|w| w.len() > 1 && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
}

/// A scratch directory with the repository's inputs, and a PATH with `luxsim` first.
struct Workdir {
    dir: PathBuf,
    path: String,
}

impl Workdir {
    fn new(tag: &str) -> Workdir {
        let dir = std::env::temp_dir().join(format!("luxsim-docs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("results")).unwrap();
        for name in ["scenarios", "deploy", "examples", "bench", "tests"] {
            std::os::unix::fs::symlink(root().join(name), dir.join(name)).unwrap();
        }
        std::fs::copy(
            root().join("results/baseline.json"),
            dir.join("results/baseline.json"),
        )
        .unwrap();
        let bin = Path::new(env!("CARGO_BIN_EXE_luxsim")).parent().unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Workdir { dir, path }
    }

    fn bash(&self, cmd: &str) -> Command {
        let mut c = Command::new("bash");
        c.arg("-c")
            .arg(format!("set -eo pipefail; {cmd}"))
            .current_dir(&self.dir)
            .env("PATH", &self.path);
        c
    }

    /// Runs `cmd` to its end (or kills it after a generous limit): (success, output).
    fn run(&self, cmd: &str) -> (bool, String) {
        let mut child = self
            .bash(cmd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let until = Instant::now() + Duration::from_secs(900);
        while Instant::now() < until {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Starts a command that runs until stopped (`luxsim node`), waits for its `ready` line,
    /// stops it with SIGTERM and returns whether it then exited cleanly.
    fn run_until_ready(&self, cmd: &str) -> (bool, String) {
        use std::io::{BufRead, BufReader};
        let mut child = self
            .bash(&format!("exec {cmd}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let ready = rx
            .recv_timeout(Duration::from_secs(60))
            .is_ok_and(|l| l.contains("\"ready\""));
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let status = child.wait().unwrap();
        (ready && status.success(), format!("ready: {ready}"))
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the docs' `luxsim` commands become here: `cargo run --release --` is the binary
/// under test; commands of the `bridge` feature are skipped in a build without it.
fn resolve(cmd: &str) -> Option<String> {
    let cmd = cmd.replace("cargo run --release --", "luxsim");
    let bridge = ["luxsim node", "luxsim cluster"];
    if !cfg!(feature = "bridge") && bridge.iter().any(|b| cmd.starts_with(b)) {
        return None;
    }
    Some(cmd)
}

#[test]
fn every_shell_command_in_the_docs_runs() {
    let work = Workdir::new("sh");
    let mut ran = Vec::new();
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for b in docs().iter().filter(|b| b.lang == "sh") {
        if let Some(reason) = &b.not_run {
            skipped.push(format!("{}:{} ({reason})", b.file, b.line));
            continue;
        }
        for cmd in commands(b) {
            // The test command itself (this suite is part of it) is not run again.
            let test_command = cmd == "scripts/test" || cmd.starts_with("cargo test");
            if test_command || is_synopsis(&cmd) {
                continue;
            }
            let Some(cmd) = resolve(&cmd) else { continue };
            let t0 = Instant::now();
            let (ok, out) = if cmd.starts_with("luxsim node") {
                work.run_until_ready(&cmd)
            } else {
                work.run(&cmd)
            };
            ran.push(format!("{cmd} ({:.1}s)", t0.elapsed().as_secs_f64()));
            if !ok {
                failures.push(format!("{}:{}: {cmd}\n{out}", b.file, b.line));
            }
        }
    }
    eprintln!(
        "ran {} commands:\n  {}\nnot run: {}",
        ran.len(),
        ran.join("\n  "),
        skipped.join(", ")
    );
    assert!(ran.len() >= 5, "the docs show commands: {ran:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_synopsis_names_only_flags_that_exist() {
    let bin = env!("CARGO_BIN_EXE_luxsim");
    let mut problems = Vec::new();
    for b in docs().iter().filter(|b| b.lang == "sh") {
        for cmd in commands(b).iter().filter(|c| is_synopsis(c)) {
            let words: Vec<&str> = cmd.split_whitespace().collect();
            if words.first() != Some(&"luxsim") || words.len() < 2 {
                continue;
            }
            let sub = words[1];
            let help = Command::new(bin).args([sub, "--help"]).output().unwrap();
            if !help.status.success() {
                if cfg!(feature = "bridge") || !["node", "cluster"].contains(&sub) {
                    problems.push(format!("{}:{}: no subcommand {sub}", b.file, b.line));
                }
                continue;
            }
            let help = String::from_utf8_lossy(&help.stdout);
            for flag in words.iter().filter_map(|w| {
                let w = w.trim_start_matches('[').trim_end_matches([']', ',']);
                let f = w.split(['=', '|']).next()?;
                f.starts_with("--").then_some(f)
            }) {
                if !help.contains(flag) {
                    problems.push(format!("{}:{}: luxsim {sub} has no {flag}", b.file, b.line));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_scenario_shown_loads_and_whole_ones_run() {
    let work = Workdir::new("toml");
    let mut failures = Vec::new();
    let mut whole = 0;
    for (i, b) in docs().iter().filter(|b| b.lang == "toml").enumerate() {
        let text = b.body.join("\n");
        let path = work.dir.join(format!("doc-{i}.toml"));
        std::fs::write(&path, &text).unwrap();
        let parsed: Result<toml::Table, _> = text.parse();
        let Ok(table) = parsed else {
            failures.push(format!("{}:{}: not TOML", b.file, b.line));
            continue;
        };
        if !(table.contains_key("name") && table.contains_key("network")) {
            continue; // a fragment of a scenario, shown for one section
        }
        whole += 1;
        let (ok, out) = work.run(&format!("luxsim run --quiet {}", path.display()));
        if !ok {
            failures.push(format!("{}:{}: luxsim run failed\n{out}", b.file, b.line));
        }
    }
    assert!(whole >= 1, "the scenario reference shows a whole scenario");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_parser_of_this_test_reads_blocks_and_commands() {
    let b = Block {
        file: "x.md".into(),
        line: 1,
        lang: "sh".into(),
        body: vec![
            "luxsim run a.toml   # the main job".into(),
            "luxsim sweep a.toml \\".into(),
            "    --vary 'k=1,2' --seeds 2".into(),
            "#SBATCH --array=1-4".into(),
            "luxsim run --set 'x=\"#1\"' b.toml".into(),
        ],
        not_run: None,
    };
    assert_eq!(
        commands(&b),
        [
            "luxsim run a.toml",
            "luxsim sweep a.toml --vary 'k=1,2' --seeds 2",
            "luxsim run --set 'x=\"#1\"' b.toml"
        ]
    );
    assert!(is_synopsis("luxsim run SCENARIO [--seed N]"));
    assert!(is_synopsis("luxsim merge DIR... --out DIR"));
    assert!(!is_synopsis("luxsim run scenarios/byzantine.toml --seed 3"));
}
