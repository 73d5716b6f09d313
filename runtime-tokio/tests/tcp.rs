//! TCP in the tokio driver. TURN over TCP: two relay-only connections reach a
//! loopback TURN server over TCP (the driver opens the connections when
//! the core first sends to the server) and echo through its relays.
//! ICE-TCP: two TCP-only connections (`Builder::ice_tcp`, `tcp_only`), one
//! connecting out to the other's listener.
#![cfg(target_os = "linux")] // the relays bind 127.0.0.2

use std::net::Ipv4Addr;
use std::time::Duration;

use eddy_tokio::Tokio;

#[path = "../../runtime-common/scenario/tcp.rs"]
mod scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_connections_reach_the_turn_server_over_tcp() {
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        scenario::run::<Tokio>(Ipv4Addr::new(127, 0, 0, 2)),
    )
    .await
    .expect("timed out");
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_over_tcp_only_connects_and_echoes() {
    let result = tokio::time::timeout(Duration::from_secs(60), scenario::ice_tcp_only::<Tokio>())
        .await
        .expect("timed out");
    if let Err(e) = result {
        panic!("{e}");
    }
}
