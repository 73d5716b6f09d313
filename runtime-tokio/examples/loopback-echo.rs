//! Loopback echo throughput of the async driver: two tokio `Connection`s
//! in one process, a data channel between them; the client keeps a window
//! of SIZE-byte messages (default 1,000: one datagram each) unechoed and
//! the server echoes each.
//!
//! `cargo run --release -p eddy-tokio --example loopback-echo -- [SECONDS] [SIZE] [WORKERS]`
//!
//! Prints the datagrams each driver sent per second (DATA, SACKs, ...), the
//! messages echoed per second, and the process's CPU: time on a CPU and
//! time ready to run but waiting for one (`/proc/self/task/*/schedstat`,
//! Linux), so a rate measured on a busy machine is recognisable as the
//! machine's limit. WORKERS is the runtime's worker threads (default 2; 0
//! runs everything on one current-thread runtime).

use std::time::{Duration, Instant};

use eddy_tokio::{DataChannel, Tokio};

/// The adapters' shared loopback scenario: its `connect` (two connected
/// peers, non-trickle offer/answer, the offerer's channel and the
/// answerer's side of it).
#[path = "../../runtime-common/scenario/echo.rs"]
#[allow(dead_code)]
mod scenario;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Unechoed messages in flight.
const WINDOW: usize = 512;
/// Echoing before the measured window.
const WARM_UP: Duration = Duration::from_secs(1);

/// The process's time on a CPU and waiting for one, summed over its threads.
fn process_cpu() -> Option<(Duration, Duration)> {
    let (mut run, mut wait) = (0u64, 0u64);
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path().join("schedstat");
        let Ok(stat) = std::fs::read_to_string(path) else {
            continue; // a thread that ended meanwhile
        };
        let mut fields = stat.split_whitespace().map(|f| f.parse::<u64>().ok());
        run += fields.next()??;
        wait += fields.next()??;
    }
    Some((Duration::from_nanos(run), Duration::from_nanos(wait)))
}

fn main() -> Result {
    let mut args = std::env::args().skip(1);
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let size: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let workers: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let runtime = if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?
    };
    runtime.block_on(run(Duration::from_secs(secs), size, workers))
}

async fn run(measure: Duration, size: usize, workers: usize) -> Result {
    let (client, server, mut chat, remote) = scenario::connect::<Tokio>().await?;
    tokio::spawn(echo(remote));
    let message = vec![0x5a; size];
    let mut in_flight = 0;
    let mut echoed = 0u64;
    let mut start = None;
    let begun = Instant::now();
    loop {
        while in_flight < WINDOW {
            chat.send(&message).await?;
            in_flight += 1;
        }
        chat.recv().await.ok_or("the channel closed")?;
        in_flight -= 1;
        echoed += 1;
        if !echoed.is_multiple_of(64) {
            continue;
        }
        let now = Instant::now();
        match start {
            None if now - begun >= WARM_UP => {
                let sent = (client.stats().await?.sent, server.stats().await?.sent);
                start = Some((now, echoed, sent, process_cpu()));
            }
            Some((t0, echoed0, (c0, s0), cpu0)) if now - t0 >= measure => {
                let wall = (now - t0).as_secs_f64();
                let (c1, s1) = (client.stats().await?.sent, server.stats().await?.sent);
                println!(
                    "tokio ({}), {size} B messages, {wall:.2} s: client→server {:.0} datagrams/s, \
                     server→client {:.0} datagrams/s, {:.0} messages echoed/s",
                    if workers == 0 {
                        "current thread".to_owned()
                    } else {
                        format!("{workers} workers")
                    },
                    (c1 - c0) as f64 / wall,
                    (s1 - s0) as f64 / wall,
                    (echoed - echoed0) as f64 / wall,
                );
                if let (Some((run0, wait0)), Some((run1, wait1))) = (cpu0, process_cpu()) {
                    println!(
                        "  process: {:.2} s CPU ({:.0}% of a core), {:.2} s waiting for a CPU",
                        (run1 - run0).as_secs_f64(),
                        100.0 * (run1 - run0).as_secs_f64() / wall,
                        (wait1 - wait0).as_secs_f64(),
                    );
                }
                break;
            }
            _ => {}
        }
    }
    client.close().await;
    server.close().await;
    Ok(())
}

/// Sends back every message, until the channel closes.
async fn echo(mut channel: DataChannel) -> Result {
    while let Some(m) = channel.recv().await {
        channel.send(&m.data).await?;
    }
    Ok(())
}
