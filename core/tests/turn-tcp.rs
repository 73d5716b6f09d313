//! TURN over TCP to the server (RFC 8656 §3.1): both peers relay-only,
//! their TURN clients reach the server over TCP (messages framed by their
//! own lengths, ChannelData padded to four bytes, requests not
//! retransmitted), the server relays over UDP, and the data channel works.
#![cfg(feature = "sim")]

mod turn_common;

use std::time::Duration;

use eddy::CandidateKind;
use turn_common::*;

const TURN_TCP_URL: &str = "turn:198.51.100.1:3478?transport=tcp";

#[test]
fn a_data_channel_through_a_turn_server_reached_over_tcp() {
    let mut run = setup(
        41,
        turn("eddy", "secret"),
        Topology::Open,
        |s| config(s, TURN_TCP_URL, "secret", true),
        |s| config(s, TURN_TCP_URL, "secret", true),
    );
    signal(&mut run);
    let (ha, _) = open_channel(&mut run, Duration::from_secs(60)).expect("the channel opened");
    assert!(deliver(&mut run, ha, "over TCP to the relay"));
    for n in [run.a, run.b] {
        assert_eq!(selected_local_kind(&run, n), Some(CandidateKind::Relayed));
        assert!(candidate_errors(&run, n).is_empty());
    }
    let stats = server(&run).stats;
    assert_eq!(server(&run).allocations(), 2);
    assert_eq!(server(&run).tcp_clients(), 2, "both clients came over TCP");
    assert!(stats.channel_binds >= 2, "{stats:?}");
    assert!(
        stats.sent_from_channel > 0 && stats.channel_data > 0,
        "{stats:?}"
    );
    // No request was sent twice over the stream.
    assert_eq!(stats.unauthorized, 2, "{stats:?}");
}
