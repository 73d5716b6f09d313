//! At zero link delay, a data channel opens in zero virtual time: the
//! controlling agent's nominating check does not wait for a pacing slot,
//! and DTLS, SCTP and DCEP follow in the same instant. With a link delay,
//! it opens within four round trips of the answer being applied (issue 13).
#![cfg(feature = "sim")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use std::io::Write;
use std::sync::{Arc, Mutex};

use eddy::sim::{Link, LinkConfig, NodeId, PcapWriter, Sim};
use eddy::{Configuration, DataChannelInit, Event, PeerConnection, Protocol};

fn peer(sim: &mut Sim, addr: SocketAddr) -> PeerConnection {
    let seed = sim.derive_seed();
    let mut pc = PeerConnection::new(Configuration::default().with_seed(seed), sim.now()).unwrap();
    pc.add_local_candidate(addr, Protocol::Udp).unwrap();
    pc.end_of_local_candidates();
    pc
}

/// Virtual time from the answer being applied to the channel open on both
/// sides, over links of `delay` each way, and the datagrams sent by then.
fn time_to_open(delay: Duration) -> (Duration, usize) {
    #[allow(clippy::disallowed_methods)]
    let mut sim = Sim::new(3, Instant::now());
    let internet = sim.internet();
    let (a_addr, b_addr): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:5000".parse().unwrap(),
    );
    let mut a = peer(&mut sim, a_addr);
    let mut b = peer(&mut sim, b_addr);
    let channel = a
        .create_data_channel("now", &DataChannelInit::default())
        .unwrap();
    let offer = a.create_offer().unwrap();
    a.set_local_description(offer).unwrap();
    b.set_remote_description(a.local_description().cloned().unwrap())
        .unwrap();
    let answer = b.create_answer().unwrap();
    b.set_local_description(answer).unwrap();
    a.set_remote_description(b.local_description().cloned().unwrap())
        .unwrap();
    let link = Link::symmetric(LinkConfig {
        delay,
        ..LinkConfig::default()
    });
    let pcap = Shared::default();
    sim.set_pcap(PcapWriter::new(Box::new(pcap.clone())).unwrap());
    let a = sim.add_node(internet, a_addr.ip(), a, link);
    let b = sim.add_node(internet, b_addr.ip(), b, link);
    let open = |s: &Sim| {
        s.events(a).any(|(_, e)| *e == Event::ChannelOpen(channel))
            && s.events(b).any(|(_, e)| matches!(e, Event::ChannelOpen(_)))
    };
    sim.run_until(open, Duration::from_secs(30));
    let datagrams = print_timeline(&pcap.0.lock().unwrap(), [198, 51, 100, 1], &sim, a, b);
    assert!(open(&sim), "the channel did not open");
    (sim.elapsed(), datagrams)
}

#[test]
fn a_channel_opens_in_zero_virtual_time_at_zero_delay() {
    let (took, datagrams) = time_to_open(Duration::ZERO);
    assert_eq!(took, Duration::ZERO);
    // Four STUN checks and answers, the nomination and its answer, four
    // DTLS flights and six SCTP packets: one INIT (the DTLS server
    // answers the client's rather than crossing it with its own, which
    // cost four packets more), the DATA_CHANNEL_OPEN in the COOKIE ACK's
    // packet and the DATA_CHANNEL_ACK in the SACK's (each one more when
    // it went alone), and the SACK of that ACK.
    assert_eq!(datagrams, 16);
}

/// The timeline at `rtt` (a: offerer, ICE controlling, DTLS server; b:
/// answerer, DTLS client), in round trips:
///
/// - 0: both send checks; 1: the responses, a nominates, b (its pair
///   valid) sends its ClientHello at once (RFC 8445 §12.1), not half a
///   round trip later when the nomination reaches it;
/// - 1.5: a's flight; 2: b's Finished and, in a datagram of its own, its
///   SCTP INIT (DTLS False Start, RFC 7918);
/// - 2.5: a's Finished, INIT-ACK (a sends no INIT of its own: b's came
///   with b's Finished); 3: b's COOKIE-ECHO;
/// - 3.5: a's association is up, its COOKIE-ACK and DCEP OPEN go out in
///   one packet (a's channel opens: DCEP needs no round trip first); 4: b's.
fn assert_opens_within_four(rtt: Duration) {
    // Each node's link adds its delay, so a quarter of the round trip.
    let (took, _) = time_to_open(rtt / 4);
    assert!(took <= rtt * 4, "{took:?} at a {rtt:?} round trip");
}

#[test]
fn with_100_ms_round_trips_a_channel_opens_in_four() {
    assert_opens_within_four(Duration::from_millis(100));
}

#[test]
fn with_50_ms_round_trips_a_channel_opens_in_four() {
    assert_opens_within_four(Duration::from_millis(50));
}

/// The pcap of a run, shared with the simulator.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Prints each datagram (when it was sent, which way, what it carries:
/// STUN, DTLS records by handshake type or content type and epoch) and each
/// node's state and channel events: where the round trips go (shown with
/// `--nocapture`, and when a test fails). Returns how many datagrams.
fn print_timeline(pcap: &[u8], a_ip: [u8; 4], sim: &Sim, a: NodeId, b: NodeId) -> usize {
    let mut datagrams = 0;
    let u16_at = |p: &[u8], i: usize| u16::from_be_bytes([p[i], p[i + 1]]);
    let u32_le = |p: &[u8], i: usize| u32::from_le_bytes(p[i..i + 4].try_into().unwrap());
    let mut at = 24; // the pcap file header
    while at + 16 <= pcap.len() {
        let ms = f64::from(u32_le(pcap, at)) * 1e3 + f64::from(u32_le(pcap, at + 4)) / 1e3;
        let len = u32_le(pcap, at + 8) as usize;
        let ip = &pcap[at + 16..at + 16 + len];
        at += 16 + len;
        let dir = if ip[12..16] == a_ip { "a->b" } else { "b->a" };
        let p = &ip[28..]; // IPv4 and UDP headers
        let mut what = Vec::new();
        if p[0] < 4 {
            what.push(match u16_at(p, 0) {
                0x0001 => "STUN request".to_string(),
                0x0101 => "STUN response".to_string(),
                t => format!("STUN {t:#06x}"),
            });
            let mut i = 20;
            while i + 4 <= p.len() {
                if u16_at(p, i) == 0x0025 {
                    what.push("USE-CANDIDATE".into());
                }
                i += 4 + usize::from(u16_at(p, i + 2)).div_ceil(4) * 4;
            }
        } else {
            let mut i = 0;
            while i + 13 <= p.len() {
                let epoch = u16_at(p, i + 3);
                let len = usize::from(u16_at(p, i + 11));
                what.push(match (p[i], epoch) {
                    (20, _) => "ChangeCipherSpec".to_string(),
                    (22, 0) => format!("handshake {}", p[i + 13]),
                    (22, _) => "Finished".to_string(),
                    (23, _) => format!("application data ({len} B)"),
                    (t, e) => format!("content {t} epoch {e}"),
                });
                i += 13 + len;
            }
        }
        eprintln!("{ms:8.1} ms {dir} {}", what.join(", "));
        datagrams += 1;
    }
    for (name, node) in [("a", a), ("b", b)] {
        for (t, e) in sim.events(node) {
            if !matches!(
                e,
                Event::IceCandidate(_) | Event::IceGatheringStateChange(_)
            ) {
                eprintln!("{:8.1} ms {name}: {e:?}", t.as_secs_f64() * 1e3);
            }
        }
    }
    datagrams
}
