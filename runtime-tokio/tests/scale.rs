//! A thousand tokio connections on loopback, all open at once, on a
//! two-worker runtime: the drivers are tasks, so the process keeps the
//! runtime's threads however many connections there are.
#![cfg(target_os = "linux")]

use std::time::Duration;

use eddy_tokio::Tokio;

#[path = "../../runtime-common/scenario/scale.rs"]
mod scenario;

#[test]
fn a_thousand_connections_share_the_runtime_threads() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let report = runtime.block_on(async {
        let scale = scenario::run::<Tokio>(|task| {
            let handle = tokio::spawn(task);
            Box::pin(async move { handle.await? })
        });
        tokio::time::timeout(Duration::from_secs(120), scale).await
    });
    let report = match report {
        Ok(Ok(report)) => report,
        Ok(Err(e)) => panic!("{e}"),
        Err(_) => panic!("timed out"),
    };
    println!(
        "tokio, 2 workers: {} connections connected in {:?}; threads: baseline {}, peak {}",
        report.connections, report.connect_time, report.baseline, report.peak
    );
    assert_eq!(report.connections, 2 * scenario::PAIRS);
    assert!(
        report.peak <= report.baseline + scenario::THREAD_SLACK,
        "threads grew from {} to {} with the connections",
        report.baseline,
        report.peak
    );
}
