"""ProductionNode: ``luxsim node`` from the docs' YAML, supervised from Python.

The node starts from a YAML file, logs into Python's logging at the configured level,
serves /metrics and /health on separate ports, says at start (and on /health) that polls
that can never succeed will never finalize, and stops gracefully on ``shutdown()``.
A bad YAML file is a ValueError naming file, line and column."""

import asyncio
import logging
import urllib.error
import urllib.request

import pytest

from luxsim import ProductionNode
from luxsim.node import free_ports

LIMIT = 120.0


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


async def until(check, limit=LIMIT):
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while loop.time() < end:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


CONFIG = """\
consensus:
  engine: snowball
  sampling: validators
  params:
    k: 20
    alpha_preference: 15
    alpha_confidence: 15
    beta: 20
network:
  bind_address: "tcp://127.0.0.1:{listen}"
  peers:
    - "tcp://127.0.0.1:{peer1}"
    - "tcp://127.0.0.1:{peer2}"
monitoring:
  metrics_port: 1
  log_level: {level}
"""


@pytest.fixture
def bin_env(luxsim_bin, monkeypatch):
    monkeypatch.setenv("LUXSIM_BIN", luxsim_bin)
    monkeypatch.delenv("RUST_LOG", raising=False)


@pytest.mark.asyncio
async def test_a_production_node_from_yaml_logs_serves_and_stops(tmp_path, bin_env, caplog):
    listen, peer1, peer2, metrics, health = free_ports(5)
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(listen=listen, peer1=peer1, peer2=peer2, level="DEBUG"))
    caplog.set_level(logging.DEBUG, logger="luxsim.node")

    node = ProductionNode.from_config(path)
    # `--check` already said what the node would warn about: k = 20 with 2 validators.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("no poll can succeed" in w for w in warnings), warnings
    node.enable_prometheus_metrics(port=metrics)  # overrides the file's metrics_port
    node.enable_health_check(port=health)
    task = asyncio.ensure_future(node.run())
    try:
        assert await until(lambda: get(metrics, "/metrics")[0] == 200)
        status, body = get(health, "/health")
        assert status == 503 and "no poll can succeed" in body, (status, body)
        assert get(metrics, "/metrics")[1].count("luxsim_") > 5
        assert await until(lambda: any(r.levelno == logging.DEBUG for r in caplog.records))
        infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
        assert infos, "the node's info lines reach Python's logging"
        assert any(e["event"] == "ready" for e in node.events)
        assert node.running
    finally:
        code = await node.shutdown()
    assert code == 0
    assert await asyncio.wait_for(task, LIMIT) == 0
    assert not node.running


@pytest.mark.asyncio
async def test_the_configured_level_filters_the_node_s_lines(tmp_path, bin_env, caplog):
    listen, peer1, peer2, metrics = free_ports(4)
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(listen=listen, peer1=peer1, peer2=peer2, level="warn"))
    caplog.set_level(logging.DEBUG, logger="luxsim.node")
    node = ProductionNode.from_config(path)
    node.enable_prometheus_metrics(port=metrics)
    node.start()
    try:
        assert await until(lambda: get(metrics, "/metrics")[0] == 200)
        status, body = get(metrics, "/health")  # no health port: /health beside /metrics
        assert status == 503
    finally:
        assert await node.shutdown() == 0
    levels = {r.levelno for r in caplog.records}
    assert logging.WARNING in levels and not levels & {logging.INFO, logging.DEBUG}, levels


def test_a_bad_yaml_file_names_file_line_and_column(tmp_path, bin_env):
    path = tmp_path / "config.yaml"
    path.write_text("consensus:\n  engine: snowball\n  params:\n    k: twenty\n")
    with pytest.raises(ValueError, match=r"config\.yaml:4:\d+: ") as e:
        ProductionNode.from_config(path)
    assert "TOML" not in str(e.value) and "expected '.'" not in str(e.value)
    with pytest.raises(FileNotFoundError):
        ProductionNode.from_config(tmp_path / "missing.yaml")


RUNNER = """
import asyncio, sys
from luxsim import ProductionNode

node = ProductionNode.from_config(sys.argv[1])
node.enable_prometheus_metrics(port=int(sys.argv[2]))
try:
    code = asyncio.run(node.run())
except KeyboardInterrupt:  # the docs' pattern; run() passes SIGINT on, so it is not reached
    code = asyncio.run(node.shutdown())
print("exit", code, node.events[-1]["event"], flush=True)
"""


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_to_python_stops_the_node_gracefully(tmp_path, bin_env, sig):
    import signal
    import subprocess
    import sys
    import time

    listen, peer1, peer2, metrics = free_ports(4)
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(listen=listen, peer1=peer1, peer2=peer2, level="info"))
    script = tmp_path / "run.py"
    script.write_text(RUNNER)
    p = subprocess.Popen(
        [sys.executable, str(script), str(path), str(metrics)], stdout=subprocess.PIPE, text=True
    )
    try:
        end = time.monotonic() + LIMIT
        while get(metrics, "/metrics")[0] != 200 and time.monotonic() < end:
            assert p.poll() is None, "the runner died"
            time.sleep(0.05)
        p.send_signal(getattr(signal, sig))
        out, _ = p.communicate(timeout=LIMIT)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, out
    # The node stopped by itself, cleanly, and wrote its summary: nothing was cut short.
    assert out.strip().endswith("exit 0 summary"), out
