//! Shared setup of the counting tests (perf-*): two peers negotiated in
//! memory, one data channel offered.

use std::net::SocketAddr;
use std::time::Instant;

use eddy::{Configuration, DataChannelInit, PeerConnection, Protocol};

/// Two peers on `addrs`, offer and answer applied, the offerer with a
/// data channel `label`; nothing sent yet.
pub(crate) fn negotiated_pair(
    now: Instant,
    addrs: [SocketAddr; 2],
    label: &str,
) -> [PeerConnection; 2] {
    let peer = |addr| {
        let mut pc = PeerConnection::new(Configuration::default(), now).expect("peer");
        pc.add_local_candidate(addr, Protocol::Udp)
            .expect("candidate");
        pc.end_of_local_candidates();
        pc
    };
    let (mut a, mut b) = (peer(addrs[0]), peer(addrs[1]));
    a.create_data_channel(label, &DataChannelInit::default())
        .expect("channel");
    let offer = a.create_offer().expect("offer");
    a.set_local_description(offer).expect("set offer");
    b.set_remote_description(a.local_description().cloned().expect("offer"))
        .expect("apply offer");
    let answer = b.create_answer().expect("answer");
    b.set_local_description(answer).expect("set answer");
    a.set_remote_description(b.local_description().cloned().expect("answer"))
        .expect("apply answer");
    [a, b]
}
