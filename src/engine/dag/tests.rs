//! Unit tests of the DAG engine, rule by rule.
use super::*;
const G: u64 = GENESIS;

/// Builds a DAG from `id<parent,parent:tx/key,tx/key` entries separated by spaces.
fn build_with(params: ConsensusParams, spec: &str) -> Dag {
    let mut d = Dag::new(&params);
    for entry in spec.split_whitespace() {
        let (id, rest) = entry.split_once('<').unwrap();
        let (parents, txs) = rest.split_once(':').unwrap_or((rest, ""));
        let parents: Vec<u64> = parents.split(',').map(|p| p.parse().unwrap()).collect();
        let pair = |(t, k): (&str, &str)| (t.parse().unwrap(), k.parse().unwrap());
        let txs: Vec<(u64, u64)> = txs
            .split(',')
            .filter_map(|t| t.split_once('/'))
            .map(pair)
            .collect();
        d.add_vertex(id.parse().unwrap(), &parents, &txs).unwrap();
    }
    d
}

fn build(spec: &str) -> Dag {
    build_with(ConsensusParams::default(), spec) // k 20, alpha 15/15, beta 20
}

fn polls(d: &mut Dag, n: usize, votes: &[(u64, usize)]) {
    (0..n).for_each(|_| d.record_poll(votes));
}

/// One letter per status: Processing, Accepted, Rejected, or `-` if unknown.
fn letters(statuses: impl Iterator<Item = Option<Status>>) -> String {
    statuses
        .map(|s| s.map_or('-', |s| format!("{s:?}").remove(0)))
        .collect()
}

fn vs(d: &Dag, ids: &[u64]) -> String {
    letters(ids.iter().map(|&v| d.vertex_status(v)))
}

fn ts(d: &Dag, ids: &[u64]) -> String {
    letters(ids.iter().map(|&t| d.tx_status(t)))
}

/// Processing, accepted and rejected vertices, accepted and rejected txs.
fn counts(d: &Dag) -> [usize; 5] {
    let v = [
        d.processing_vertices(),
        d.accepted_vertices(),
        d.rejected_vertices(),
    ];
    [v[0], v[1], v[2], d.accepted_txs(), d.rejected_txs()]
}

#[test]
fn single_vertex_is_accepted_after_exactly_beta_polls() {
    let mut d = build("1<0:100/1");
    assert_eq!(vs(&d, &[G, 1]), "AP");
    assert!(d.is_preferred_tx(100) && d.is_preferred_vertex(1));
    polls(&mut d, 19, &[(1, 15)]);
    assert_eq!((ts(&d, &[100]), d.is_accepted(1)), ("P".into(), false));
    d.record_poll(&[(1, 15)]);
    assert_eq!((ts(&d, &[100]), d.is_accepted(1)), ("A".into(), true));
    assert_eq!(counts(&d), [0, 1, 0, 1, 0]);
    d.record_poll(&[(1, 20), (7, 20)]); // decided and unknown: ignored
    assert_eq!(counts(&d), [0, 1, 0, 1, 0]);
}

#[test]
fn poll_below_alpha_or_without_votes_resets_confidence() {
    let mut d = build("1<0:100/1");
    polls(&mut d, 10, &[(1, 15)]);
    d.record_poll(&[(1, 14)]);
    polls(&mut d, 19, &[(1, 15)]);
    d.record_poll(&[]);
    polls(&mut d, 19, &[(1, 20)]);
    assert!(!d.is_accepted(1));
    d.record_poll(&[(1, 20)]);
    assert!(d.is_accepted(1));
}

#[test]
fn voting_for_a_child_accepts_the_parent_chain() {
    let mut d = build("1<0:10/1 2<1 3<2:30/3,31/4");
    assert_eq!(vs(&d, &[2]), "P", "a txless vertex waits for its parent");
    polls(&mut d, 19, &[(3, 15)]);
    assert_eq!(counts(&d), [3, 0, 0, 0, 0]);
    d.record_poll(&[(3, 15)]);
    assert_eq!(counts(&d), [0, 3, 0, 3, 0]);
    d.add_vertex(4, &[3, G, 3], &[]).unwrap();
    assert!(d.is_accepted(4), "txless on accepted parents: at once");
}

#[test]
fn conflicting_pair_one_accepted_other_rejected_with_descendants() {
    let mut d = build("1<0:10/7 2<0:20/7 3<1:30/8");
    assert!(d.is_preferred_tx(10) && !d.is_preferred_tx(20), "first one");
    d.record_poll(&[(2, 15), (1, 5)]);
    assert!(d.is_preferred_tx(20) && !d.is_preferred_tx(10) && !d.is_preferred_vertex(3));
    polls(&mut d, 19, &[(2, 15), (3, 5)]);
    assert_eq!(ts(&d, &[10, 20, 30]), "RAR");
    assert_eq!(vs(&d, &[1, 2, 3]), "RAR");
    assert_eq!(counts(&d), [0, 1, 2, 1, 2]);
    // Late: a conflict of an accepted tx, a child of a rejected vertex.
    d.add_vertex(4, &[2], &[(40, 7)]).unwrap();
    d.add_vertex(5, &[3], &[(50, 9)]).unwrap();
    assert_eq!(
        (vs(&d, &[4, 5]), counts(&d)),
        ("RR".into(), [0, 1, 4, 1, 4])
    );
}

#[test]
fn tx_waits_for_the_txs_it_depends_on() {
    let mut d = build("1<0:10/1 2<0:11/1 3<1:30/3");
    // Set 1 is contested (10 and 11 alternate); tx 30 gets 15 votes every poll.
    let bags: [&[(u64, usize)]; 2] = [&[(3, 15)], &[(3, 15), (2, 16)]];
    (0..20).for_each(|i| d.record_poll(bags[i % 2]));
    assert_eq!(ts(&d, &[10, 30]), "PP", "30 is final but waits for 10");
    polls(&mut d, 19, &[(3, 15)]);
    assert_eq!(ts(&d, &[10, 30]), "PP");
    d.record_poll(&[(3, 15)]);
    assert_eq!(ts(&d, &[10, 11, 30]), "ARA");
    assert_eq!(vs(&d, &[1, 2, 3]), "ARA");
}

#[test]
fn finalized_tx_with_rejected_parent_restarts_its_set() {
    let local = ConsensusParams::preset("local").unwrap(); // k 3, alpha 2/2, beta 2
    let mut d = build_with(local, "1<0:10/1 2<0:11/1 3<1:30/3 4<0:40/3");
    d.record_poll(&[(3, 2), (2, 3)]);
    d.record_poll(&[(3, 2)]); // set 3 final on 30, set 1 contested
    assert!(ts(&d, &[30]) == "P" && !d.is_preferred_tx(40));
    polls(&mut d, 2, &[(2, 2)]);
    assert_eq!(ts(&d, &[10, 11, 30, 40]), "RARP");
    assert!(d.is_preferred_tx(40));
    polls(&mut d, 2, &[(4, 2)]);
    assert_eq!(ts(&d, &[40]), "A");
}

#[test]
fn several_parents_and_diamonds_count_once() {
    let mut d = build("1<0:10/1 2<1:20/2 3<1:30/3 4<2,3:40/4 5<0:50/1");
    d.record_poll(&[(4, 15), (5, 16)]); // vertex 1 gets 15 via 4 (not 30): 50 wins
    assert!(d.is_preferred_tx(50) && !d.is_preferred_tx(10));
    let mut d = build("1<0:10/1 2<0:20/2 3<1,2:30/3");
    polls(&mut d, 19, &[(3, 15)]);
    assert_eq!(counts(&d), [3, 0, 0, 0, 0]);
    d.record_poll(&[(3, 15)]);
    assert_eq!(counts(&d), [0, 3, 0, 3, 0]);
}

#[test]
fn errors_leave_the_dag_unchanged() {
    use DagError::*;
    let mut d = build("1<0:10/1");
    let unknown = UnknownParent {
        vertex: 2,
        parent: 9,
    };
    assert_eq!(d.add_vertex(2, &[1, 9], &[]), Err(unknown));
    assert_eq!(d.add_vertex(1, &[G], &[]), Err(DuplicateVertex(1)));
    assert_eq!(d.add_vertex(G, &[1], &[]), Err(DuplicateVertex(0)));
    assert_eq!(d.add_vertex(2, &[], &[]), Err(NoParents(2)));
    let (txs_a, txs_b) = ([(11, 1), (10, 2)], [(12, 1), (12, 2)]);
    assert_eq!(d.add_vertex(2, &[1], &txs_a), Err(DuplicateTransaction(10)));
    assert_eq!(d.add_vertex(2, &[1], &txs_b), Err(DuplicateTransaction(12)));
    assert_eq!(vs(&d, &[1, 2]) + &ts(&d, &[10, 11, 12]), "P-P--");
    d.add_vertex(2, &[1], &[(11, 5), (12, 6)]).unwrap();
    assert!(!d.is_preferred_tx(99) && !d.is_preferred_vertex(99));
    d.record_poll(&[(2, usize::MAX), (2, usize::MAX), (0, 5), (99, 1)]);
    assert_eq!(counts(&d), [2, 0, 0, 0, 0]);
}

#[test]
fn preferred_frontier_follows_preferences() {
    let mut out = vec![42];
    build("").preferred_frontier(&mut out);
    assert!(out.is_empty());
    let mut d = build("1<0:10/1 2<1:20/2 3<0:30/1");
    d.preferred_frontier(&mut out);
    assert_eq!(out, [2]);
    d.add_vertex(4, &[G], &[(40, 4)]).unwrap();
    d.preferred_frontier(&mut out);
    assert_eq!(out, [2, 4]);
    d.record_poll(&[(3, 15)]);
    assert!(d.is_preferred_vertex(3) && !d.is_preferred_vertex(1) && !d.is_preferred_vertex(2));
    d.preferred_frontier(&mut out);
    assert_eq!(out, [3, 4]);
    polls(&mut d, 19, &[(3, 15), (4, 5)]);
    assert!(d.is_accepted(3) && d.is_preferred_vertex(3));
    d.preferred_frontier(&mut out);
    assert_eq!(out, [4]);
}
