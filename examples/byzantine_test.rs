//! Runs one network honest and then with 10 % Byzantine nodes playing each strategy, and
//! prints how many honest nodes finalized, how fast, and whether safety held.
//!
//! ```sh
//! cargo run --release --example byzantine_test
//! ```

use luxsim::sim::{run, RunOptions, Scenario, Summary};

/// 1,000 nodes, default parameters (k=20, alpha 15/15, beta 20), an even split to start from.
const NETWORK: &str = r#"
name = "byzantine-test"
seed = 42
max_time = "60s"

[params]
preset = "default"

[network]
nodes = 1000
latency = { model = "lognormal", median = "40ms", sigma = 0.5 }
poll_timeout = "500ms"

[workload]
choices = 2
initial = [0.5, 0.5]
"#;

fn run_with(sets: &[String]) -> Result<Summary, Box<dyn std::error::Error>> {
    let scenario = Scenario::parse(NETWORK, "byzantine_test", sets)?;
    Ok(run(&scenario, &RunOptions::default())?.summary)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("1000 nodes, default parameters, lognormal latency (median 40ms), poll timeout 500ms");
    println!("10 % of the nodes Byzantine (chosen by stake from seed 42), target 1 for stubborn");
    println!();
    println!(
        "{:<12} {:>9} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "strategy", "byzantine", "finalized", "p50 ms", "p99 ms", "decided", "safety"
    );
    let strategies = [
        "silent",
        "stubborn",
        "random",
        "equivocate",
        "balance",
        "delay",
    ];
    for strategy in std::iter::once("honest").chain(strategies) {
        let sets = match strategy {
            "honest" => Vec::new(),
            s => vec![
                format!("byzantine.strategy={s}"),
                "byzantine.fraction=0.1".to_string(),
            ],
        };
        let s = run_with(&sets)?;
        let decided: Vec<String> = s.decided.iter().map(|(c, n)| format!("{c}:{n}")).collect();
        println!(
            "{:<12} {:>9} {:>9.1}% {:>10.1} {:>10.1} {:>10} {:>9}",
            strategy,
            s.byzantine.count,
            s.honest_finalized * 100.0,
            s.finality_ms.unwrap().p50,
            s.finality_ms.unwrap().p99,
            decided.join(" "),
            if s.safety_violation { "VIOLATED" } else { "ok" }
        );
    }
    Ok(())
}
