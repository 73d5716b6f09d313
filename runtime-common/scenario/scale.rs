//! The server-scale scenario every async adapter's tests run (included with
//! `#[path]`): [`PAIRS`] pairs of connections on loopback in one process,
//! all open at once. Each pair connects (non-trickle offer/answer), opens a
//! channel and passes a message each way; once every pair is through, every
//! one of the `2 * PAIRS` connections must still be connected. Meanwhile
//! the process's thread count is sampled: drivers are tasks on the
//! runtime, so it must not grow with the number of connections.
//!
//! Linux only: the thread count comes from `/proc/self/status`.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy::{Configuration, DataChannelInit, DataChannelMessage, PeerConnectionState};
use eddy_runtime_common::{Connection, DataChannel, Runtime};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Pairs of connections: a thousand connections in all.
pub(crate) const PAIRS: usize = 500;

/// Threads the process may gain over its baseline while the connections
/// run (a runtime's blocking pool, the harness), however many connections
/// there are.
pub(crate) const THREAD_SLACK: usize = 8;

/// A task the test's runtime spawns, and the future of its result.
pub(crate) type Task<T> = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

/// One connected pair, kept open until every pair is through.
pub(crate) struct Pair<R> {
    offerer: Connection<R>,
    answerer: Connection<R>,
    _channels: (DataChannel, DataChannel),
}

/// What the scenario saw.
#[derive(Debug)]
pub(crate) struct Report {
    /// Connections open at once at the end.
    pub(crate) connections: usize,
    /// Threads before the first connection.
    pub(crate) baseline: usize,
    /// The most threads seen while the connections ran.
    pub(crate) peak: usize,
    /// From the first connection to every pair through.
    pub(crate) connect_time: Duration,
}

/// The process's thread count (`Threads:` in `/proc/self/status`).
pub(crate) fn threads() -> Result<usize> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .ok_or("no Threads: line in /proc/self/status")?;
    Ok(line.trim().parse()?)
}

/// Records the thread count if it is the highest yet.
fn sample(peak: &AtomicUsize) -> Result {
    peak.fetch_max(threads()?, Ordering::Relaxed);
    Ok(())
}

async fn expect(channel: &mut DataChannel, text: &str) -> Result {
    let m = channel.recv().await.ok_or("the channel closed early")?;
    let expected = DataChannelMessage {
        is_text: true,
        data: text.as_bytes().to_vec(),
    };
    if m != expected {
        return Err(format!(
            "expected {text:?}, got {:?}",
            String::from_utf8_lossy(&m.data)
        )
        .into());
    }
    Ok(())
}

/// Pair `i`: two new connections, connected, a message each way.
async fn connect_pair<R: Runtime>(i: usize, peak: Arc<AtomicUsize>) -> Result<Pair<R>> {
    let lo = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
    let a = Connection::<R>::new(Configuration::default(), &lo)?;
    let b = Connection::<R>::new(Configuration::default(), &lo)?;
    sample(&peak)?;
    let mut chat = a
        .create_data_channel("chat", DataChannelInit::default())
        .await?;
    let offer = a.create_offer().await?;
    a.set_local_description(offer).await?;
    a.gathering_complete().await?;
    let offer = a.local_description().await?.ok_or("no offer")?;
    b.set_remote_description(offer).await?;
    let answer = b.create_answer().await?;
    b.set_local_description(answer).await?;
    b.gathering_complete().await?;
    let answer = b.local_description().await?.ok_or("no answer")?;
    a.set_remote_description(answer).await?;
    let mut remote = b
        .accept_data_channel()
        .await
        .ok_or("no channel from the peer")?;
    chat.send_text(&format!("ping {i}")).await?;
    expect(&mut remote, &format!("ping {i}")).await?;
    remote.send_text(&format!("pong {i}")).await?;
    expect(&mut chat, &format!("pong {i}")).await?;
    sample(&peak)?;
    Ok(Pair {
        offerer: a,
        answerer: b,
        _channels: (chat, remote),
    })
}

/// The whole scenario; `spawn` runs a task on the test's runtime (the
/// caller has started its threads already).
pub(crate) async fn run<R: Runtime>(
    spawn: impl Fn(Task<Pair<R>>) -> Task<Pair<R>>,
) -> Result<Report> {
    let baseline = threads()?;
    let peak = Arc::new(AtomicUsize::new(baseline));
    let start = Instant::now();
    let tasks: Vec<_> = (0..PAIRS)
        .map(|i| spawn(Box::pin(connect_pair::<R>(i, peak.clone()))))
        .collect();
    let mut pairs = Vec::with_capacity(PAIRS);
    let mut failures = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await {
            Ok(pair) => pairs.push(pair),
            Err(e) => failures.push(format!("pair {i}: {e}")),
        }
    }
    let connect_time = start.elapsed();
    if !failures.is_empty() {
        return Err(format!(
            "{} of {PAIRS} pairs failed; first: {}",
            failures.len(),
            failures.join("; ").chars().take(2000).collect::<String>()
        )
        .into());
    }
    // Every connection is open at once: each driver still answers, and
    // still has its peer.
    let mut connections = 0;
    for (i, pair) in pairs.iter().enumerate() {
        for pc in [&pair.offerer, &pair.answerer] {
            let state = pc.with(|pc| pc.connection_state()).await?;
            if state != PeerConnectionState::Connected {
                return Err(format!("pair {i}: connection state {state:?}").into());
            }
            connections += 1;
        }
    }
    sample(&peak)?;
    for pair in &pairs {
        pair.offerer.close().await;
        pair.answerer.close().await;
    }
    Ok(Report {
        connections,
        baseline,
        peak: peak.load(Ordering::Relaxed),
        connect_time,
    })
}
