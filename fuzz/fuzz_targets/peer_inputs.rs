//! Drives two connected `PeerConnection`s with an arbitrary sequence of
//! operations: raw datagrams from the peer's address or a stranger's,
//! mangled copies of real traffic, time passing, channel API calls and
//! renegotiation. Nothing may panic.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::{
    Configuration, DataChannelInit, Event, Input, Output, PeerConnection, Protocol, Receive,
    Transmit,
};
use libfuzzer_sys::fuzz_target;

const A: &str = "127.0.0.1:1000";
const B: &str = "127.0.0.1:2000";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("literal")
}

struct World {
    a: PeerConnection,
    b: PeerConnection,
    now: Instant,
    /// Flip a byte of the next transmit at this offset.
    mangle: Option<usize>,
}

fn give(pc: &mut PeerConnection, now: Instant, t: &Transmit) {
    let _ = pc.handle_input(Input::Receive(
        now,
        Receive {
            proto: t.proto,
            source: t.source,
            destination: t.destination,
            contents: &t.contents,
        },
    ));
}

impl World {
    fn pump(&mut self) {
        for _ in 0..50 {
            let mut moved = false;
            for side in 0..2 {
                let (from, to) = if side == 0 {
                    (&mut self.a, &mut self.b)
                } else {
                    (&mut self.b, &mut self.a)
                };
                for _ in 0..200 {
                    match from.poll_output() {
                        Output::Transmit(mut t) => {
                            moved = true;
                            if let Some(at) = self.mangle.take() {
                                if !t.contents.is_empty() {
                                    let i = at % t.contents.len();
                                    t.contents[i] ^= 0x41;
                                }
                            }
                            give(to, self.now, &t);
                        }
                        Output::Event(Event::ChannelMessage(id, m)) => {
                            if let Some(mut ch) = from.data_channel(id) {
                                let _ = ch.send(&m.data);
                            }
                        }
                        Output::Event(_) => moved = true,
                        Output::Timeout(_) => break,
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn tick(&mut self, ms: u64) {
        self.now += Duration::from_millis(ms);
        let _ = self.a.handle_input(Input::Timeout(self.now));
        let _ = self.b.handle_input(Input::Timeout(self.now));
        self.pump();
    }
}

fn setup(now: Instant) -> Option<World> {
    let mut a = PeerConnection::new(Configuration::default().with_seed(1), now).ok()?;
    let mut b = PeerConnection::new(Configuration::default().with_seed(2), now).ok()?;
    a.add_local_candidate(addr(A), Protocol::Udp).ok()?;
    a.end_of_local_candidates();
    b.add_local_candidate(addr(B), Protocol::Udp).ok()?;
    b.end_of_local_candidates();
    a.create_data_channel("fuzz", &DataChannelInit::default()).ok()?;
    let offer = a.create_offer().ok()?;
    a.set_local_description(offer).ok()?;
    b.set_remote_description(a.local_description()?.clone()).ok()?;
    let answer = b.create_answer().ok()?;
    b.set_local_description(answer).ok()?;
    a.set_remote_description(b.local_description()?.clone()).ok()?;
    let mut w = World {
        a,
        b,
        now,
        mangle: None,
    };
    for _ in 0..20 {
        w.tick(10);
    }
    Some(w)
}

fuzz_target!(|data: &[u8]| {
    #[allow(clippy::disallowed_methods)]
    let Some(mut w) = setup(Instant::now()) else {
        return;
    };
    let mut ops = data;
    while let Some((&op, rest)) = ops.split_first() {
        ops = rest;
        let arg = ops.first().copied().unwrap_or(0);
        match op % 8 {
            0 | 1 => {
                let len = usize::from(arg).min(ops.len().saturating_sub(1));
                let payload = ops.get(1..1 + len).unwrap_or_default().to_vec();
                ops = ops.get(1 + len..).unwrap_or_default();
                let source = if op % 8 == 0 { addr(A) } else { addr("127.0.0.9:9") };
                give(
                    &mut w.b,
                    w.now,
                    &Transmit {
                        proto: Protocol::Udp,
                        source,
                        destination: addr(B),
                        contents: payload,
                    },
                );
                w.pump();
            }
            2 => {
                ops = ops.get(1..).unwrap_or_default();
                w.tick(u64::from(arg) * 20);
            }
            3 => {
                ops = ops.get(1..).unwrap_or_default();
                w.mangle = Some(usize::from(arg));
                w.tick(1);
            }
            4 => {
                ops = ops.get(1..).unwrap_or_default();
                let init = DataChannelInit {
                    ordered: arg & 1 == 0,
                    max_retransmits: (arg & 2 != 0).then_some(u16::from(arg >> 4)),
                    ..DataChannelInit::default()
                };
                if let Ok(id) = w.a.create_data_channel("x", &init) {
                    if let Some(mut ch) = w.a.data_channel(id) {
                        let _ = ch.send(&vec![arg; usize::from(arg) * 97]);
                        if arg & 4 != 0 {
                            ch.close();
                        }
                    }
                }
                w.pump();
            }
            5 => {
                // Renegotiate (with an ICE restart when asked).
                ops = ops.get(1..).unwrap_or_default();
                if arg & 1 == 1 {
                    w.a.restart_ice();
                }
                if let Ok(offer) = w.a.create_offer() {
                    if w.a.set_local_description(offer.clone()).is_ok()
                        && w.b.set_remote_description(offer).is_ok()
                    {
                        if let Ok(answer) = w.b.create_answer() {
                            let _ = w.b.set_local_description(answer.clone());
                            let _ = w.a.set_remote_description(answer);
                        }
                    }
                }
                w.pump();
            }
            6 => {
                w.b.close();
                w.pump();
            }
            _ => w.tick(1),
        }
    }
});
