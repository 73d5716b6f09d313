//! TCP in the async-io driver. TURN over TCP: two relay-only connections
//! reach a loopback TURN server over TCP (the driver opens the connections
//! when the core first sends to the server) and echo through its relays.
//! ICE-TCP: two TCP-only connections (`Builder::ice_tcp`, `tcp_only`), one
//! connecting out to the other's listener.
#![cfg(target_os = "linux")] // the relays bind 127.0.0.3

use std::net::Ipv4Addr;
use std::time::Duration;

use eddy_async_std::AsyncIo;
use futures_lite::future;

#[path = "../../runtime-common/scenario/tcp.rs"]
mod scenario;

/// Runs `scenario` with a 60 s limit; panics with its error.
async fn within_a_minute(scenario: impl std::future::Future<Output = scenario::Result>) {
    let result = future::or(async { scenario.await.map_err(|e| e.to_string()) }, async {
        async_io::Timer::after(Duration::from_secs(60)).await;
        Err("timed out".to_owned())
    })
    .await;
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[async_std::test]
async fn relay_only_connections_reach_the_turn_server_over_tcp() {
    within_a_minute(scenario::run::<AsyncIo>(Ipv4Addr::new(127, 0, 0, 3))).await;
}

#[async_std::test]
async fn ice_over_tcp_only_connects_and_echoes() {
    within_a_minute(scenario::ice_tcp_only::<AsyncIo>()).await;
}
