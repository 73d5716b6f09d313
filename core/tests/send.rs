//! Every core type a runtime, a game engine or a thread pool holds is `Send`
//! (ARCHITECTURE.md §6): checked at
//! compile time, so a change that makes one `!Send` fails this build.

fn assert_send<T: Send>() {}

#[test]
fn core_types_are_send() {
    assert_send::<eddy::PeerConnection>();
    assert_send::<eddy::endpoint::Endpoint>();
    assert_send::<eddy::Event>();
    assert_send::<eddy::Configuration>();
    assert_send::<eddy::Certificate>();
}

#[cfg(feature = "sim")]
#[test]
fn the_simulator_is_send() {
    assert_send::<eddy::sim::Sim>();
}

/// Not only the type: a connected peer moved to another thread keeps working.
#[test]
#[allow(clippy::disallowed_methods)] // a test may read the clock and spawn a thread
fn a_peer_connection_moves_between_threads() {
    let now = std::time::Instant::now();
    let mut pc = eddy::PeerConnection::new(eddy::Configuration::default(), now)
        .expect("default configuration is valid");
    pc.create_data_channel("moved", &Default::default())
        .expect("a channel can be created");
    let offer = std::thread::spawn(move || pc.create_offer().map(|o| o.sdp))
        .join()
        .expect("the thread ran")
        .expect("an offer");
    assert!(offer.contains("m=application"), "{offer}");
}
