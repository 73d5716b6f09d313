//! A thousand async-io connections on loopback, all open at once, under
//! async-std: the drivers are tasks on its global executor, so the process
//! keeps the executor's and the reactor's threads however many connections
//! there are.
#![cfg(target_os = "linux")]

use std::time::Duration;

use eddy_async_std::AsyncIo;
use futures_lite::future;

#[path = "../../runtime-common/scenario/scale.rs"]
mod scenario;

#[test]
fn a_thousand_connections_share_the_executor_threads() {
    let report = async_std::task::block_on(async {
        // Start the executor's and the reactor's threads before the
        // baseline: they start with the first task and timer.
        async_std::task::spawn(async {}).await;
        async_io::Timer::after(Duration::from_millis(1)).await;
        let scale = scenario::run::<AsyncIo>(|task| Box::pin(async_std::task::spawn(task)));
        future::or(scale, async {
            async_io::Timer::after(Duration::from_secs(120)).await;
            Err("timed out".into())
        })
        .await
    });
    let report = match report {
        Ok(report) => report,
        Err(e) => panic!("{e}"),
    };
    println!(
        "async-std: {} connections connected in {:?}; threads: baseline {}, peak {}",
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
