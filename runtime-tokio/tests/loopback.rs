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
