//! Runs `scenarios/byzantine.toml` with 500 nodes and a polls-level trace into
//! `results/visualization/`, then writes its pictures there: the run figure as SVG and PNG,
//! the progress and finality panels alone, the network as DOT, and `report.html`.
//!
//! ```sh
//! cargo run --release --example visualization            # results/visualization/
//! cargo run --release --example visualization -- --docs  # and docs/img/*.svg
//! ```

use luxsim::plot::{self, draw};
use luxsim::sim::{self, RunOptions, Scenario, TraceFormat, TraceLevel};
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenario = Scenario::load(
        &root.join("scenarios/byzantine.toml"),
        &["network.nodes=500".to_string()],
    )?;
    let dir = PathBuf::from("results/visualization");
    let opts = RunOptions {
        out_dir: Some(dir.clone()),
        trace: TraceLevel::Polls,
        format: TraceFormat::Csv,
        progress: false,
        stop_on_signal: false,
    };
    let report = sim::run(&scenario, &opts)?;
    println!("{}", report.summary);

    let run = plot::load_run(&dir.join("trace.csv"), Some(&dir.join("summary.json")))?;
    let mut written = Vec::new();
    for name in ["plot.svg", "plot.png"] {
        draw::write_run_figure(&run, &dir.join(name))?;
        written.push(dir.join(name));
    }
    for (name, write) in [
        ("progress", draw::write_progress as fn(_, &_) -> _),
        ("cdf", draw::write_cdf),
    ] {
        for ext in ["svg", "png"] {
            let path = dir.join(format!("{name}.{ext}"));
            write(&run, &path)?;
            written.push(path);
        }
    }
    plot::write_dot(&scenario, &dir.join("network.dot"))?;
    written.push(dir.join("network.dot"));
    written.push(plot::write_report(&dir)?);

    if std::env::args().any(|a| a == "--docs") {
        let img = root.join("docs/img");
        draw::write_progress(&run, &img.join("byzantine-progress.svg"))?;
        draw::write_cdf(&run, &img.join("byzantine-finality-cdf.svg"))?;
        written.push(img.join("byzantine-progress.svg"));
        written.push(img.join("byzantine-finality-cdf.svg"));
    }
    for path in written {
        println!("  wrote {}", path.display());
    }
    Ok(())
}
