"""PUB/SUB throughput probe for pyzmq, same roles, modes and output as src/main.rs.

    python pyzmq_pubsub.py pub ENDPOINT steady SECS   # bind PUB, wait 500 ms, send for SECS
    python pyzmq_pubsub.py sub ENDPOINT steady        # rate over 1.0 .. 4.0 s after 1st message
    python pyzmq_pubsub.py pub ENDPOINT lossless N    # SNDHWM 0, send exactly N
    python pyzmq_pubsub.py sub ENDPOINT lossless N    # RCVHWM 0, N / (first .. N-th message)

Each process prints one JSON line (the subscriber's is the measurement).
"""
import json
import sys
import time

import zmq

PAYLOAD = bytes([0x00, 0x01, 0x02, 0x12, 0x34, 0x01, 0x00, 0x00])
JOIN_WAIT = 0.5         # publisher: let the subscriber join before sending
DRAIN_WAIT = 2.0        # publisher: stay up after the last send so queued messages leave
LINGER_MS = 30000       # publisher: on close, wait at most this for unsent messages
CLOCK_EVERY = 1024      # publisher / steady subscriber: read the clock once per 1024 messages
WINDOW = (1.0, 4.0)     # steady window, seconds after the subscriber's first message
WINDOW_SLACK = 0.05     # a boundary reading later than this means a stall: window is null
IDLE_LIMIT_MS = 3000    # subscriber: stop after 3 s without a message
FIRST_LIMIT_MS = 15000  # ... or 15 s before the first one
NAME = f"pyzmq-{zmq.pyzmq_version()} (libzmq-{zmq.zmq_version()})"


def pub(endpoint, mode, arg):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUB)
    if mode == "lossless":
        sock.setsockopt(zmq.SNDHWM, 0)
    sock.bind(endpoint)
    time.sleep(JOIN_WAIT)
    send = sock.send
    start = time.perf_counter()
    if mode == "steady":  # send back to back for `arg` seconds; PUB drops when its queue is full
        deadline, sent, batch = start + float(arg), 0, range(CLOCK_EVERY)
        while time.perf_counter() < deadline:
            for _ in batch:
                send(PAYLOAD)
            sent += CLOCK_EVERY
    else:  # lossless: exactly N
        sent = int(arg)
        for _ in range(sent):
            send(PAYLOAD)
    seconds = time.perf_counter() - start
    print(json.dumps({"role": "pub", "impl": NAME, "sent": sent, "seconds": round(seconds, 6),
                      "per_second": round(sent / seconds, 1)}), flush=True)
    time.sleep(DRAIN_WAIT)
    sock.close(linger=LINGER_MS)
    ctx.term()  # waits (up to the linger) until queued messages have left


def sub_steady(sock):
    """Count until silence; every CLOCK_EVERY messages read the clock, and the first reading at
    or after WINDOW[0] / WINDOW[1] from the first message marks the window (exact count, time).
    A marking reading more than WINDOW_SLACK late means a stall across the boundary: null."""
    recv, clock = sock.recv, time.perf_counter
    recv()  # first message (raises zmq.Again if none within FIRST_LIMIT)
    first = clock()
    sock.setsockopt(zmq.RCVTIMEO, IDLE_LIMIT_MS)
    received, start, end, late = 1, None, None, False
    try:
        while True:
            recv()
            received += 1
            if received % CLOCK_EVERY == 0 and end is None:
                now = clock()
                if start is None:
                    if now - first >= WINDOW[0]:
                        start = (received, now)
                        late |= now - first > WINDOW[0] + WINDOW_SLACK
                elif now - first >= WINDOW[1]:
                    end = (received, now)
                    late |= now - first > WINDOW[1] + WINDOW_SLACK
    except zmq.Again:
        pass  # silence: report what arrived
    if start and end and not late:
        window_s, in_window = end[1] - start[1], end[0] - start[0]
        result = {"window_s": round(window_s, 6), "received_in_window": in_window,
                  "per_second": round(in_window / window_s, 1)}
    else:  # the stream ended before the window did, or stalled across a boundary
        print(f"{NAME}: no valid window (stream ended before it, or stalled across a boundary)",
              file=sys.stderr)
        result = {"window_s": None, "received_in_window": None, "per_second": None}
    return {"impl": NAME, **result, "received_total": received}


def sub_lossless(sock, n):
    """Count until N arrived (or silence); rate = N / (first .. N-th message)."""
    recv, clock = sock.recv, time.perf_counter
    received, first, last = 0, None, None
    try:
        while received < n:
            recv()
            received += 1
            if received == 1:
                first = clock()
                sock.setsockopt(zmq.RCVTIMEO, IDLE_LIMIT_MS)
        last = clock()
    except zmq.Again:
        pass  # silence: incomplete
    seconds = (last - first) if last is not None else 0.0
    return {"impl": NAME + " (hwm 0, lossless)", "n": n, "received_total": received,
            "complete": received == n, "seconds": round(seconds, 6),
            "per_second": round(n / seconds, 1) if seconds > 0 else 0.0}


def sub(endpoint, mode, arg):
    sock = zmq.Context.instance().socket(zmq.SUB)
    if mode == "lossless":
        sock.setsockopt(zmq.RCVHWM, 0)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(endpoint)
    sock.setsockopt(zmq.RCVTIMEO, FIRST_LIMIT_MS)
    result = sub_steady(sock) if mode == "steady" else sub_lossless(sock, int(arg))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    role, endpoint, mode = sys.argv[1:4]
    arg = sys.argv[4] if len(sys.argv) > 4 else None
    {"pub": pub, "sub": sub}[role](endpoint, mode, arg)
