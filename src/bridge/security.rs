//! Who a peer is: CURVE keys (Z85 text in node files) and the ZAP handler that admits only
//! configured validators.
//!
//! With keys, a node's inbox (ROUTER) is a CURVE server: a client completes the handshake
//! only with the secret key of a public key in the node's validator set, and the ZAP
//! handler (ZeroMQ RFC 27) stamps every message of that connection with the validator's id
//! as its `User-Id`. A frame whose claimed sender differs is dropped as `spoofed`. Outboxes
//! are CURVE clients that check the peer's server key, so answers come from whom they were
//! asked. See the threat model in `docs/bridge.md`.

use super::metrics::Metrics;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A CURVE public or secret key: 32 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(pub [u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.to_z85())
    }
}

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not 40 characters of Z85 text.
    #[error("{0:?} is not a CURVE key: expected 40 characters of Z85 (luxsim keygen makes keys)")]
    NotZ85(String),
    /// A secret key whose public key libzmq cannot derive.
    #[error("cannot derive the public key of this secret key")]
    NoPublic,
}

impl Key {
    /// Reads 40 characters of Z85.
    pub fn from_z85(text: &str) -> Result<Key, KeyError> {
        const Z85: &[u8] =
            b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
        let bad = || KeyError::NotZ85(text.chars().take(48).collect());
        if text.len() != 40 || !text.bytes().all(|b| Z85.contains(&b)) {
            return Err(bad());
        }
        let bytes = zmq::z85_decode(text).map_err(|_| bad())?;
        Ok(Key(bytes.try_into().map_err(|_| bad())?))
    }

    /// The key as 40 characters of Z85.
    pub fn to_z85(&self) -> String {
        zmq::z85_encode(&self.0).expect("32 bytes encode")
    }
}

/// A node's key pair.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    secret: Key,
    public: Key,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// A fresh key pair from libzmq's generator.
    pub fn generate() -> Result<Keys, zmq::Error> {
        let pair = zmq::CurveKeyPair::new()?;
        Ok(Keys {
            secret: Key(pair.secret_key),
            public: Key(pair.public_key),
        })
    }

    /// The pair of a Z85 secret key (the public key is derived from it).
    pub fn from_secret_z85(text: &str) -> Result<Keys, KeyError> {
        let secret = Key::from_z85(text)?;
        let mut public = [0 as std::ffi::c_char; 41];
        let mut secret_text = [0 as std::ffi::c_char; 41];
        for (d, s) in secret_text.iter_mut().zip(text.bytes()) {
            *d = s as std::ffi::c_char;
        }
        // SAFETY: both buffers hold 41 bytes: 40 characters of Z85 and a NUL.
        let rc = unsafe { zmq_curve_public(public.as_mut_ptr(), secret_text.as_ptr()) };
        if rc != 0 {
            return Err(KeyError::NoPublic);
        }
        let public: String = public[..40].iter().map(|&c| c as u8 as char).collect();
        Ok(Keys {
            secret,
            public: Key::from_z85(&public)?,
        })
    }

    /// The public key.
    pub fn public(&self) -> Key {
        self.public
    }

    /// The secret key.
    pub fn secret(&self) -> Key {
        self.secret
    }
}

extern "C" {
    /// libzmq's derivation of a Z85 public key from a Z85 secret key (not wrapped by the
    /// `zmq` crate; the symbol is in the libzmq it links).
    fn zmq_curve_public(
        z85_public_key: *mut std::ffi::c_char,
        z85_secret_key: *const std::ffi::c_char,
    ) -> std::ffi::c_int;
}

/// The ZAP domain of the poll inbox.
pub const ZAP_DOMAIN: &str = "luxsim";

/// The running ZAP handler of one ZeroMQ context; stops when dropped.
pub struct Zap {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Zap {
    /// Starts the handler on `ctx`: CURVE clients whose key is in `allowed` are admitted
    /// with that validator's id as their `User-Id`; every other handshake is refused and
    /// counted. Must start before the sockets it guards bind.
    pub fn start(
        ctx: &zmq::Context,
        allowed: HashMap<Key, u32>,
        metrics: Metrics,
    ) -> Result<Zap, zmq::Error> {
        let socket = ctx.socket(zmq::REP)?;
        socket.set_linger(0)?;
        socket.bind("inproc://zeromq.zap.01")?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("luxsim-zap".into())
            .spawn(move || serve(socket, &allowed, &metrics, &flag))
            .map_err(|_| zmq::Error::EMFILE)?;
        Ok(Zap {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Zap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers ZAP requests until `stop` (checked every 100 ms).
fn serve(socket: zmq::Socket, allowed: &HashMap<Key, u32>, metrics: &Metrics, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match socket.poll(zmq::POLLIN, 100) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(_) => return,
        }
        let Ok(request) = socket.recv_multipart(0) else {
            return;
        };
        // version, request id, domain, address, identity, mechanism, credentials...
        let user = match (request.get(5).map(Vec::as_slice), request.get(6)) {
            (Some(b"CURVE"), Some(key)) => <[u8; 32]>::try_from(key.as_slice())
                .ok()
                .and_then(|k| allowed.get(&Key(k))),
            _ => None,
        };
        if user.is_none() {
            metrics.handshakes_refused.inc();
        }
        let (status, text, user_id) = match user {
            Some(id) => ("200", "OK", id.to_string()),
            None => ("400", "not a configured validator", String::new()),
        };
        let reply: Vec<Vec<u8>> = vec![
            b"1.0".to_vec(),
            request.get(1).cloned().unwrap_or_default(),
            status.into(),
            text.into(),
            user_id.into_bytes(),
            Vec::new(),
        ];
        if socket.send_multipart(reply, 0).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_and_derive_their_public_half() {
        let k = Keys::generate().unwrap();
        let again = Keys::from_secret_z85(&k.secret().to_z85()).unwrap();
        assert_eq!(again, k, "the public key is derived from the secret one");
        assert_eq!(Key::from_z85(&k.public().to_z85()).unwrap(), k.public());
        assert!(Key::from_z85("short").is_err());
        assert!(Key::from_z85(&"\u{e9}".repeat(20)).is_err());
        let e = Key::from_z85(&"~".repeat(40)).unwrap_err().to_string();
        assert!(e.contains("not a CURVE key"), "{e}");
        assert!(
            !format!("{k:?}").contains(&k.secret().to_z85()),
            "no secret in Debug"
        );
    }
}
