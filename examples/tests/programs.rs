//! game-loop against echo-server, and sim-lab's plot.

use std::process::Command;

mod common;
use common::Server;

#[test]
fn game_loop_ticks_and_gets_every_event_back() {
    let server = Server::start();
    let out = Command::new(env!("CARGO_BIN_EXE_game-loop"))
        .args([
            "--url",
            &server.url("/offer"),
            "--seconds",
            "2",
            "--hz",
            "60",
        ])
        .output()
        .expect("run game-loop");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "game-loop failed: {stdout}");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("game-loop: OK "), "{stdout}");
    // Two seconds at 60 Hz; an event every 30 ticks, all back in order.
    let ticks: u64 = last
        .trim_start_matches("game-loop: OK ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!((60..=130).contains(&ticks), "{last}");
    let events = ticks / 30;
    assert!(
        last.contains(&format!("events back {events}/{events}")),
        "{last}"
    );
    assert!(stdout.contains("budget 16.67 ms"), "{stdout}");
}

fn sim_lab(out: &std::path::Path, extra: &[&str]) -> String {
    let run = Command::new(env!("CARGO_BIN_EXE_sim-lab"))
        .args(["--seconds", "5", "--seed", "3", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("run sim-lab");
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "sim-lab failed: {stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}

/// Parses `= N kbit/s` from sim-lab's summary.
fn kbps(summary: &str) -> f64 {
    summary
        .split(" = ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no throughput in {summary}"))
}

#[test]
fn sim_lab_plots_the_same_run_for_the_same_seed() {
    let dir = std::env::temp_dir();
    let (one, two) = (
        dir.join(format!("eddy-lab-1-{}.svg", std::process::id())),
        dir.join(format!("eddy-lab-2-{}.svg", std::process::id())),
    );
    let summary = sim_lab(&one, &["--bandwidth-kbps", "2000", "--loss", "0.01"]);
    sim_lab(&two, &["--bandwidth-kbps", "2000", "--loss", "0.01"]);
    let (a, b) = (
        std::fs::read_to_string(&one).expect("plot"),
        std::fs::read_to_string(&two).expect("plot"),
    );
    let _ = (std::fs::remove_file(&one), std::fs::remove_file(&two));
    assert!(
        a.starts_with("<svg") && a.contains("<polyline"),
        "not a plot"
    );
    assert!(a.contains("throughput (kbit/s)") && a.contains("round trip (ms)"));
    assert!(a == b, "same seed, different plots");
    // The link's 2000 kbit/s bounds what gets through.
    let rate = kbps(&summary);
    assert!(rate > 100.0 && rate <= 2000.0, "{summary}");
}

#[test]
fn sim_lab_shows_what_bandwidth_does() {
    let out = std::env::temp_dir().join(format!("eddy-lab-3-{}.svg", std::process::id()));
    let slow = kbps(&sim_lab(&out, &["--bandwidth-kbps", "500"]));
    let fast = kbps(&sim_lab(&out, &["--bandwidth-kbps", "5000"]));
    let _ = std::fs::remove_file(&out);
    assert!(slow <= 500.0, "{slow}");
    assert!(
        fast > 2.0 * slow,
        "5000 kbit/s gave {fast}, 500 gave {slow}"
    );
}

#[test]
fn bwe_plot_draws_a_scenario_csv_and_refuses_a_broken_one() {
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let (csv, svg) = (
        dir.join(format!("eddy-bwe-{pid}.csv")),
        dir.join(format!("eddy-bwe-{pid}.svg")),
    );
    // The simulator scenarios' columns (core/src/bwe/tests.rs).
    let mut rows = String::from(
        "time_s,capacity_bps,estimate0_bps,estimate1_bps,queue_delay_ms,threshold_ms,trend\n",
    );
    for i in 0..50 {
        let t = f64::from(i) * 0.1;
        rows.push_str(&format!(
            "{t:.1},1000000,{},{},{}.0,12.5,0.0\n",
            300_000 + i * 10_000,
            250_000 + i * 9_000,
            i % 7
        ));
    }
    std::fs::write(&csv, rows).expect("write the CSV");
    let run = |path: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_bwe-plot"))
            .arg(path)
            .arg("--out")
            .arg(&svg)
            .output()
            .expect("run bwe-plot")
    };
    let out = run(&csv);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("4 series, 50 points each"), "{stdout}");
    let plot = std::fs::read_to_string(&svg).expect("plot");
    assert!(
        plot.starts_with("<svg") && plot.matches("<polyline").count() >= 4,
        "not a plot"
    );
    assert!(plot.contains("estimate0") && plot.contains("queue delay"));
    // A row that is not numbers: an error, not a panic.
    std::fs::write(&csv, "time_s,capacity_bps\n0.0,lots\n").expect("write the CSV");
    let out = run(&csv);
    let _ = (std::fs::remove_file(&csv), std::fs::remove_file(&svg));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a number"));
}
