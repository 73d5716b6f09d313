//! echo-server's signaling under slow, greedy and unusual HTTP peers, and
//! echo-client against a server that answers in chunks.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::Server;

fn echo_client(url: &str, messages: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_echo-client"))
        .args(["--url", url, "--messages", messages, "--timeout", "60"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start echo-client")
}

fn expect_ok(client: std::process::Child) {
    let out = client.wait_with_output().expect("echo-client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "echo-client failed: {stdout}");
    assert!(stdout.starts_with("echo-client: OK "), "{stdout}");
}

/// Slowloris: 100 connections that send a request's head one byte at a
/// time hold no slot another client needs, and each is cut off once its
/// head is late; meanwhile 10 real offers are answered and echo.
#[test]
#[allow(clippy::disallowed_methods)] // wall-clock deadlines against a real server
fn slow_clients_do_not_starve_offers() {
    let server = Server::start_with(&["--header-timeout", "3"]);
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut slow: Vec<TcpStream> = (0..100)
        .map(|_| {
            let s = TcpStream::connect(&addr).expect("connect");
            s.set_nonblocking(true).expect("nonblocking");
            s
        })
        .collect();
    let head = b"POST /offer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    let started = Instant::now();
    let clients: Vec<_> = (0..10)
        .map(|_| echo_client(&server.url("/offer"), "20"))
        .collect();
    // Drip one byte a connection every 200 ms while the offers go on, and
    // see the server close each slow connection.
    let mut closed = vec![false; slow.len()];
    let mut sent = 0;
    while started.elapsed() < Duration::from_secs(8) && closed.iter().any(|c| !c) {
        for (stream, closed) in slow.iter_mut().zip(closed.iter_mut()) {
            if *closed {
                continue;
            }
            let mut buf = [0u8; 512];
            match stream.read(&mut buf) {
                Ok(0) => *closed = true,
                // hyper answers a late head with 408 and closes.
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if let Some(byte) = head.get(sent % head.len()) {
                        if stream.write_all(&[*byte]).is_err() {
                            *closed = true;
                        }
                    }
                }
                Err(_) => *closed = true,
            }
        }
        sent += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    for client in clients {
        expect_ok(client);
    }
    let cut = closed.iter().filter(|c| **c).count();
    assert_eq!(cut, slow.len(), "slow connections still open after 8 s");
    assert!(
        started.elapsed() >= Duration::from_secs(3) - Duration::from_millis(500),
        "cut off before the header deadline"
    );
}

/// Over the per-IP cap, a request gets a 503 the client reads.
#[test]
fn over_the_cap_is_a_503_the_client_reads() {
    let server = Server::start_with(&["--max-per-ip", "2"]);
    let addr = server.base.trim_start_matches("http://").to_owned();
    let held: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    // Let the server accept both before the third comes.
    std::thread::sleep(Duration::from_millis(300));
    let out = Command::new(env!("CARGO_BIN_EXE_echo-client"))
        .args(["--url", &server.url("/offer"), "--timeout", "10"])
        .output()
        .expect("run echo-client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("status 503") && stdout.contains("busy"),
        "{stdout}"
    );
    drop(held);
}

/// A proxy in front of echo-server that answers with
/// `Transfer-Encoding: chunked` in 100-byte chunks and keeps the
/// connection alive.
fn chunking_proxy(upstream: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().expect("length");
                }
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).expect("body");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut reply = agent
            .post(&upstream)
            .header("content-type", "application/json")
            .send(&body[..])
            .expect("upstream");
        let answer = reply.body_mut().read_to_vec().expect("upstream body");
        let mut out = stream;
        let mut response =
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n".to_vec();
        for chunk in answer.chunks(100) {
            response.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            response.extend_from_slice(chunk);
            response.extend_from_slice(b"\r\n");
        }
        response.extend_from_slice(b"0\r\n\r\n");
        out.write_all(&response).expect("write");
        // Keep-alive: hold the connection until the client closes it.
        let mut rest = Vec::new();
        let _ = out.set_read_timeout(Some(Duration::from_secs(30)));
        let _ = out.read_to_end(&mut rest);
    });
    format!("http://{addr}/offer")
}

#[test]
fn echo_client_reads_a_chunked_answer() {
    let server = Server::start();
    let proxy = chunking_proxy(server.url("/offer"));
    expect_ok(echo_client(&proxy, "10"));
}

/// Every example binary answers `--help` with its usage.
#[test]
fn every_binary_answers_help() {
    let binaries = [
        env!("CARGO_BIN_EXE_echo-server"),
        env!("CARGO_BIN_EXE_echo-client"),
        env!("CARGO_BIN_EXE_sim-demo"),
        env!("CARGO_BIN_EXE_file-send"),
        env!("CARGO_BIN_EXE_file-receive"),
        env!("CARGO_BIN_EXE_game-loop"),
        env!("CARGO_BIN_EXE_sim-lab"),
        env!("CARGO_BIN_EXE_sfu"),
        env!("CARGO_BIN_EXE_media-play"),
        env!("CARGO_BIN_EXE_media-record"),
        env!("CARGO_BIN_EXE_bwe-compare"),
    ];
    for binary in binaries {
        let out = Command::new(binary)
            .arg("--help")
            .output()
            .expect("run --help");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{binary} --help: {stdout}");
        assert!(stdout.contains("Usage:"), "{binary} --help: {stdout}");
    }
}
