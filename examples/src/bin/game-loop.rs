//! A game client's fixed-timestep loop (60 Hz by default) that drives one
//! `PeerConnection` itself, once per tick, on a plain non-blocking UDP
//! socket: no runtime, no thread of eddy's.
//!
//! `cargo run --release -p eddy-examples --bin game-loop -- --url
//! http://127.0.0.1:8080/offer [--seconds 10] [--hz 60]` (against
//! `echo-server`; `--help` for all)
//!
//! Every tick it reads what arrived, lets the core handle its timers, runs
//! the "game" (a state update on an unreliable unordered channel each tick,
//! a reliable event every half second), sends what the core has to send,
//! and sleeps to the next tick. The server echoes both channels: the loop
//! counts state updates back (some may be lost, by design) and checks that
//! every event came back, in order. Each second it prints how much of the
//! tick's time budget the network work used.

use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use eddy::{
    ChannelId, Configuration, DataChannelInit, Event, Input, Output, PeerConnection,
    PeerConnectionState, Protocol, Receive,
};
use eddy_examples::client;

/// A 60 Hz game loop that drives a WebRTC peer connection once per tick.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The echo server's offer URL, e.g. http://127.0.0.1:8080/offer.
    #[arg(long)]
    url: String,
    /// Seconds to play once connected.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Ticks per second.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=1000))]
    hz: u32,
    /// Seconds to wait for the connection.
    #[arg(long, default_value_t = 20)]
    connect_timeout: u64,
}

fn main() -> ExitCode {
    eddy_examples::logging::init();
    let args = Args::parse();
    match run(&args) {
        Ok(summary) => {
            println!("game-loop: OK {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("game-loop: FAIL {e}");
            ExitCode::FAILURE
        }
    }
}

/// The game's side of the connection.
struct Game {
    pc: PeerConnection,
    socket: UdpSocket,
    local: SocketAddr,
    deadline: Option<Instant>,
    state: ChannelId,
    events: ChannelId,
    open: usize,
    tick: u64,
    states_sent: u64,
    states_back: u64,
    events_sent: u64,
    events_back: u64,
}

/// Reads the clock: the loop's own, the core only sees its readings.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

fn run(args: &Args) -> Result<String, String> {
    let server = client::server_ip(&args.url)?;
    let bind_ip = if server.is_loopback() {
        server
    } else {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    };
    let socket = UdpSocket::bind((bind_ip, 0)).map_err(|e| format!("bind: {e}"))?;
    socket
        .set_nonblocking(true)
        .map_err(|e| format!("non-blocking: {e}"))?;
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let mut pc = PeerConnection::new(Configuration::default(), now()).map_err(|e| e.to_string())?;
    let unreliable = DataChannelInit {
        ordered: false,
        max_retransmits: Some(0),
        ..DataChannelInit::default()
    };
    let state = pc
        .create_data_channel("state", &unreliable)
        .map_err(|e| e.to_string())?;
    let events = pc
        .create_data_channel("events", &DataChannelInit::default())
        .map_err(|e| e.to_string())?;
    pc.add_local_candidate(local, Protocol::Udp)
        .map_err(|e| e.to_string())?;
    pc.end_of_local_candidates();
    let offer = pc.create_offer().map_err(|e| e.to_string())?;
    pc.set_local_description(offer).map_err(|e| e.to_string())?;
    let offer = pc.local_description().cloned().ok_or("no offer")?;
    let answer = client::post_offer(&args.url, &offer, Duration::from_secs(args.connect_timeout))?;
    pc.set_remote_description(answer)
        .map_err(|e| format!("bad answer: {e}"))?;

    let mut game = Game {
        pc,
        socket,
        local,
        deadline: None,
        state,
        events,
        open: 0,
        tick: 0,
        states_sent: 0,
        states_back: 0,
        events_sent: 0,
        events_back: 0,
    };
    game.play(args)
}

impl Game {
    fn play(&mut self, args: &Args) -> Result<String, String> {
        let period = Duration::from_secs(1) / args.hz;
        let give_up = now() + Duration::from_secs(args.connect_timeout);
        let mut playing_until: Option<Instant> = None;
        let mut next = now();
        let (mut busy, mut worst, mut ticks) = (Duration::ZERO, Duration::ZERO, 0u32);
        loop {
            let started = now();
            self.network(started)?;
            if self.open == 2 {
                let end = *playing_until
                    .get_or_insert_with(|| started + Duration::from_secs(args.seconds));
                if started >= end {
                    break;
                }
                self.game_tick(args.hz)?;
            } else if started > give_up {
                return Err("not connected in time".into());
            }
            self.flush()?;
            let used = now().saturating_duration_since(started);
            busy += used;
            worst = worst.max(used);
            ticks += 1;
            if ticks == args.hz {
                println!(
                    "tick {:>6}: budget {:.2} ms, network used {:.3} ms/tick on average \
                     ({:.1}%), worst {:.3} ms; states back {}/{}, events back {}/{}",
                    self.tick,
                    period.as_secs_f64() * 1e3,
                    busy.as_secs_f64() * 1e3 / f64::from(ticks),
                    busy.as_secs_f64() / (period.as_secs_f64() * f64::from(ticks)) * 100.0,
                    worst.as_secs_f64() * 1e3,
                    self.states_back,
                    self.states_sent,
                    self.events_back,
                    self.events_sent,
                );
                (busy, worst, ticks) = (Duration::ZERO, Duration::ZERO, 0);
            }
            // Fixed timestep: the next tick is one period after the last,
            // not after this one's work (no drift); a late tick runs at once.
            next += period;
            let wait = next.saturating_duration_since(now());
            if wait.is_zero() {
                next = now();
            } else {
                std::thread::sleep(wait);
            }
        }
        self.finish()
    }

    /// What arrived since the last tick, and the core's timers.
    fn network(&mut self, now: Instant) -> Result<(), String> {
        let mut buf = [0u8; 2048];
        loop {
            match self.socket.recv_from(&mut buf) {
                Ok((n, source)) => {
                    let contents = buf.get(..n).unwrap_or_default();
                    let receive = Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: self.local,
                        contents,
                    };
                    self.pc
                        .handle_input(Input::Receive(now, receive))
                        .map_err(|e| e.to_string())?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                // ICMP errors for earlier sends: ICE notices the silence.
                Err(_) => {}
            }
        }
        if self.deadline.is_some_and(|at| at <= now) {
            self.deadline = None;
            self.pc
                .handle_input(Input::Timeout(now))
                .map_err(|e| e.to_string())?;
        }
        self.flush()
    }

    /// The game: a position every tick (unreliable), an event every half
    /// second (reliable).
    fn game_tick(&mut self, hz: u32) -> Result<(), String> {
        self.tick += 1;
        let mut update = [0u8; 64];
        if let Some(head) = update.get_mut(..8) {
            head.copy_from_slice(&self.tick.to_be_bytes());
        }
        if let Some(mut dc) = self.pc.data_channel(self.state) {
            // Unreliable: a full buffer drops this update; the next replaces it.
            if dc.buffered_amount() < 64 * 1024 && dc.send(&update).is_ok() {
                self.states_sent += 1;
            }
        }
        if self.tick.is_multiple_of(u64::from(hz / 2).max(1)) {
            let event = format!("event {}", self.events_sent);
            let mut dc = self
                .pc
                .data_channel(self.events)
                .ok_or("events channel gone")?;
            dc.send_text(&event).map_err(|e| format!("event: {e}"))?;
            self.events_sent += 1;
        }
        Ok(())
    }

    /// Sends what the core has to send and handles its events.
    fn flush(&mut self) -> Result<(), String> {
        loop {
            match self.pc.poll_output() {
                Output::Transmit(t) => {
                    // A full socket buffer loses the datagram, as the network may.
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Output::Event(event) => self.on_event(event)?,
                Output::Timeout(at) => {
                    self.deadline = at;
                    return Ok(());
                }
            }
        }
    }

    fn on_event(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::ChannelOpen(_) => self.open += 1,
            Event::ConnectionStateChange(
                state @ (PeerConnectionState::Failed | PeerConnectionState::Closed),
            ) => return Err(format!("connection {state:?}")),
            Event::ChannelMessage(id, _) if id == self.state => self.states_back += 1,
            Event::ChannelMessage(id, message) if id == self.events => {
                let expected = format!("event {}", self.events_back);
                if message.data != expected.as_bytes() {
                    return Err(format!(
                        "event {} came back as {:?}",
                        self.events_back,
                        String::from_utf8_lossy(&message.data)
                    ));
                }
                self.events_back += 1;
            }
            _ => {}
        }
        Ok(())
    }

    /// Waits (still ticking the network) for the last events, then closes.
    fn finish(&mut self) -> Result<String, String> {
        let wait_until = now() + Duration::from_secs(5);
        while self.events_back < self.events_sent && now() < wait_until {
            self.network(now())?;
            std::thread::sleep(Duration::from_millis(2));
        }
        if self.events_back != self.events_sent {
            return Err(format!(
                "{} of {} reliable events came back",
                self.events_back, self.events_sent
            ));
        }
        let summary = format!(
            "{} ticks; state updates back {}/{} (unreliable); events back {}/{} (reliable, in order)",
            self.tick, self.states_back, self.states_sent, self.events_back, self.events_sent
        );
        self.pc.close();
        self.flush()?;
        Ok(summary)
    }
}
