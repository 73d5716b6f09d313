//! Congestion control on a call (GCC over transport-wide feedback): eddy
//! sends video over a 1 Mbit/s bottleneck with 50 ms of round trip, its
//! encoder (here: a loop writing packets) following
//! `Event::BandwidthEstimate`, the pacer spreading what it writes and
//! probing with padding. The estimate reaches the capacity within 5 s
//! without filling the queue, follows it down when it drops to 300 kbit/s,
//! and shows as `availableOutgoingBitrate`. Set `EDDY_BWE_CSV=1` for
//! `target/bwe-call.csv` (`bwe-plot` draws it).
#![cfg(feature = "sim")]

use std::fmt::Write as _;

use eddy::sim::Sim;
use eddy::stats_report::RtcStats;
use eddy::Event;

mod bwe_common;
use bwe_common::{call, link, pc, Encoder, TICK};

#[test]
fn the_estimate_finds_the_bottleneck_and_follows_it_down() {
    let c = call(false);
    let mut encoder = Encoder::new(&c);
    let (mut sim, na, nb) = (c.sim, c.a, c.b);
    let mut estimate = 300_000u64;
    let mut trace: Vec<(f64, u64, u64)> = Vec::new();
    let mut capacity = 1_000_000u64;
    let start = sim.elapsed();
    let mut reached_85: Option<f64> = None;
    let mut after_drop: Option<f64> = None;
    let mut estimates = 0;
    let round_trip = |sim: &mut Sim| {
        pc(sim, na)
            .get_stats()
            .of_type("remote-inbound-rtp")
            .find_map(|s| match s {
                RtcStats::RemoteInboundRtp(r) => r.round_trip_time,
                _ => None,
            })
    };
    let mut rtt_before_drop = None;
    let mut rtts: Vec<(f64, f64)> = Vec::new();
    for tick in 0..5000u32 {
        let t = (sim.elapsed() - start).as_secs_f64();
        if tick == 3000 {
            rtt_before_drop = round_trip(&mut sim);
            capacity = 300_000;
            sim.set_link(na, link(capacity));
        }
        encoder.tick(&mut sim, estimate);
        sim.run_for(TICK);
        for (_, e) in sim.take_events(na) {
            if let Event::BandwidthEstimate { bitrate } = e {
                estimate = bitrate;
                estimates += 1;
            }
        }
        if tick % 50 == 0 {
            rtts.push((t, round_trip(&mut sim).unwrap_or(0.0)));
        }
        trace.push((t, capacity, estimate));
        if reached_85.is_none() && estimate >= 850_000 {
            reached_85 = Some(t);
        }
        if tick >= 3000 && after_drop.is_none() && estimate <= 330_000 {
            after_drop = Some(t - 30.0);
        }
    }
    if std::env::var_os("EDDY_BWE_CSV").is_some() {
        // One row per tick, with the latest RTT sample (every 0.5 s);
        // `bwe-plot` draws it.
        let mut csv = String::from("time_s,capacity_bps,estimate_bps,rtt_s\n");
        let mut rtt = 0.0;
        let mut samples = rtts.iter().peekable();
        for (t, c, e) in &trace {
            while let Some((_, r)) = samples.next_if(|(at, _)| at <= t) {
                rtt = *r;
            }
            let _ = writeln!(csv, "{t:.2},{c},{e},{rtt:.4}");
        }
        let _ = std::fs::create_dir_all("../target");
        std::fs::write("../target/bwe-call.csv", csv).unwrap();
    }
    let mean = |from: f64, to: f64| {
        let v: Vec<u64> = trace
            .iter()
            .filter(|(t, _, _)| *t >= from && *t < to)
            .map(|x| x.2)
            .collect();
        v.iter().sum::<u64>() as f64 / v.len().max(1) as f64
    };
    let rtt = round_trip(&mut sim);
    let available = pc(&mut sim, na)
        .get_stats()
        .of_type("candidate-pair")
        .find_map(|s| match s {
            RtcStats::CandidatePair(p) => p.available_outgoing_bitrate,
            _ => None,
        });
    eprintln!(
        "1 Mbit/s: 85% at {reached_85:?} s, mean 20-30 s {:.0} bit/s; after the drop to 300 kbit/s: \
         ≤ 330 kbit/s in {after_drop:?} s, mean 35-50 s {:.0} bit/s; RTT before the drop \
         {rtt_before_drop:?} s, at the end {rtt:?} s; \
         {estimates} estimate events; availableOutgoingBitrate {available:?}",
        mean(20.0, 30.0),
        mean(35.0, 50.0),
    );
    // Issue 18: "the estimate reaches ≥ 85% of capacity within 5 s" (the
    // pacer's start-up probes find it; without them AIMD took 14 s).
    let reached = reached_85.expect("the estimate reached 85% of the capacity");
    assert!(reached < 5.0, "85% only at {reached} s");
    let m = mean(20.0, 30.0);
    assert!((800_000.0..=1_150_000.0).contains(&m), "mean {m}");
    let drop = after_drop.expect("the estimate followed the capacity down");
    assert!(drop < 3.0, "{drop} s to follow the drop");
    let m = mean(35.0, 50.0);
    assert!(
        (200_000.0..=345_000.0).contains(&m),
        "mean after the drop {m}"
    );
    // The queue stayed short: the round trip is the link's 50 ms plus
    // well under 100 ms of queueing (RTCP's smoothed measure).
    let before = rtt_before_drop.expect("an RTT");
    assert!(before < 0.150, "RTT before the drop {before}");
    // After the drop the queue the old rate left drains only slowly: the
    // detector's adaptive threshold rose with the spike (draft-ietf-rmcat-gcc
    // §5.4's k_d makes it come down over tens of seconds), so a standing
    // queue of about 100–150 ms is left 15–20 s later. Bounded here (the
    // mean of the last 5 s, sampled every 0.5 s); a faster
    // recovery is future work (README, congestion control row).
    assert!(rtt.is_some(), "an RTT at the end");
    let tail: Vec<f64> = rtts
        .iter()
        .filter(|(t, _)| *t >= 45.0)
        .map(|(_, r)| *r)
        .collect();
    let tail = tail.iter().sum::<f64>() / tail.len().max(1) as f64;
    assert!(tail < 0.250, "mean RTT over the last 5 s {tail}");
    assert!(available.is_some_and(|b| b > 0.0));
    // The pacer probed with padding on the RTX stream, and B took it as
    // such (counted in its feedback, dropped without complaint).
    let pacer = pc(&mut sim, na).connection_stats().pacer;
    eprintln!("{pacer:?}");
    assert!(pacer.padding_bytes_sent > 0, "{pacer:?}");
    assert_eq!(pacer.packets_dropped, 0, "{pacer:?}");
    assert_eq!(pacer.send_failures, 0, "{pacer:?}");
    let input = pc(&mut sim, nb).connection_stats().input;
    assert_eq!(input.dropped(eddy::Dropped::MediaMalformed), 0);
    assert_eq!(input.dropped(eddy::Dropped::MediaUnrouted), 0);
}
