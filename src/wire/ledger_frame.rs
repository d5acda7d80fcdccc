//! The node-to-node frames of ledger validators (chain and DAG), version 1 (`docs/wire.md`).
//!
//! They share the 12-byte header of [`super::frame`] (magic "LX", version, kind, sender,
//! request id) and take kinds 3 to 7; every integer is big-endian and every length is
//! checked, so decoding never panics.
//!
//! | kind | frame | after the header |
//! |---|---|---|
//! | 3 | query | budget (u64 ns), ids |
//! | 4 | answer | ids |
//! | 5 | push (a proposer's new item) | item |
//! | 6 | put (an item asked for) | item |
//! | 7 | get | id (u64), above (u64): ancestors above this height are wanted too |
//!
//! *ids*: a count (u8, at most [`MAX_IDS`]) and that many u64. *item*: a tag (u8), then for
//! a block (tag 1) its id, parent and height (u64 each); for a vertex (tag 2) its id and
//! height (u64), a parent count (u8, at most [`MAX_VERTEX_PARENTS`]) and the parents (u64,
//! ascending), a transaction count (u16, at most [`MAX_VERTEX_TXS`]) and each transaction's
//! id and conflict key (u64 each). Push, put and get carry request id 0.

use super::frame::{FrameError, HEADER_LEN, MAGIC, VERSION};
use crate::node::ledger::{BlockHeader, Ids, Item, Message, Vertex, MAX_IDS};
use crate::node::NodeId;
use std::sync::Arc;

/// Kind code of a ledger query.
pub const KIND_LEDGER_QUERY: u8 = 3;
/// Kind code of a ledger answer.
pub const KIND_LEDGER_ANSWER: u8 = 4;
/// Kind code of a push.
pub const KIND_PUSH: u8 = 5;
/// Kind code of a put.
pub const KIND_PUT: u8 = 6;
/// Kind code of a get.
pub const KIND_GET: u8 = 7;
/// Most parents a vertex frame may name.
pub const MAX_VERTEX_PARENTS: usize = 16;
/// Most transactions a vertex frame may carry.
pub const MAX_VERTEX_TXS: usize = 500;
/// The longest ledger frame: a vertex with every parent and transaction allowed.
pub const MAX_FRAME: usize =
    HEADER_LEN + 1 + 16 + 1 + 8 * MAX_VERTEX_PARENTS + 2 + 16 * MAX_VERTEX_TXS;

/// One ledger frame: the sender's id and a ledger [`Message`] in wire form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerFrame {
    /// The sender.
    pub from: NodeId,
    /// What it says; a query's deadline travels as a budget (see [`LedgerFrame::encode_into`]).
    pub msg: Message,
}

/// Whether a message goes back on the connection of the request it answers (answer, put)
/// rather than out on the sender's own connection to the peer (query, get, push).
pub fn is_reply(msg: &Message) -> bool {
    matches!(msg, Message::Answer { .. } | Message::Put(_))
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    kind: &'static str,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], FrameError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let Some(end) = end else {
            return Err(FrameError::Truncated {
                kind: self.kind,
                at: self.at,
            });
        };
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, FrameError> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }

    fn u64(&mut self) -> Result<u64, FrameError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }

    fn count(&mut self, max: usize, what: &'static str, wide: bool) -> Result<usize, FrameError> {
        let at = self.at;
        let n = if wide {
            usize::from(self.u16()?)
        } else {
            usize::from(self.u8()?)
        };
        if n > max {
            return Err(FrameError::TooMany { what, n, max, at });
        }
        Ok(n)
    }

    fn ids(&mut self) -> Result<Ids, FrameError> {
        let n = self.count(MAX_IDS, "ids", false)?;
        let mut ids = [0u64; MAX_IDS];
        for id in ids.iter_mut().take(n) {
            *id = self.u64()?;
        }
        Ok(Ids::from_slice(&ids[..n]))
    }

    fn item(&mut self) -> Result<Item, FrameError> {
        let at = self.at;
        match self.u8()? {
            1 => Ok(Item::Block(BlockHeader {
                id: self.u64()?,
                parent: self.u64()?,
                height: self.u64()?,
            })),
            2 => {
                let (id, height) = (self.u64()?, self.u64()?);
                let n = self.count(MAX_VERTEX_PARENTS, "parents", false)?;
                let parents = (0..n).map(|_| self.u64()).collect::<Result<Vec<_>, _>>()?;
                let n = self.count(MAX_VERTEX_TXS, "transactions", true)?;
                let txs = (0..n)
                    .map(|_| Ok((self.u64()?, self.u64()?)))
                    .collect::<Result<Vec<_>, FrameError>>()?;
                Ok(Item::Vertex(Arc::new(Vertex {
                    id,
                    height,
                    parents,
                    txs,
                })))
            }
            tag => Err(FrameError::UnknownItem { tag, at }),
        }
    }
}

fn put_ids(out: &mut Vec<u8>, ids: &Ids) {
    let ids = ids.as_slice();
    out.push(ids.len() as u8);
    for id in ids {
        out.extend_from_slice(&id.to_be_bytes());
    }
}

fn put_item(out: &mut Vec<u8>, item: &Item) {
    match item {
        Item::Block(b) => {
            out.push(1);
            for x in [b.id, b.parent, b.height] {
                out.extend_from_slice(&x.to_be_bytes());
            }
        }
        Item::Vertex(v) => {
            out.push(2);
            out.extend_from_slice(&v.id.to_be_bytes());
            out.extend_from_slice(&v.height.to_be_bytes());
            let parents = &v.parents[..v.parents.len().min(MAX_VERTEX_PARENTS)];
            out.push(parents.len() as u8);
            for p in parents {
                out.extend_from_slice(&p.to_be_bytes());
            }
            let txs = &v.txs[..v.txs.len().min(MAX_VERTEX_TXS)];
            out.extend_from_slice(&(txs.len() as u16).to_be_bytes());
            for (tx, key) in txs {
                out.extend_from_slice(&tx.to_be_bytes());
                out.extend_from_slice(&key.to_be_bytes());
            }
        }
    }
}

impl LedgerFrame {
    /// Whether `item` fits in a frame (parents and transactions within the limits): a node
    /// never builds one that does not (`[ledger]` and `POST /propose` keep to the limits).
    fn fits(item: &Item) -> bool {
        match item {
            Item::Block(_) => true,
            Item::Vertex(v) => {
                v.parents.len() <= MAX_VERTEX_PARENTS && v.txs.len() <= MAX_VERTEX_TXS
            }
        }
    }

    /// Appends the encoding to `out`; a query's deadline is sent as the budget left at
    /// `now`.
    pub fn encode_into(&self, now: u64, out: &mut Vec<u8>) {
        debug_assert!(
            !matches!(&self.msg, Message::Push(i) | Message::Put(i) if !Self::fits(i)),
            "an item beyond the frame limits"
        );
        let (kind, request) = match &self.msg {
            Message::Query { request, .. } => (KIND_LEDGER_QUERY, *request),
            Message::Answer { request, .. } => (KIND_LEDGER_ANSWER, *request),
            Message::Push(_) => (KIND_PUSH, 0),
            Message::Put(_) => (KIND_PUT, 0),
            Message::Get { .. } => (KIND_GET, 0),
        };
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(kind);
        out.extend_from_slice(&self.from.to_be_bytes());
        out.extend_from_slice(&request.to_be_bytes());
        match &self.msg {
            Message::Query { deadline, tips, .. } => {
                out.extend_from_slice(&deadline.saturating_sub(now).to_be_bytes());
                put_ids(out, tips);
            }
            Message::Answer { tips, .. } => put_ids(out, tips),
            Message::Push(item) | Message::Put(item) => put_item(out, item),
            Message::Get { id, above } => {
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(&above.to_be_bytes());
            }
        }
    }

    /// Decodes one frame received at `now` (a query's budget becomes a deadline in this
    /// clock); anything malformed is an error, never a panic.
    pub fn decode(b: &[u8], now: u64) -> Result<LedgerFrame, FrameError> {
        let (kind, from, request) = super::frame::header(b)?;
        let name = match kind {
            KIND_LEDGER_QUERY => "ledger query",
            KIND_LEDGER_ANSWER => "ledger answer",
            KIND_PUSH => "push",
            KIND_PUT => "put",
            KIND_GET => "get",
            kind => return Err(FrameError::UnknownKind(kind)),
        };
        let mut r = Reader {
            b,
            at: HEADER_LEN,
            kind: name,
        };
        let msg = match kind {
            KIND_LEDGER_QUERY => {
                let budget = r.u64()?;
                Message::Query {
                    request,
                    deadline: now.saturating_add(budget),
                    tips: r.ids()?,
                }
            }
            KIND_LEDGER_ANSWER => Message::Answer {
                request,
                tips: r.ids()?,
            },
            KIND_PUSH => Message::Push(r.item()?),
            KIND_PUT => Message::Put(r.item()?),
            _ => Message::Get {
                id: r.u64()?,
                above: r.u64()?,
            },
        };
        if r.at != b.len() {
            return Err(FrameError::Trailing {
                kind: name,
                extra: b.len() - r.at,
            });
        }
        Ok(LedgerFrame { from, msg })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vertex() -> Item {
        Item::Vertex(Arc::new(Vertex {
            id: 9,
            height: 2,
            parents: vec![0, 4],
            txs: vec![(17, 17), (18, 17)],
        }))
    }

    fn round_trip(msg: Message) -> Vec<u8> {
        let f = LedgerFrame { from: 5, msg };
        let mut b = Vec::new();
        f.encode_into(1_000, &mut b);
        let back = LedgerFrame::decode(&b, 1_000).unwrap();
        assert_eq!(back, f);
        b
    }

    #[test]
    fn every_kind_round_trips_and_a_budget_converts_between_clocks() {
        let q = Message::Query {
            request: 3,
            deadline: 1_500,
            tips: Ids::from_slice(&[1, 2, 3]),
        };
        let b = round_trip(q);
        // header, budget 500, three ids.
        assert_eq!(&b[..4], &[0x4c, 0x58, 1, KIND_LEDGER_QUERY]);
        assert_eq!(&b[12..20], &500u64.to_be_bytes());
        assert_eq!(b.len(), 12 + 8 + 1 + 24);
        let later = LedgerFrame::decode(&b, 10_000).unwrap();
        assert!(matches!(
            later.msg,
            Message::Query {
                deadline: 10_500,
                ..
            }
        ));
        round_trip(Message::Answer {
            request: u32::MAX,
            tips: Ids::one(7),
        });
        round_trip(Message::Answer {
            request: 1,
            tips: Ids::EMPTY,
        });
        let block = Item::Block(BlockHeader {
            id: 2,
            parent: 1,
            height: 2,
        });
        assert_eq!(round_trip(Message::Push(block.clone())).len(), 12 + 25);
        round_trip(Message::Put(block));
        round_trip(Message::Push(vertex()));
        round_trip(Message::Get { id: 4, above: 1 });
    }

    #[test]
    fn the_test_vectors_of_wire_md() {
        let enc = |from, msg| {
            let mut b = Vec::new();
            LedgerFrame { from, msg }.encode_into(0, &mut b);
            b
        };
        let answer = enc(
            3,
            Message::Answer {
                request: 1,
                tips: Ids::one(7),
            },
        );
        assert_eq!(
            answer,
            [0x4c, 0x58, 1, 4, 0, 0, 0, 3, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 7]
        );
        let get = enc(2, Message::Get { id: 4, above: 1 });
        let mut want = vec![0x4c, 0x58, 1, 7, 0, 0, 0, 2, 0, 0, 0, 0];
        want.extend_from_slice(&4u64.to_be_bytes());
        want.extend_from_slice(&1u64.to_be_bytes());
        assert_eq!(get, want);
        let push = enc(
            1,
            Message::Push(Item::Block(BlockHeader {
                id: 2,
                parent: 1,
                height: 2,
            })),
        );
        let mut want = vec![0x4c, 0x58, 1, 5, 0, 0, 0, 1, 0, 0, 0, 0, 1];
        for x in [2u64, 1, 2] {
            want.extend_from_slice(&x.to_be_bytes());
        }
        assert_eq!(push, want);
    }

    #[test]
    fn bad_input_is_an_error_that_says_where() {
        let mut b = Vec::new();
        LedgerFrame {
            from: 1,
            msg: Message::Put(vertex()),
        }
        .encode_into(0, &mut b);
        for len in 0..b.len() {
            assert!(LedgerFrame::decode(&b[..len], 0).is_err(), "{len}");
        }
        let mut long = b.clone();
        long.push(0);
        let e = LedgerFrame::decode(&long, 0).unwrap_err();
        assert_eq!(
            e,
            FrameError::Trailing {
                kind: "put",
                extra: 1
            }
        );
        let mut tag = b.clone();
        tag[12] = 9;
        let e = LedgerFrame::decode(&tag, 0).unwrap_err();
        assert_eq!(e, FrameError::UnknownItem { tag: 9, at: 12 });
        assert!(e.to_string().contains("byte 12"), "{e}");
        let mut ids = Vec::new();
        LedgerFrame {
            from: 1,
            msg: Message::Answer {
                request: 1,
                tips: Ids::one(1),
            },
        }
        .encode_into(0, &mut ids);
        ids[12] = MAX_IDS as u8 + 1;
        let e = LedgerFrame::decode(&ids, 0).unwrap_err();
        assert!(matches!(e, FrameError::TooMany { what: "ids", .. }), "{e}");
        // A decision frame is not a ledger frame, and the other way round.
        let q = super::super::frame::Frame::Query {
            from: 1,
            request: 1,
            budget_ns: 1,
        };
        assert_eq!(
            LedgerFrame::decode(&q.encode(), 0),
            Err(FrameError::UnknownKind(1))
        );
        assert_eq!(
            super::super::frame::Frame::decode(&b),
            Err(FrameError::UnknownKind(KIND_PUT))
        );
    }

    fn arb_ids() -> impl Strategy<Value = Ids> {
        proptest::collection::vec(any::<u64>(), 0..=MAX_IDS).prop_map(|v| Ids::from_slice(&v))
    }

    fn arb_item() -> impl Strategy<Value = Item> {
        let block = (any::<u64>(), any::<u64>(), any::<u64>())
            .prop_map(|(id, parent, height)| Item::Block(BlockHeader { id, parent, height }));
        let vertex = (
            any::<u64>(),
            any::<u64>(),
            proptest::collection::vec(any::<u64>(), 0..=MAX_VERTEX_PARENTS),
            proptest::collection::vec((any::<u64>(), any::<u64>()), 0..40),
        )
            .prop_map(|(id, height, parents, txs)| {
                Item::Vertex(Arc::new(Vertex {
                    id,
                    height,
                    parents,
                    txs,
                }))
            });
        prop_oneof![block, vertex]
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        prop_oneof![
            (any::<u32>(), 0..u64::MAX / 2, arb_ids()).prop_map(|(request, budget, tips)| {
                Message::Query {
                    request,
                    deadline: budget,
                    tips,
                }
            }),
            (any::<u32>(), arb_ids()).prop_map(|(request, tips)| Message::Answer { request, tips }),
            arb_item().prop_map(Message::Push),
            arb_item().prop_map(Message::Put),
            (any::<u64>(), any::<u64>()).prop_map(|(id, above)| Message::Get { id, above }),
        ]
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_message_round_trips(from in any::<u32>(), msg in arb_message()) {
            let f = LedgerFrame { from, msg };
            let mut b = Vec::new();
            f.encode_into(0, &mut b);
            prop_assert!(b.len() <= MAX_FRAME);
            prop_assert_eq!(LedgerFrame::decode(&b, 0), Ok(f));
        }

        #[test]
        fn arbitrary_bytes_decode_to_a_frame_or_an_error(
            kind in 3u8..=7,
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut b = vec![0x4c, 0x58, 1, kind, 0, 0, 0, 1, 0, 0, 0, 1];
            b.extend_from_slice(&body);
            let _ = LedgerFrame::decode(&b, 0);
            let _ = LedgerFrame::decode(&body, 0);
        }
    }

    #[test]
    fn only_answers_and_puts_are_replies() {
        assert!(is_reply(&Message::Put(vertex())));
        assert!(!is_reply(&Message::Push(vertex())));
        assert!(!is_reply(&Message::Get { id: 1, above: 0 }));
    }
}
