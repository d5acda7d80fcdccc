"""Interop with libzmq (pyzmq): a `luxsim node` seen and driven from Python.

The test plays the node's only peer (id 1) with plain libzmq sockets and the frames of
docs/wire.md, with and without CURVE keys: it answers the node's queries on the connection
they came in on (its ROUTER), asks the node on its own DEALER and reads the answers there,
subscribes to the node's vote feed and decodes its 8-byte compact votes per
../shared/spec/wire.md, and publishes compact votes that the node receives and counts.

Run: LUXSIM_BIN=target/debug/luxsim python -m pytest tests/python
"""

import json
import os
import pathlib
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest
import zmq

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("LUXSIM_BIN") or str(ROOT / "target" / "debug" / "luxsim")

ENGINES = {0: "snowball", 1: "avalanche", 2: "snowflake", 3: "dag", 4: "chain", 5: "post_quantum"}
VOTE_TYPES = {1: "prefer", 2: "accept", 3: "reject"}


def unpack_vote(frame):
    """Decodes a compact vote: engine u8, node u16 BE, block u16 BE, type u8, 2 reserved."""
    if len(frame) != 8:
        raise ValueError(f"a compact vote is exactly 8 bytes, got {len(frame)}")
    engine, node, block, vote_type = struct.unpack(">BHHB", frame[:6])
    if engine not in ENGINES:
        raise ValueError(f"unknown engine type code {engine} at byte 0")
    if vote_type not in VOTE_TYPES:
        raise ValueError(f"unknown vote type code {vote_type} at byte 5")
    return ENGINES[engine], node, block, VOTE_TYPES[vote_type]


def pack_vote(engine, node, block, vote_type):
    return struct.pack(">BHHBxx", engine, node, block, vote_type)


def query_frame(sender, request, budget_ns):
    return b"LX\x01\x01" + struct.pack(">IIQ", sender, request, budget_ns)


def answer_frame(sender, request, choice):
    return b"LX\x01\x02" + struct.pack(">III", sender, request, choice)


def parse_frame(body):
    assert body[:3] == b"LX\x01", body
    kind = body[3]
    sender, request = struct.unpack(">II", body[4:12])
    if kind == 1:
        assert len(body) == 20
        return "query", sender, request, struct.unpack(">Q", body[12:20])[0]
    assert kind == 2 and len(body) == 16
    return "answer", sender, request, struct.unpack(">I", body[12:16])[0]


def test_spec_vector():
    vector = bytes([0x00, 0x01, 0x02, 0x12, 0x34, 0x01, 0x00, 0x00])
    assert unpack_vote(vector) == ("snowball", 0x0102, 0x1234, "prefer")
    assert pack_vote(0, 0x0102, 0x1234, 1) == vector


_NEXT_PORT = [10000 + os.getpid() * 97 % 20000]


def free_port():
    """A free port below the kernel's ephemeral range (32768 and up by default).

    A port found by binding port 0 comes from that range, and once released it can become
    the local port of an outgoing connection before the node binds it.
    """
    while True:
        port = _NEXT_PORT[0]
        _NEXT_PORT[0] = 10000 + (port - 10000 + 1) % 20000
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def metric(port, series):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return None
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.mark.parametrize("curve", [False, True], ids=["null", "curve"])
def test_node_feed_and_poll_protocol_with_libzmq(curve):
    listen, feed, metrics, peer, py_feed = (free_port() for _ in range(5))
    ctx = zmq.Context()
    publisher = ctx.socket(zmq.PUB)
    publisher.bind(f"tcp://127.0.0.1:{py_feed}")
    router = ctx.socket(zmq.ROUTER)  # peer 1's inbox: the node's queries arrive here
    dealer = ctx.socket(zmq.DEALER)  # peer 1's outbox: its queries to the node, and answers
    keys = ""
    if curve:
        node_public, node_secret = zmq.curve_keypair()
        peer_public, peer_secret = zmq.curve_keypair()
        router.curve_server = True
        router.curve_secretkey = peer_secret
        dealer.curve_serverkey = node_public
        dealer.curve_publickey = peer_public
        dealer.curve_secretkey = peer_secret
        keys = f'secret_key = "{node_secret.decode()}"'
    router.bind(f"tcp://127.0.0.1:{peer}")
    dealer.connect(f"tcp://127.0.0.1:{listen}")
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(f"tcp://127.0.0.1:{feed}")

    peer_key = f'public_key = "{peer_public.decode()}"' if curve else ""
    config = f"""
id = 0
{keys}
listen = "tcp://127.0.0.1:{listen}"
feed = "tcp://127.0.0.1:{feed}"
feed_connect = ["tcp://127.0.0.1:{py_feed}"]
metrics_port = {metrics}
engine = "snowball"
blocks = [0x1234, 0x5678]
initial = 0
poll_timeout = "500ms"
max_time = "60s"

[params]
k = 1
alpha_preference = 1
alpha_confidence = 1
beta = 3
concurrent_polls = 1

[[peers]]
id = 1
address = "tcp://127.0.0.1:{peer}"
{peer_key}
"""
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "node.toml"
        path.write_text(config)
        node = subprocess.Popen([BIN, "node", "--config", str(path)], stdout=subprocess.PIPE, text=True)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(node.stdout), daemon=True)
        reader.start()
        try:
            votes, answers = [], []
            poller = zmq.Poller()
            poller.register(router, zmq.POLLIN)
            poller.register(sub, zmq.POLLIN)
            poller.register(dealer, zmq.POLLIN)
            deadline = time.time() + 20
            request = 0
            while time.time() < deadline:
                publisher.send(pack_vote(2, 7, 0x1234, 1))  # a snowflake prefer vote by node 7
                publisher.send(b"\x00\x01")  # not a compact vote: dropped and counted
                if request < 500:
                    dealer.send(query_frame(1, request, 400_000_000))
                    request += 1
                for sock, _ in poller.poll(20):
                    if sock is router:  # peer 1's inbox: the node's queries
                        ident, body = router.recv_multipart()
                        kind, sender, req, value = parse_frame(body)
                        assert (kind, sender) == ("query", 0)
                        # Answer "block 0x5678" (choice 1) on the same connection, once our
                        # subscription is live: the node's answers showed up on the feed.
                        if votes:
                            router.send_multipart([ident, answer_frame(1, req, 1)])
                    elif sock is sub:
                        frame = sub.recv()
                        votes.append(unpack_vote(frame))
                    elif sock is dealer:  # the node's answers to our queries
                        kind, sender, req, value = parse_frame(dealer.recv())
                        assert (kind, sender) == ("answer", 0)
                        answers.append((req, value))
                received = metric(metrics, "luxsim_votes_received_total")
                accepted = ("snowball", 0, 0x5678, "accept") in votes
                if accepted and received and ("snowball", 0, 0x1234, "prefer") in votes:
                    break
            assert ("snowball", 0, 0x5678, "accept") in votes, votes[-10:]
            # Before it switched, the node answered our queries with its initial block.
            assert ("snowball", 0, 0x1234, "prefer") in votes
            assert all(v[1] == 0 for v in votes)
            assert answers and all(choice in (0, 1) for _, choice in answers)
            assert metric(metrics, "luxsim_votes_received_total") > 0
            assert metric(metrics, 'luxsim_frames_dropped_total{reason="malformed_vote"}') > 0
            assert metric(metrics, "luxsim_queries_received_total") > 0
            assert metric(metrics, "luxsim_finalized") == 1
        finally:
            node.send_signal(signal.SIGTERM)
            code = node.wait(timeout=15)
            reader.join(timeout=5)
            for s in (publisher, router, dealer, sub):
                s.close(linger=0)
            ctx.term()
        assert code == 0
        events = [json.loads(line) for line in lines if line.startswith("{")]
        summary = [e for e in events if e["event"] == "summary"][-1]
        assert summary["decided"] == 1
        assert summary["votes_received"] > 0
        assert any(e["event"] == "decided" and e["block"] == 0x5678 for e in events)
