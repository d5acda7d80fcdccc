//! The Dockerfile and compose.yaml (docs/bridge.md, "Docker").
//!
//! Always: every node file compose.yaml mounts loads (YAML, the Lux docs' layout), the
//! node ids match the services, and the ports the files bind are the ones the Dockerfile
//! exposes and compose publishes and health-checks. Where a Docker engine answers
//! (`docker info`), the image is built and a container checks a mounted node file with the
//! image's own binary; where none does, that part is skipped and says so on stderr.

use luxsim::bridge::NodeFile;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Deserialize)]
struct Compose {
    services: BTreeMap<String, Service>,
}

#[derive(Deserialize)]
struct Service {
    volumes: Vec<String>,
    ports: Vec<String>,
}

/// The Dockerfile's last `CMD` and its `EXPOSE`d ports.
fn dockerfile() -> (Vec<String>, Vec<u16>) {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let cmd = text
        .lines()
        .filter_map(|l| l.strip_prefix("CMD "))
        .next_back()
        .expect("a CMD");
    let cmd: Vec<String> = serde_json::from_str(cmd).expect("CMD in exec form");
    let expose = text
        .lines()
        .filter_map(|l| l.strip_prefix("EXPOSE "))
        .flat_map(|l| l.split_whitespace().map(|p| p.parse::<u16>().unwrap()))
        .collect();
    (cmd, expose)
}

fn port_of(endpoint: &str) -> u16 {
    endpoint.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn compose_mounts_node_files_that_load_and_agree_with_the_image() {
    let text = std::fs::read_to_string(root().join("compose.yaml")).unwrap();
    let compose: Compose = serde_saphyr::from_str(&text).expect("compose.yaml parses");
    let (cmd, exposed) = dockerfile();
    let config_at = cmd
        .iter()
        .position(|a| a == "--config")
        .map(|i| cmd[i + 1].clone())
        .expect("CMD names --config");
    assert!(
        config_at.ends_with(".yaml"),
        "the image reads YAML: {config_at}"
    );
    assert_eq!(compose.services.len(), 5);
    for (i, (name, service)) in compose.services.iter().enumerate() {
        assert_eq!(name, &format!("node{i}"));
        let mount = service
            .volumes
            .iter()
            .find(|v| v.split(':').nth(1) == Some(config_at.as_str()))
            .unwrap_or_else(|| panic!("{name} mounts nothing at {config_at}"));
        let file = root().join(mount.split(':').next().unwrap());
        let s = NodeFile::load(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let f = &s.file;
        assert_eq!(f.id, i as u32, "{name}");
        assert_eq!(f.metrics_host, "0.0.0.0", "{name}: reachable from outside");
        let mut bound = vec![port_of(&f.listen), f.metrics_port.unwrap()];
        bound.extend(f.feed.as_deref().map(port_of));
        bound.extend(f.health_port);
        for p in &bound {
            assert!(exposed.contains(p), "{name} binds {p}, not EXPOSEd");
        }
        for p in [f.metrics_port.unwrap(), f.health_port.unwrap()] {
            assert!(
                service.ports.iter().any(|m| m.ends_with(&format!(":{p}"))),
                "{name}: port {p} not published"
            );
        }
        for peer in &f.peers {
            assert_eq!(peer.address, format!("tcp://node{}:7000", peer.id));
        }
    }
    // The health check asks the health port of the files.
    assert!(
        text.contains("/dev/tcp/127.0.0.1/9200"),
        "health check on 9200"
    );
}

fn docker_engine() -> Result<(), String> {
    match Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
    {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr).trim().to_string()),
        Err(e) => Err(format!("no docker command: {e}")),
    }
}

#[test]
fn the_image_builds_and_checks_a_mounted_node_file() {
    if let Err(why) = docker_engine() {
        eprintln!("skipped: no Docker engine answers here, so the image is not built ({why})");
        return;
    }
    let tag = "luxsim:ci-test";
    let build = Command::new("docker")
        .args(["build", "-t", tag, "."])
        .current_dir(root())
        .status()
        .unwrap();
    assert!(build.success(), "docker build failed");
    let file: &Path = &root().join("deploy/compose/node-0.yaml");
    let mount = format!("{}:/etc/luxsim/node.yaml:ro", file.display());
    let out = Command::new("docker")
        .args(["run", "--rm", "-v", &mount, tag])
        .args(["node", "--config", "/etc/luxsim/node.yaml", "--check"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
