//! Runs the shipped baseline network (scenarios/baseline.toml, default parameters) at three
//! latency settings through the library, and prints the time to finality of each.
//!
//! ```sh
//! cargo run --release --example network_simulation
//! ```

use luxsim::sim::Latency;
use luxsim::sim::{run, RunOptions, Scenario};
use std::path::Path;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/baseline.toml");
    // `--set` overrides work in library use too: a smaller network, so each run is quick.
    let base = Scenario::load(&path, &["network.nodes=1000".to_string()])?;
    println!(
        "{}: {} nodes, k={} alpha={}/{} beta={}, poll timeout {:?}, seed {}",
        base.name,
        base.network.nodes,
        base.params.k,
        base.params.alpha_preference,
        base.params.alpha_confidence,
        base.params.beta,
        base.network.poll_timeout,
        base.seed
    );
    println!();
    println!(
        "{:<28} {:>10} {:>10} {:>10} {:>10} {:>7}",
        "latency (one way)", "finalized", "p50 ms", "p99 ms", "max ms", "safety"
    );
    let ms = Duration::from_millis;
    let settings = [
        ("lognormal median 10ms", ms(10)),
        ("lognormal median 40ms", ms(40)),
        ("lognormal median 150ms", ms(150)),
    ];
    for (label, median) in settings {
        // Change the scenario in code: same network, another latency distribution.
        let mut s = base.clone();
        s.network.latency = Latency::Lognormal { median, sigma: 0.5 };
        let summary = run(&s, &RunOptions::default())?.summary;
        println!(
            "{:<28} {:>9.1}% {:>10.1} {:>10.1} {:>10.1} {:>7}",
            label,
            summary.honest_finalized * 100.0,
            summary.finality_ms.unwrap().p50,
            summary.finality_ms.unwrap().p99,
            summary.finality_ms.unwrap().max,
            if summary.safety_violation {
                "VIOLATED"
            } else {
                "ok"
            }
        );
    }
    Ok(())
}
