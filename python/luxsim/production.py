"""The docs' ``ProductionNode``: ``luxsim node`` (the Rust bridge node) started from a YAML
or TOML file and supervised from Python.

The production node is the project's one node binary: the same state machine the simulator
drives, on libzmq sockets with CURVE, Prometheus ``/metrics`` and ``/health``. Python starts
it, forwards its log lines into :mod:`logging` (logger ``luxsim.node``, at their own level),
collects its JSON events (``events``), and stops it gracefully: ``shutdown()`` sends
SIGTERM, and a SIGINT or SIGTERM of the Python process during ``run()`` is passed on.

The binary is ``$LUXSIM_BIN`` if set, else ``luxsim`` on ``PATH`` (``cargo install --path .
--features bridge`` installs it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

__all__ = ["ProductionNode"]

log = logging.getLogger("luxsim.node")

_LEVELS = {
    "ERROR": logging.ERROR,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "INFO": logging.INFO,
    "DEBUG": logging.DEBUG,
    "TRACE": logging.DEBUG,
}


def _record(line: str) -> Dict[str, Any]:
    """A JSON log line of the node as a dict (a line that is not one: its text as ``msg``)."""
    try:
        rec = json.loads(line)
    except ValueError:
        return {"msg": line}
    return rec if isinstance(rec, dict) else {"msg": line}


def _binary() -> str:
    b = os.environ.get("LUXSIM_BIN") or shutil.which("luxsim")
    if not b:
        raise FileNotFoundError(
            "ProductionNode runs the luxsim binary: set LUXSIM_BIN, or put luxsim on PATH "
            "(cargo install --path . --features bridge)"
        )
    return b


class ProductionNode:
    """``luxsim node --config FILE`` as a supervised child process (see the module's doc)."""

    def __init__(self, config: Union[str, Path]) -> None:
        self.config = Path(config)
        self.metrics_port: Optional[int] = None
        self.health_port: Optional[int] = None
        self.log_level: Optional[str] = None
        #: The node's JSON events (``ready``, ``decided``, ``accepted``, ...).
        self.events: List[Dict[str, Any]] = []
        self._proc: Optional[subprocess.Popen[bytes]] = None
        self._threads: List[threading.Thread] = []
        self._started = threading.Event()

    @classmethod
    def from_config(cls, path: Union[str, Path]) -> "ProductionNode":
        """A node for the file at ``path`` (YAML by a ``.yaml``/``.yml`` name, else TOML).
        The file is checked now: a bad file raises ``ValueError`` with the node's
        ``file:line:column`` message."""
        node = cls(path)
        if not node.config.is_file():
            raise FileNotFoundError(f"no node configuration at {node.config}")
        check = subprocess.run(
            [_binary(), "node", "--config", str(node.config), "--check", "--log-format", "json"],
            capture_output=True,
            text=True,
        )
        for line in check.stderr.splitlines():
            rec = _record(line)
            level = _LEVELS.get(str(rec.get("level", "INFO")).upper(), logging.INFO)
            if check.returncode != 0 and level >= logging.ERROR:
                raise ValueError(rec.get("msg", line))
            log.log(level, "%s", rec.get("msg", line))  # what the node would warn about
        if check.returncode != 0:
            raise ValueError(check.stderr.strip() or f"luxsim node --check exited with {check.returncode}")
        return node

    def enable_prometheus_metrics(self, port: int) -> None:
        """Serves ``/metrics`` on ``port`` (overrides the file's ``metrics_port``)."""
        self.metrics_port = int(port)

    def enable_health_check(self, port: int) -> None:
        """Serves ``/health`` on its own ``port`` (overrides the file's ``health_port``)."""
        self.health_port = int(port)

    def set_log_level(self, level: str) -> None:
        """The node's log level: error, warn, info, debug or trace (overrides the file)."""
        self.log_level = level

    @property
    def running(self) -> bool:
        """Whether the node process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> Optional[int]:
        """The node's exit status once it has stopped (0: a clean shutdown)."""
        return None if self._proc is None else self._proc.poll()

    def command(self) -> List[str]:
        """The command line ``run()`` starts."""
        cmd = [_binary(), "node", "--config", str(self.config), "--log-format", "json"]
        if self.metrics_port is not None:
            cmd += ["--metrics-port", str(self.metrics_port)]
        if self.health_port is not None:
            cmd += ["--health-port", str(self.health_port)]
        if self.log_level is not None:
            cmd += ["--log-level", self.log_level]
        return cmd

    def start(self) -> None:
        """Starts the node process (``run()`` does this and waits)."""
        if self.running:
            raise RuntimeError("the node is already running")
        self._proc = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._threads = [
            threading.Thread(target=self._read_events, args=(self._proc.stdout,), daemon=True),
            threading.Thread(target=self._read_logs, args=(self._proc.stderr,), daemon=True),
        ]
        for t in self._threads:
            t.start()

    async def run(self) -> int:
        """Starts the node and waits until it stops; SIGINT and SIGTERM of this process stop
        it gracefully. Returns its exit status."""
        if not self.running:
            self.start()
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._terminate)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
                pass
        try:
            while self.running:
                await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            self._terminate()
            raise
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
        self._join()
        return self.returncode or 0

    async def shutdown(self, timeout: float = 30.0) -> Optional[int]:
        """Stops the node gracefully (SIGTERM, then SIGKILL after ``timeout`` seconds)."""
        if self._proc is None:
            return None
        self._terminate()
        proc = self._proc
        try:
            await asyncio.get_running_loop().run_in_executor(None, proc.wait, timeout)
        except subprocess.TimeoutExpired:
            log.warning("node did not stop within %s s: killing it", timeout)
            proc.kill()
            proc.wait()
        self._join()
        return proc.returncode

    def wait_started(self, timeout: float = 60.0) -> bool:
        """Waits until the node reports it started (its ``ready`` event: sockets bound)."""
        return self._started.wait(timeout)

    def _terminate(self) -> None:
        if self.running:
            assert self._proc is not None
            self._proc.send_signal(signal.SIGTERM)

    def _join(self) -> None:
        for t in self._threads:
            t.join(timeout=5)

    def _read_events(self, stream: Any) -> None:
        for raw in stream:
            try:
                event = json.loads(raw)
            except ValueError:
                log.info("%s", raw.decode(errors="replace").rstrip())
                continue
            self.events.append(event)
            if event.get("event") == "ready":
                self._started.set()

    def _read_logs(self, stream: Any) -> None:
        for raw in stream:
            line = raw.decode(errors="replace").rstrip()
            rec = _record(line)
            level = _LEVELS.get(str(rec.get("level", "WARN")).upper(), logging.WARNING)
            log.log(level, "%s", rec.get("msg", line))
