//! PUB/SUB throughput probe, 8-byte messages over TCP, one publisher and one subscriber process.
//!
//! steady:   the publisher sends back to back for SECS of wall time (PUB drops whatever its
//!           queue cannot take); the subscriber reports the rate it received at over a steady
//!           window, 1.0 s .. 4.0 s after its first message (start-up and the publisher's end
//!           are outside it), plus its total.
//! lossless: (libzmq only) SNDHWM = RCVHWM = 0, the publisher sends exactly N, the subscriber
//!           must receive all N and reports N / (first .. last received message).
//!
//!   transport-choice pub-rs  ENDPOINT steady SECS       # pure-Rust `zeromq` 0.7 on tokio
//!   transport-choice sub-rs  ENDPOINT steady
//!   transport-choice pub-zmq ENDPOINT steady SECS | lossless N   # libzmq through `zmq` 0.10
//!   transport-choice sub-zmq ENDPOINT steady      | lossless N
//!
//! Each process prints one JSON line on stdout (the subscriber's is the measurement; the
//! publisher's says how many sends it attempted, to tell whether it or the subscriber limited).

use std::time::{Duration, Instant};

/// The message every publisher sends: 8 bytes.
const PAYLOAD: [u8; 8] = [0x00, 0x01, 0x02, 0x12, 0x34, 0x01, 0x00, 0x00];
/// How long the publisher waits after binding, so the subscriber has joined before it sends.
const JOIN_WAIT: Duration = Duration::from_millis(500);
/// How long the publisher stays up after its last send, so queued messages can leave.
const DRAIN_WAIT: Duration = Duration::from_secs(2);
/// libzmq publisher: on close, wait at most this long for unsent messages (lossless: all N).
const LINGER_MS: i32 = 30_000;
/// Publisher and steady subscriber read the clock once per this many messages, not per message.
const CLOCK_EVERY: u64 = 1024;
/// The steady window, measured from the subscriber's first message.
const WINDOW_START: Duration = Duration::from_secs(1);
const WINDOW_END: Duration = Duration::from_secs(4);
/// A boundary is only trusted if the reading that marks it comes at most this late (else the
/// stream stalled across it and the window is reported as null).
const WINDOW_SLACK: Duration = Duration::from_millis(50);
/// The subscriber stops after this long without a message (and reports what arrived).
const IDLE_LIMIT: Duration = Duration::from_secs(3);
/// ... except before the first message, which may take a little longer (process start-up).
const FIRST_LIMIT: Duration = Duration::from_secs(15);

enum Mode {
    /// Publisher: send for this long. Subscriber: the duration is unused.
    Steady(Duration),
    /// Send / require exactly N messages, high-water marks 0.
    Lossless(u64),
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (cmd, endpoint, mode) = match args.as_slice() {
        [cmd, ep, "steady", secs] => (*cmd, *ep, Mode::Steady(Duration::from_secs_f64(secs.parse().expect("SECS")))),
        [cmd, ep, "steady"] => (*cmd, *ep, Mode::Steady(Duration::ZERO)),
        [cmd, ep, "lossless", n] => (*cmd, *ep, Mode::Lossless(n.parse().expect("N"))),
        _ => {
            eprintln!("usage: transport-choice pub-rs|sub-rs|pub-zmq|sub-zmq ENDPOINT steady [SECS] | lossless N");
            std::process::exit(2);
        }
    };
    match (cmd, mode) {
        ("pub-rs", Mode::Steady(secs)) => tokio_rt().block_on(pub_rs(endpoint, secs)),
        ("sub-rs", Mode::Steady(_)) => tokio_rt().block_on(sub_rs(endpoint)),
        ("pub-rs" | "sub-rs", Mode::Lossless(_)) => {
            eprintln!("the zeromq crate has no high-water-mark option: no lossless variant");
            std::process::exit(2);
        }
        ("pub-zmq", mode) => pub_zmq(endpoint, mode),
        ("sub-zmq", mode) => sub_zmq(endpoint, mode),
        (other, _) => panic!("unknown subcommand {other}"),
    }
}

/// Steady-state subscriber bookkeeping. `tick()` once per received message; every CLOCK_EVERY
/// messages it reads the clock, and the first reading at or after WINDOW_START / WINDOW_END
/// (from the first message) marks the window's start / end with its exact count and time.
/// So the window is 3.0 s plus at most one reading interval, and `window_s` is its real length.
/// A marking reading more than WINDOW_SLACK late means a stall across the boundary: `late`.
#[derive(Default)]
struct Window {
    received: u64,
    first: Option<Instant>,
    start: Option<(u64, Instant)>,
    end: Option<(u64, Instant)>,
    late: bool,
}

impl Window {
    fn tick(&mut self) {
        self.received += 1;
        if self.received == 1 {
            self.first = Some(Instant::now());
        } else if self.received % CLOCK_EVERY == 0 && self.end.is_none() {
            let now = Instant::now();
            let since_first = now - self.first.unwrap();
            if self.start.is_none() {
                if since_first >= WINDOW_START {
                    self.start = Some((self.received, now));
                    self.late |= since_first > WINDOW_START + WINDOW_SLACK;
                }
            } else if since_first >= WINDOW_END {
                self.end = Some((self.received, now));
                self.late |= since_first > WINDOW_END + WINDOW_SLACK;
            }
        }
    }

    /// The subscriber's result line (nulls if the stream ended before the window did, or
    /// stalled across one of its boundaries).
    fn report(&self, name: &str) {
        if self.late || self.end.is_none() {
            eprintln!("{name}: no valid window (stream ended before it, or stalled across a boundary)");
        }
        let (window_s, in_window, per_second) = match (self.start, self.end) {
            (Some((n0, t0)), Some((n1, t1))) if !self.late => {
                let s = (t1 - t0).as_secs_f64();
                (format!("{s:.6}"), (n1 - n0).to_string(), format!("{:.1}", (n1 - n0) as f64 / s))
            }
            _ => ("null".into(), "null".into(), "null".into()),
        };
        println!(
            "{{\"impl\":\"{name}\",\"window_s\":{window_s},\"received_in_window\":{in_window},\"per_second\":{per_second},\"received_total\":{}}}",
            self.received
        );
    }
}

/// The lossless subscriber's result line: rate = N / (first .. last received message).
fn report_lossless(name: &str, n: u64, received: u64, first: Option<Instant>, last: Option<Instant>) {
    let seconds = match (first, last) {
        (Some(f), Some(l)) => (l - f).as_secs_f64(),
        _ => 0.0,
    };
    let per_second = if seconds > 0.0 { n as f64 / seconds } else { 0.0 };
    println!(
        "{{\"impl\":\"{name} (hwm 0, lossless)\",\"n\":{n},\"received_total\":{received},\"complete\":{},\"seconds\":{seconds:.6},\"per_second\":{per_second:.1}}}",
        received == n
    );
}

/// The publisher's line: how many sends it made (for steady PUBs, including the ones the
/// socket dropped) and how long they took.
fn report_pub(name: &str, sent: u64, seconds: f64) {
    println!(
        "{{\"role\":\"pub\",\"impl\":\"{name}\",\"sent\":{sent},\"seconds\":{seconds:.6},\"per_second\":{:.1}}}",
        sent as f64 / seconds
    );
}

// ---- (a) pure-Rust `zeromq` crate --------------------------------------------------------

const RS_NAME: &str = "zeromq-0.7 (pure Rust, tokio)";

/// The default multi-threaded runtime (one worker per core): the crate's PUB fan-out and
/// writer run as tasks, and need a second worker while the send loop keeps the first busy.
fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

/// Publisher: bind, wait for the subscriber, then `send().await` back to back for `secs`.
/// (The crate's PUB queues are fixed at 100,000 messages and drop when full.)
async fn pub_rs(endpoint: &str, secs: Duration) {
    use zeromq::{Socket, SocketSend};
    let mut sock = zeromq::PubSocket::new();
    sock.bind(endpoint).await.expect("bind");
    tokio::time::sleep(JOIN_WAIT).await;
    let msg = zeromq::ZmqMessage::from(PAYLOAD.to_vec());
    let (start, mut sent) = (Instant::now(), 0u64);
    while start.elapsed() < secs {
        for _ in 0..CLOCK_EVERY {
            sock.send(msg.clone()).await.expect("send");
        }
        sent += CLOCK_EVERY;
    }
    report_pub(RS_NAME, sent, start.elapsed().as_secs_f64());
    tokio::time::sleep(DRAIN_WAIT).await;
}

/// Subscriber: empty subscription, count until IDLE_LIMIT of silence or the publisher leaves.
/// (Idle detection wraps each recv in `tokio::time::timeout`, one clock read per message.)
async fn sub_rs(endpoint: &str) {
    use zeromq::{Socket, SocketRecv};
    let mut sock = zeromq::SubSocket::new();
    sock.subscribe("").await.expect("subscribe");
    sock.connect(endpoint).await.expect("connect"); // retries until the publisher binds
    let mut w = Window::default();
    loop {
        let limit = if w.received == 0 { FIRST_LIMIT } else { IDLE_LIMIT };
        match tokio::time::timeout(limit, sock.recv()).await {
            Ok(Ok(_msg)) => w.tick(),
            Ok(Err(e)) if w.received == 0 => panic!("recv: {e}"),
            Ok(Err(e)) => {
                eprintln!("sub-rs: recv error after {} messages: {e:?}", w.received);
                break; // publisher gone: report what arrived
            }
            Err(_) => {
                eprintln!("sub-rs: {IDLE_LIMIT:?} of silence after {} messages", w.received);
                break; // silence: report what arrived
            }
        }
    }
    w.report(RS_NAME);
}

// ---- (b) libzmq through the `zmq` binding --------------------------------------------------

fn zmq_name() -> String {
    let (a, b, c) = zmq::version();
    format!("libzmq-{a}.{b}.{c} via zmq-0.10")
}

/// Publisher: bind, wait for the subscriber, then a plain blocking `send` per message:
/// for `secs` (default SNDHWM 1000, PUB drops when full) or exactly N with SNDHWM 0.
fn pub_zmq(endpoint: &str, mode: Mode) {
    let ctx = zmq::Context::new();
    let sock = ctx.socket(zmq::PUB).unwrap();
    sock.set_linger(LINGER_MS).unwrap(); // dropping `ctx` waits up to this for queued messages
    if let Mode::Lossless(_) = mode {
        sock.set_sndhwm(0).unwrap();
    }
    sock.bind(endpoint).expect("bind");
    std::thread::sleep(JOIN_WAIT);
    let (start, mut sent) = (Instant::now(), 0u64);
    match mode {
        Mode::Steady(secs) => {
            while start.elapsed() < secs {
                for _ in 0..CLOCK_EVERY {
                    sock.send(&PAYLOAD[..], 0).expect("send");
                }
                sent += CLOCK_EVERY;
            }
        }
        Mode::Lossless(n) => {
            for _ in 0..n {
                sock.send(&PAYLOAD[..], 0).expect("send");
            }
            sent = n;
        }
    }
    report_pub(&zmq_name(), sent, start.elapsed().as_secs_f64());
    std::thread::sleep(DRAIN_WAIT);
}

/// Subscriber: empty subscription; steady: count until IDLE_LIMIT of silence; lossless
/// (RCVHWM 0): until N arrived, timing first to N-th message.
fn sub_zmq(endpoint: &str, mode: Mode) {
    let ctx = zmq::Context::new();
    let sock = ctx.socket(zmq::SUB).unwrap();
    if let Mode::Lossless(_) = mode {
        sock.set_rcvhwm(0).unwrap();
    }
    sock.set_subscribe(b"").unwrap();
    sock.connect(endpoint).expect("connect");
    sock.set_rcvtimeo(FIRST_LIMIT.as_millis() as i32).unwrap();
    let mut msg = zmq::Message::new();
    // One blocking receive; false on silence. After the first message, the idle limit applies.
    let mut recv = |received: u64| match sock.recv(&mut msg, 0) {
        Ok(()) => {
            if received == 0 {
                sock.set_rcvtimeo(IDLE_LIMIT.as_millis() as i32).unwrap();
            }
            true
        }
        Err(zmq::Error::EAGAIN) => false,
        Err(e) => panic!("recv: {e}"),
    };
    match mode {
        Mode::Steady(_) => {
            let mut w = Window::default();
            while recv(w.received) {
                w.tick();
            }
            w.report(&zmq_name());
        }
        Mode::Lossless(n) => {
            let (mut received, mut first, mut last) = (0u64, None, None);
            while received < n && recv(received) {
                received += 1;
                if received == 1 {
                    first = Some(Instant::now());
                }
                if received == n {
                    last = Some(Instant::now());
                }
            }
            report_lossless(&zmq_name(), n, received, first, last);
        }
    }
}
