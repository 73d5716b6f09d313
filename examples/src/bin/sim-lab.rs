//! A laboratory for network settings: two eddy peers in the simulator, one
//! sending a bulk transfer on a reliable data channel and pinging on a
//! second, across a link with the loss, delay, jitter, bandwidth and queue
//! you give. It plots throughput and round-trip time over virtual time to
//! an SVG, so you see what your settings do. Same flags and seed, same
//! plot, byte for byte.
//!
//! `cargo run --release -p eddy-examples --bin sim-lab -- --loss 0.02
//! --delay-ms 40 --bandwidth-kbps 4000 --seconds 30 --out lab.svg`
//! (`--help` for all)
//!
//! The round-trip time is what the application sees: a small message on
//! a second reliable channel, echoed by the receiver at once, so it shows
//! the link's delay plus the queueing the transfer causes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use eddy::sim::{Link, LinkConfig, Loss, Node, Sim};
use eddy::{
    ChannelId, Configuration, DataChannelInit, Event, Input, Output, PeerConnection, Protocol,
};
use plotters::prelude::*;

/// Runs a data channel transfer over a simulated link and plots throughput
/// and round-trip time to an SVG.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Seed of the simulation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Virtual seconds of transfer.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Loss probability of each packet, each way (0.0..=1.0).
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// One-way delay in milliseconds.
    #[arg(long, default_value_t = 25)]
    delay_ms: u64,
    /// Jitter in milliseconds (added to the delay, at random).
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Bandwidth of the link, each way, in kbit/s (0: unlimited).
    #[arg(long, default_value_t = 4000)]
    bandwidth_kbps: u64,
    /// The link's queue in kilobytes (tail drop beyond it).
    #[arg(long, default_value_t = 64)]
    queue_kb: usize,
    /// Where to write the plot.
    #[arg(long, default_value = "sim-lab.svg")]
    out: PathBuf,
}

/// Bytes kept in the bulk channel's send buffer.
const BUFFER: usize = 1024 * 1024;
/// Bulk message size.
const MESSAGE: usize = 16 * 1024;
/// A ping every this long.
const PING_EVERY: Duration = Duration::from_millis(100);
/// One sample of throughput (and the pings answered in it) per this long.
const SAMPLE: Duration = Duration::from_millis(250);

fn main() -> ExitCode {
    eddy_examples::logging::init();
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.loss) {
        eprintln!("sim-lab: --loss must be within 0.0..=1.0");
        return ExitCode::from(2);
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sim-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The sending peer: keeps the bulk channel's buffer full and pings.
struct Sender {
    pc: PeerConnection,
    bulk: ChannelId,
    ping: ChannelId,
    open: usize,
    now: Instant,
    next_ping: Option<Instant>,
    sent_pings: Vec<Instant>,
    /// (when the echo came, round-trip time), since the last sample.
    rtts: Vec<(Instant, Duration)>,
    chunk: Vec<u8>,
}

impl Node for Sender {
    fn handle_input(&mut self, input: Input<'_>) {
        self.now = input.time();
        if let Err(e) = self.pc.handle_input(input) {
            tracing::debug!("sender: {e}");
        }
    }

    fn poll_output(&mut self) -> Output {
        if self.open == 2 {
            self.top_up();
        }
        loop {
            match self.pc.poll_output() {
                Output::Event(Event::ChannelOpen(_)) => {
                    self.open += 1;
                    self.next_ping.get_or_insert(self.now);
                }
                Output::Event(Event::ChannelMessage(id, message)) if id == self.ping => {
                    let seq = <[u8; 8]>::try_from(message.data.as_slice())
                        .map(u64::from_be_bytes)
                        .ok()
                        .and_then(|n| usize::try_from(n).ok());
                    if let Some(sent) = seq.and_then(|n| self.sent_pings.get(n)) {
                        self.rtts.push((self.now, self.now - *sent));
                    }
                }
                Output::Event(_) => {}
                Output::Timeout(at) => {
                    let at = match (at, self.next_ping) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    return Output::Timeout(at);
                }
                transmit => return transmit,
            }
        }
    }
}

impl Sender {
    fn top_up(&mut self) {
        if self.next_ping.is_some_and(|at| at <= self.now) {
            let seq = self.sent_pings.len() as u64;
            if let Some(mut dc) = self.pc.data_channel(self.ping) {
                if dc.send(&seq.to_be_bytes()).is_ok() {
                    self.sent_pings.push(self.now);
                }
            }
            self.next_ping = Some(self.now + PING_EVERY);
        }
        if let Some(mut dc) = self.pc.data_channel(self.bulk) {
            while dc.buffered_amount() + MESSAGE <= BUFFER {
                if dc.send(&self.chunk).is_err() {
                    break;
                }
            }
        }
    }
}

/// The receiving peer: counts bulk bytes, echoes pings at once.
struct Receiver {
    pc: PeerConnection,
    bytes: u64,
}

impl Node for Receiver {
    fn handle_input(&mut self, input: Input<'_>) {
        if let Err(e) = self.pc.handle_input(input) {
            tracing::debug!("receiver: {e}");
        }
    }

    fn poll_output(&mut self) -> Output {
        loop {
            match self.pc.poll_output() {
                Output::Event(Event::ChannelMessage(id, message)) => {
                    let Some(mut dc) = self.pc.data_channel(id) else {
                        continue;
                    };
                    if dc.label() == "ping" {
                        let _ = dc.send(&message.data);
                    } else {
                        self.bytes += message.data.len() as u64;
                    }
                }
                Output::Event(_) => {}
                other => return other,
            }
        }
    }
}

fn link(args: &Args) -> Link {
    Link::symmetric(LinkConfig {
        delay: Duration::from_millis(args.delay_ms),
        jitter: Duration::from_millis(args.jitter_ms),
        loss: if args.loss > 0.0 {
            Loss::Random(args.loss)
        } else {
            Loss::None
        },
        bandwidth_bps: (args.bandwidth_kbps > 0).then_some(args.bandwidth_kbps * 1000),
        queue_bytes: args.queue_kb * 1024,
        ..LinkConfig::default()
    })
}

fn peer(sim: &mut Sim, addr: SocketAddr) -> Result<PeerConnection, String> {
    let seed = sim.derive_seed();
    let mut pc = PeerConnection::new(Configuration::default().with_seed(seed), sim.now())
        .map_err(|e| e.to_string())?;
    pc.add_local_candidate(addr, Protocol::Udp)
        .map_err(|e| e.to_string())?;
    pc.end_of_local_candidates();
    Ok(pc)
}

/// Throughput (kbit/s) and round trips (ms) over virtual seconds.
struct Samples {
    throughput: Vec<(f64, f64)>,
    rtt: Vec<(f64, f64)>,
}

fn run(args: &Args) -> Result<(), String> {
    #[allow(clippy::disallowed_methods)] // the one clock reading: where virtual time starts
    let mut sim = Sim::new(args.seed, Instant::now());
    sim.set_trace_limit(0);
    let internet = sim.internet();
    let (a, b): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().map_err(|_| "address")?,
        "198.51.100.2:5000".parse().map_err(|_| "address")?,
    );
    let mut pa = peer(&mut sim, a)?;
    let mut pb = peer(&mut sim, b)?;
    let init = DataChannelInit::default();
    let bulk = pa
        .create_data_channel("bulk", &init)
        .map_err(|e| e.to_string())?;
    let ping = pa
        .create_data_channel("ping", &init)
        .map_err(|e| e.to_string())?;
    let offer = pa.create_offer().map_err(|e| e.to_string())?;
    pa.set_local_description(offer).map_err(|e| e.to_string())?;
    let offer = pa.local_description().cloned().ok_or("no offer")?;
    pb.set_remote_description(offer)
        .map_err(|e| e.to_string())?;
    let answer = pb.create_answer().map_err(|e| e.to_string())?;
    pb.set_local_description(answer)
        .map_err(|e| e.to_string())?;
    let answer = pb.local_description().cloned().ok_or("no answer")?;
    pa.set_remote_description(answer)
        .map_err(|e| e.to_string())?;
    let start = sim.now();
    let sender = Sender {
        pc: pa,
        bulk,
        ping,
        open: 0,
        now: start,
        next_ping: None,
        sent_pings: Vec::new(),
        rtts: Vec::new(),
        chunk: vec![0x5a; MESSAGE],
    };
    let na = sim.add_node(internet, a.ip(), sender, link(args));
    let nb = sim.add_node(
        internet,
        b.ip(),
        Receiver { pc: pb, bytes: 0 },
        Link::default(),
    );

    let opened = |s: &Sim| s.node::<Sender>(na).is_some_and(|n| n.open == 2);
    sim.run_until(opened, Duration::from_secs(30));
    if !opened(&sim) {
        return Err("the data channels did not open within 30 s".into());
    }
    let t0 = sim.now();
    let mut samples = Samples {
        throughput: Vec::new(),
        rtt: Vec::new(),
    };
    let mut last_bytes = 0;
    while sim.now() - t0 < Duration::from_secs(args.seconds) {
        sim.run_for(SAMPLE);
        let t = (sim.now() - t0).as_secs_f64();
        let bytes = sim.node::<Receiver>(nb).map_or(0, |r| r.bytes);
        let kbps = (bytes - last_bytes) as f64 * 8.0 / SAMPLE.as_secs_f64() / 1000.0;
        samples.throughput.push((t, kbps));
        last_bytes = bytes;
        if let Some(sender) = sim.node_mut::<Sender>(na) {
            for (at, rtt) in sender.rtts.drain(..) {
                let at = at.saturating_duration_since(t0).as_secs_f64();
                samples.rtt.push((at, rtt.as_secs_f64() * 1000.0));
            }
        }
    }
    plot(args, &samples)?;
    print_summary(args, &samples, last_bytes);
    Ok(())
}

fn print_summary(args: &Args, samples: &Samples, bytes: u64) {
    let mut rtts: Vec<f64> = samples.rtt.iter().map(|(_, r)| *r).collect();
    rtts.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        rtts.get(((rtts.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "sim-lab (seed {}): loss {}, delay {} ms ± {} ms, {} kbit/s, queue {} KB: \
         {} B in {} s = {:.0} kbit/s; RTT p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms ({} pings); plot in {}",
        args.seed,
        args.loss,
        args.delay_ms,
        args.jitter_ms,
        args.bandwidth_kbps,
        args.queue_kb,
        bytes,
        args.seconds,
        bytes as f64 * 8.0 / args.seconds.max(1) as f64 / 1000.0,
        pct(0.5),
        pct(0.95),
        rtts.last().copied().unwrap_or(f64::NAN),
        rtts.len(),
        args.out.display()
    );
}

fn plot(args: &Args, samples: &Samples) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("plot: {e}");
    let root = SVGBackend::new(&args.out, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (top, bottom) = root.split_vertically(300);
    let seconds = args.seconds as f64;
    let max = |v: &[(f64, f64)]| v.iter().map(|(_, y)| *y).fold(1.0, f64::max) * 1.1;
    let title = format!(
        "loss {} · delay {} ms ± {} · {} kbit/s · queue {} KB · seed {}",
        args.loss, args.delay_ms, args.jitter_ms, args.bandwidth_kbps, args.queue_kb, args.seed
    );
    for (area, data, label, color) in [
        (&top, &samples.throughput, "throughput (kbit/s)", BLUE),
        (&bottom, &samples.rtt, "round trip (ms)", RED),
    ] {
        let mut chart = ChartBuilder::on(area)
            .caption(
                if color == BLUE { title.as_str() } else { "" },
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..seconds, 0.0..max(data))
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("virtual time (s)")
            .y_desc(label)
            .draw()
            .map_err(|e| err(&e))?;
        chart
            .draw_series(LineSeries::new(data.iter().copied(), &color))
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}
