//! Two tokio connections on loopback.

use std::time::Duration;

use eddy_tokio::Tokio;

#[path = "../../runtime-common/scenario/echo.rs"]
mod scenario;

#[tokio::test]
async fn offer_answer_echo_backpressure_close() {
    let result = tokio::time::timeout(Duration::from_secs(60), scenario::run::<Tokio>())
        .await
        .expect("timed out");
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_report_the_connection() {
    let result = tokio::time::timeout(Duration::from_secs(60), async {
        let (a, _b, _chat, _remote) = scenario::connect::<Tokio>().await?;
        let mut events = a.events();
        while let Some(event) = events.recv().await {
            if event == eddy::Event::ConnectionStateChange(eddy::PeerConnectionState::Connected) {
                a.close().await;
                // The driver stopped: the queue ends.
                while events.recv().await.is_some() {}
                return Ok::<_, Box<dyn std::error::Error + Send + Sync>>(());
            }
        }
        Err("no Connected event".into())
    })
    .await
    .expect("timed out");
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[tokio::test]
async fn dropping_every_handle_stops_the_driver() {
    let lo = [std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)];
    let pc = eddy_tokio::Connection::new(eddy::Configuration::default(), &lo).expect("connection");
    let channel = pc
        .create_data_channel("c", eddy::DataChannelInit::default())
        .await
        .expect("channel");
    let mut events = pc.events();
    drop(pc);
    // The channel still holds the driver.
    let still_running = tokio::time::timeout(Duration::from_millis(200), async {
        while events.recv().await.is_some() {}
    })
    .await;
    assert!(
        still_running.is_err(),
        "the driver stopped while a channel was held"
    );
    drop(channel);
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while events.recv().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the driver kept running");
}

#[test]
fn outside_a_runtime_new_is_an_error() {
    let lo = [std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)];
    let error = eddy_tokio::Connection::new(eddy::Configuration::default(), &lo)
        .expect_err("a connection with no runtime to run on");
    assert!(
        error.to_string().contains("within a tokio runtime"),
        "{error}"
    );
}

#[test]
fn a_runtime_without_io_or_time_is_an_error() {
    let lo = [std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)];
    let no_io = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let no_time = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    for (runtime, missing) in [(no_io, "no I/O driver"), (no_time, "no time driver")] {
        let _context = runtime.enter();
        let error = eddy_tokio::Connection::new(eddy::Configuration::default(), &lo)
            .expect_err("a connection on a runtime without its drivers");
        assert!(error.to_string().contains(missing), "{error}");
    }
}

/// More than a turn of the driver feeds at once, under both schedulers: the
/// application runs between slices, on the driver's thread too.
#[tokio::test]
async fn a_burst_is_echoed_whole_and_in_order() {
    let result = tokio::time::timeout(Duration::from_secs(60), scenario::burst::<Tokio>())
        .await
        .expect("timed out");
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_echoed_whole_and_in_order_on_two_threads() {
    let result = tokio::time::timeout(Duration::from_secs(60), scenario::burst::<Tokio>())
        .await
        .expect("timed out");
    if let Err(e) = result {
        panic!("{e}");
    }
}
