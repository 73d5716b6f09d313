//! Plots a congestion-control trace to an SVG: the CSVs the simulator
//! scenarios write (`EDDY_BWE_CSV=1 cargo test -p eddy --features sim bwe`
//! gives `target/bwe-<scenario>.csv`, and `core/tests/bwe-call.rs`
//! `target/bwe-call.csv`).
//!
//! `cargo run --release -p eddy-examples --bin bwe-plot -- target/bwe-follows_a_capacity_drop.csv --out drop.svg`
//!
//! The columns are found by name in the header: `time_s` (required),
//! `capacity_bps` and every `estimate*_bps` in the top panel (kbit/s), and
//! `queue_delay_ms` (or `rtt_s`, in ms) in the bottom one when present.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use plotters::prelude::*;

/// Plots the capacity, the estimates and the queueing delay of a
/// congestion-control CSV to an SVG.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The CSV (header row first).
    csv: PathBuf,
    /// The SVG to write.
    #[arg(long, default_value = "bwe.svg")]
    out: PathBuf,
}

/// One plotted column: its name and its (time, value) points.
type Series = (String, Vec<(f64, f64)>);

fn main() -> ExitCode {
    eddy_examples::logging::init();
    let args = Args::parse();
    eddy_examples::exit("bwe-plot", run(&args))
}

fn run(args: &Args) -> Result<(), String> {
    let text =
        std::fs::read_to_string(&args.csv).map_err(|e| format!("{}: {e}", args.csv.display()))?;
    let (rates, delays) = parse(&text)?;
    plot(args, &rates, &delays)?;
    println!(
        "bwe-plot: {} series, {} points each, to {}",
        rates.len() + delays.len(),
        rates.first().map_or(0, |(_, p)| p.len()),
        args.out.display()
    );
    Ok(())
}

/// The rate series (kbit/s) and the delay series (ms) of `text`.
fn parse(text: &str) -> Result<(Vec<Series>, Vec<Series>), String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().ok_or("empty CSV")?.split(',').collect();
    let time = header
        .iter()
        .position(|h| *h == "time_s")
        .ok_or("no time_s column")?;
    // (column, name, scale to the plotted unit, is a rate)
    let mut wanted: Vec<(usize, String, f64, bool)> = Vec::new();
    for (i, h) in header.iter().enumerate() {
        if *h == "capacity_bps" || (h.starts_with("estimate") && h.ends_with("_bps")) {
            wanted.push((i, h.trim_end_matches("_bps").to_owned(), 1e-3, true));
        } else if *h == "queue_delay_ms" {
            wanted.push((i, "queue delay".to_owned(), 1.0, false));
        } else if *h == "rtt_s" {
            wanted.push((i, "round trip".to_owned(), 1e3, false));
        }
    }
    if !wanted.iter().any(|w| w.3) {
        return Err("no capacity_bps or estimate*_bps column".into());
    }
    let mut points: Vec<Vec<(f64, f64)>> = vec![Vec::new(); wanted.len()];
    for (n, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        let number = |i: usize| -> Result<f64, String> {
            let f = fields
                .get(i)
                .ok_or(format!("row {}: too few fields", n + 2))?;
            f.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or(format!("row {}: {f:?} is not a number", n + 2))
        };
        let t = number(time)?;
        for (k, (i, _, scale, _)) in wanted.iter().enumerate() {
            points[k].push((t, number(*i)? * scale));
        }
    }
    let mut rates = Vec::new();
    let mut delays = Vec::new();
    for ((_, name, _, rate), p) in wanted.into_iter().zip(points) {
        if rate {
            rates.push((name, p));
        } else {
            delays.push((name, p));
        }
    }
    Ok((rates, delays))
}

fn plot(args: &Args, rates: &[Series], delays: &[Series]) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("plot: {e}");
    let root = SVGBackend::new(&args.out, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (top, bottom) = root.split_vertically(360);
    let all = rates.iter().chain(delays).flat_map(|(_, p)| p);
    let end = all.map(|(t, _)| *t).fold(1.0, f64::max);
    let colors = [BLACK, BLUE, RED, GREEN, MAGENTA, CYAN];
    for (area, series, label) in [(&top, rates, "kbit/s"), (&bottom, delays, "ms")] {
        if series.is_empty() {
            continue;
        }
        let max = series
            .iter()
            .flat_map(|(_, p)| p)
            .map(|(_, y)| *y)
            .fold(1.0, f64::max)
            * 1.1;
        let caption = args
            .csv
            .file_name()
            .map(|f| f.to_string_lossy().into_owned());
        let mut chart = ChartBuilder::on(area)
            .caption(
                if label == "kbit/s" {
                    caption.unwrap_or_default()
                } else {
                    String::new()
                },
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..end, 0.0..max)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc(label)
            .draw()
            .map_err(|e| err(&e))?;
        for (i, (name, points)) in series.iter().enumerate() {
            let color = colors[i % colors.len()];
            chart
                .draw_series(LineSeries::new(points.iter().copied(), &color))
                .map_err(|e| err(&e))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}
