//! Two drivers on 127.0.0.1, in two threads: a data channel opens and one
//! message is echoed back.

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

#[test]
fn a_message_is_echoed_between_two_drivers_on_loopback() {
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

    let mut echoed = None;
    let mut connected = false;
    while echoed.is_none() {
        step(&mut driver);
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
    assert!(driver.stats().sent > 0 && driver.stats().received > 0);

    handle.stop().expect("stop");
    thread.join().expect("echo thread");
}
