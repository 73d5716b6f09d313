//! Two async-io connections on loopback, under async-std's executor and
//! under smol.

use std::time::Duration;

use eddy_async_std::AsyncIo;
use futures_lite::future;

#[path = "../../runtime-common/scenario/echo.rs"]
mod scenario;

async fn within_a_minute() -> Result<(), String> {
    future::or(
        async { scenario::run::<AsyncIo>().await.map_err(|e| e.to_string()) },
        async {
            async_io::Timer::after(Duration::from_secs(60)).await;
            Err("timed out".to_owned())
        },
    )
    .await
}

#[async_std::test]
async fn under_async_std() {
    if let Err(e) = within_a_minute().await {
        panic!("{e}");
    }
}

#[test]
fn under_smol() {
    if let Err(e) = smol::block_on(within_a_minute()) {
        panic!("{e}");
    }
}

#[test]
fn events_stream_reports_the_connection_under_smol() {
    use futures_lite::StreamExt;
    let connected = eddy::Event::ConnectionStateChange(eddy::PeerConnectionState::Connected);
    let result = smol::block_on(future::or(
        async {
            let (a, _b, _chat, _remote) = scenario::connect::<AsyncIo>()
                .await
                .map_err(|e| e.to_string())?;
            let mut events = a.events();
            while let Some(event) = events.next().await {
                if event == connected {
                    a.close().await;
                    // The driver stopped: the stream ends.
                    while events.next().await.is_some() {}
                    return Ok(());
                }
            }
            Err("no Connected event".to_owned())
        },
        async {
            async_io::Timer::after(Duration::from_secs(60)).await;
            Err("timed out".to_owned())
        },
    ));
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// More than a turn of the driver feeds at once, under smol's one thread:
/// the application runs between slices.
#[test]
fn a_burst_is_echoed_whole_and_in_order_under_smol() {
    let result = smol::block_on(future::or(
        async {
            scenario::burst::<AsyncIo>()
                .await
                .map_err(|e| e.to_string())
        },
        async {
            async_io::Timer::after(Duration::from_secs(60)).await;
            Err("timed out".to_owned())
        },
    ));
    if let Err(e) = result {
        panic!("{e}");
    }
}
