//! The program of the downstream crate built by `examples/tests/downstream.rs`:
//! two eddy peers in the simulator (ICE, DTLS, SCTP, a data channel message)
//! print the run's trace digest. Only `eddy` (feature `sim`) is a dependency.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::sim::{Link, LinkConfig, Loss, Sim};
use eddy::{Configuration, DataChannelInit, Event, PeerConnection, Protocol};

type Error = Box<dyn std::error::Error>;

fn peer(sim: &mut Sim, addr: SocketAddr) -> Result<PeerConnection, Error> {
    let seed = sim.derive_seed();
    let mut pc = PeerConnection::new(Configuration::default().with_seed(seed), sim.now())?;
    pc.add_local_candidate(addr, Protocol::Udp)?;
    pc.end_of_local_candidates();
    Ok(pc)
}

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let seed = match (args.next().as_deref(), args.next()) {
        (Some("--seed"), Some(n)) => n.parse()?,
        _ => 1,
    };
    #[allow(clippy::disallowed_methods)]
    let mut sim = Sim::new(seed, Instant::now());
    let internet = sim.internet();
    let link = Link::symmetric(LinkConfig {
        delay: Duration::from_millis(10),
        loss: Loss::Random(0.02),
        ..LinkConfig::default()
    });
    let (a_addr, b_addr): (SocketAddr, SocketAddr) =
        ("198.51.100.1:5000".parse()?, "198.51.100.2:5000".parse()?);
    let mut a = peer(&mut sim, a_addr)?;
    let mut b = peer(&mut sim, b_addr)?;
    let channel = a.create_data_channel("chat", &DataChannelInit::default())?;
    let offer = a.create_offer()?;
    a.set_local_description(offer)?;
    b.set_remote_description(a.local_description().cloned().ok_or("no offer")?)?;
    let answer = b.create_answer()?;
    b.set_local_description(answer)?;
    a.set_remote_description(b.local_description().cloned().ok_or("no answer")?)?;
    let a = sim.add_node(internet, a_addr.ip(), a, link);
    let b = sim.add_node(internet, b_addr.ip(), b, link);
    let open = |s: &Sim| s.events(a).any(|(_, e)| *e == Event::ChannelOpen(channel));
    sim.run_until(open, Duration::from_secs(30));
    sim.node_mut::<PeerConnection>(a)
        .and_then(|pc| pc.data_channel(channel))
        .ok_or("the channel did not open")?
        .send_text("hello")?;
    let got = |s: &Sim| s.events(b).any(|(_, e)| matches!(e, Event::ChannelMessage(..)));
    sim.run_until(got, sim.elapsed() + Duration::from_secs(30));
    if !got(&sim) {
        return Err("the message did not arrive".into());
    }
    println!("trace digest {:016x} (seed {seed})", sim.trace_digest());
    Ok(())
}
