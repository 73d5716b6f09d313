//! Two drivers on 127.0.0.1, in two threads: a data channel opens and one
//! message is echoed back; a burst of messages is echoed back whole and in
//! order.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use eddy::endpoint::PeerId;
use eddy::{
    Configuration, DataChannelInit, Event, IceGatheringState, PeerConnectionState, SdpType,
    SessionDescription,
};
use eddy_mio::{add_host_candidates, new_peer, Driver};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

type Replies = Arc<Mutex<HashMap<PeerId, mpsc::Sender<SessionDescription>>>>;

/// The answering side: echoes every message on the channel it came on,
/// until stopped.
fn spawn_echo() -> (eddy_mio::Handle, Replies, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let mut driver = Driver::bind(&[LOOPBACK]).expect("bind");
        let replies: Replies = Arc::default();
        tx.send((driver.handle(), replies.clone()))
            .expect("hand out");
        driver
            .run(|ep, peer, event| match event {
                Event::IceGatheringStateChange(IceGatheringState::Complete) => {
                    let reply = replies.lock().expect("lock").remove(&peer);
                    if let (Some(reply), Some(pc)) = (reply, ep.peer(peer)) {
                        let _ = reply.send(pc.local_description().cloned().expect("answer"));
                    }
                }
                Event::ChannelMessage(ch, msg) => {
                    let pc = ep.peer_mut(peer).expect("peer");
                    pc.data_channel(ch)
                        .expect("channel")
                        .send(&msg.data)
                        .expect("echo");
                }
                _ => {}
            })
            .expect("run");
    });
    let (handle, replies) = rx.recv().expect("echo side up");
    (handle, replies, thread)
}

/// The offering side, its peer and channel, and the echo side; the
/// channel is not yet open.
struct Pair {
    driver: Driver,
    peer: PeerId,
    channel: eddy::ChannelId,
    handle: eddy_mio::Handle,
    thread: std::thread::JoinHandle<()>,
    deadline: Instant,
}

impl Pair {
    fn step(&mut self) {
        assert!(Instant::now() < self.deadline, "timed out");
        self.driver
            .poll(Some(Duration::from_millis(50)))
            .expect("poll");
    }

    fn stop(self) {
        self.handle.stop().expect("stop");
        self.thread.join().expect("echo thread");
    }
}

/// Offers to an echo side and applies its answer.
fn pair() -> Pair {
    let (handle, replies, thread) = spawn_echo();

    let mut driver = Driver::bind(&[LOOPBACK]).expect("bind");
    assert!(driver.local_addrs().iter().all(|a| a.ip() == LOOPBACK));
    let mut pc = new_peer(Configuration::default()).expect("peer");
    let channel = pc
        .create_data_channel("echo", &DataChannelInit::default())
        .expect("channel");
    let offer = pc.create_offer().expect("offer");
    pc.set_local_description(offer).expect("set offer");
    let peer = driver.add_peer(pc).expect("add");

    let deadline = Instant::now() + Duration::from_secs(20);
    let step = |driver: &mut Driver| {
        assert!(Instant::now() < deadline, "timed out");
        driver.poll(Some(Duration::from_millis(50))).expect("poll");
    };
    while driver
        .endpoint()
        .peer(peer)
        .expect("peer")
        .ice_gathering_state()
        != IceGatheringState::Complete
    {
        step(&mut driver);
    }
    let offer = driver
        .endpoint()
        .peer(peer)
        .and_then(|pc| pc.local_description().cloned())
        .expect("offer with candidates");
    assert!(offer.sdp.contains("a=candidate:"), "{}", offer.sdp);

    // Signal through the other driver's handle: the closure runs on its
    // thread and answers once that peer's gathering is complete.
    let (reply, answer) = mpsc::channel();
    let addrs = handle.host_candidates().to_vec();
    let pending = replies.clone();
    handle
        .execute(move |ep, _| {
            let mut pc = new_peer(Configuration::default()).expect("peer");
            add_host_candidates(&mut pc, &addrs).expect("candidates");
            pc.set_remote_description(offer).expect("set offer");
            let answer = pc.create_answer().expect("answer");
            pc.set_local_description(answer).expect("set answer");
            let complete = pc.ice_gathering_state() == IceGatheringState::Complete;
            let local = pc.local_description().cloned();
            let id = ep.add_peer(pc).expect("room for the peer");
            match local {
                Some(answer) if complete => reply.send(answer).expect("reply"),
                _ => {
                    pending.lock().expect("lock").insert(id, reply);
                }
            }
        })
        .expect("execute");
    let answer = answer
        .recv_timeout(Duration::from_secs(10))
        .expect("answer");
    assert_eq!(answer.sdp_type, SdpType::Answer);
    driver
        .endpoint_mut()
        .peer_mut(peer)
        .expect("peer")
        .set_remote_description(answer)
        .expect("set answer");

    Pair {
        driver,
        peer,
        channel,
        handle,
        thread,
        deadline,
    }
}

#[test]
fn a_message_is_echoed_between_two_drivers_on_loopback() {
    let mut pair = pair();
    let (peer, channel) = (pair.peer, pair.channel);
    let mut echoed = None;
    let mut connected = false;
    while echoed.is_none() {
        pair.step();
        let driver = &mut pair.driver;
        while let Some((id, event)) = driver.poll_event() {
            assert_eq!(id, peer);
            match event {
                Event::ChannelOpen(ch) if ch == channel => {
                    let pc = driver.endpoint_mut().peer_mut(peer).expect("peer");
                    pc.data_channel(ch)
                        .expect("channel")
                        .send(b"ping")
                        .expect("send");
                }
                Event::ChannelMessage(ch, msg) if ch == channel => echoed = Some(msg),
                Event::ConnectionStateChange(PeerConnectionState::Connected) => connected = true,
                Event::ConnectionStateChange(s @ PeerConnectionState::Failed) => {
                    panic!("connection {s:?}")
                }
                _ => {}
            }
        }
    }
    let echoed = echoed.expect("echo");
    assert_eq!(echoed.data, b"ping");
    assert!(!echoed.is_text);
    assert!(connected);
    assert!(pair.driver.stats().sent > 0 && pair.driver.stats().received > 0);
    pair.stop();
}

/// A burst larger than a poll feeds at once (a poll returns after the
/// batch that gave events, keeping what it read for the next): every
/// message comes back, once, in order.
#[test]
fn a_burst_is_echoed_whole_and_in_order() {
    const BURST: u32 = 3000;
    let mut pair = pair();
    let (peer, channel) = (pair.peer, pair.channel);
    let mut next = 0u32;
    while next < BURST {
        pair.step();
        while let Some((_, event)) = pair.driver.poll_event() {
            match event {
                Event::ChannelOpen(ch) if ch == channel => {
                    let pc = pair.driver.endpoint_mut().peer_mut(peer).expect("peer");
                    let mut dc = pc.data_channel(ch).expect("channel");
                    for i in 0..BURST {
                        let mut message = vec![0x5a; 1000];
                        message[..4].copy_from_slice(&i.to_be_bytes());
                        dc.send(&message).expect("send");
                    }
                }
                Event::ChannelMessage(ch, msg) if ch == channel => {
                    assert_eq!(msg.data.len(), 1000);
                    assert_eq!(msg.data[..4], next.to_be_bytes(), "message {next}");
                    next += 1;
                }
                Event::ConnectionStateChange(s @ PeerConnectionState::Failed) => {
                    panic!("connection {s:?}")
                }
                _ => {}
            }
        }
    }
    // Every datagram read was fed to the endpoint, those a poll kept for
    // the next too (SCTP would hide a lost one by retransmitting it).
    let pc = pair.driver.endpoint().peer(peer).expect("peer");
    let input = pc.connection_stats().input;
    assert_eq!(
        input.stun + input.dtls + input.dropped_unknown,
        pair.driver.stats().received
    );
    pair.stop();
}
