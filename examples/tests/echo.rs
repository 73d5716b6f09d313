//! echo-client against echo-server on loopback, and the server's signaling
//! edge cases, with the built binaries.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use eddy_examples::http::{self, Url};

/// The running server, killed (by its PID) when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_echo-server"))
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start echo-server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the first line");
        let base = line
            .trim()
            .strip_prefix("echo-server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .trim_end_matches('/')
            .to_owned();
        Self { child, base }
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("{}{path}", self.base)).expect("url")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn two_channels_of_fifty_messages_echo() {
    let server = Server::start();
    let out = Command::new(env!("CARGO_BIN_EXE_echo-client"))
        .args(["--url", &format!("{}/offer", server.base)])
        .args(["--channels", "2", "--messages", "50", "--size", "1000"])
        .args(["--timeout", "30"])
        .output()
        .expect("run echo-client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "echo-client failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("echo-client: OK 2 channels x 50 messages of 1000 B = 100000 B in "),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}

#[test]
fn three_clients_at_once_share_the_server() {
    let server = Server::start();
    let clients: Vec<_> = (0..3)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_echo-client"))
                .args(["--url", &format!("{}/offer", server.base)])
                .args(["--channels", "2", "--messages", "30", "--timeout", "30"])
                .stdout(Stdio::piped())
                .spawn()
                .expect("start echo-client")
        })
        .collect();
    for client in clients {
        let out = client.wait_with_output().expect("echo-client");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "echo-client failed: {stdout}");
        assert!(
            stdout.starts_with("echo-client: OK 2 channels x 30"),
            "{stdout}"
        );
    }
}

#[test]
fn text_comes_back_as_text() {
    let server = Server::start();
    let out = Command::new(env!("CARGO_BIN_EXE_echo-client"))
        .args(["--url", &format!("{}/offer", server.base)])
        .args([
            "--messages",
            "20",
            "--size",
            "100",
            "--text",
            "--timeout",
            "30",
        ])
        .output()
        .expect("run echo-client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "echo-client failed: {stdout}");
    assert!(
        stdout.starts_with("echo-client: OK 1 channels x 20 messages of 100 B"),
        "{stdout}"
    );
}

#[test]
fn a_client_without_a_server_fails_within_its_timeout() {
    // A port nobody listens on: signaling fails, the client says why.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let out = Command::new(env!("CARGO_BIN_EXE_echo-client"))
        .args([
            "--url",
            &format!("http://127.0.0.1:{port}/offer"),
            "--timeout",
            "5",
        ])
        .output()
        .expect("run echo-client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("echo-client: FAIL "), "{stdout}");
}

#[test]
fn bad_signaling_gets_400_with_a_reason() {
    let server = Server::start();
    let offer = server.url("/offer");
    let reply = http::request(
        &offer,
        "POST",
        Some("application/json"),
        b"{not json",
        TIMEOUT,
    )
    .expect("POST");
    assert_eq!(reply.status(), Some(400));
    assert!(String::from_utf8_lossy(&reply.body).contains("JSON"));
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));

    // Valid JSON, but an answer where an offer belongs.
    let answer = br#"{"type":"answer","sdp":"v=0\r\n"}"#;
    let reply =
        http::request(&offer, "POST", Some("application/json"), answer, TIMEOUT).expect("POST");
    assert_eq!(reply.status(), Some(400));
    assert!(!reply.body.is_empty());

    // An offer whose SDP is garbage.
    let garbage = br#"{"type":"offer","sdp":"hello"}"#;
    let reply =
        http::request(&offer, "POST", Some("application/json"), garbage, TIMEOUT).expect("POST");
    assert_eq!(reply.status(), Some(400));
    assert!(!reply.body.is_empty());
}

#[test]
fn preflight_and_page_carry_cors_headers() {
    let server = Server::start();
    let reply =
        http::request(&server.url("/offer"), "OPTIONS", None, b"", TIMEOUT).expect("OPTIONS");
    assert!(matches!(reply.status(), Some(200 | 204)), "{reply:?}");
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let methods = reply.header("access-control-allow-methods").unwrap_or("");
    assert!(methods.contains("POST"), "{methods}");
    let headers = reply.header("access-control-allow-headers").unwrap_or("");
    assert!(
        headers.to_ascii_lowercase().contains("content-type"),
        "{headers}"
    );

    let page = http::request(&server.url("/"), "GET", None, b"", TIMEOUT).expect("GET /");
    assert_eq!(page.status(), Some(200));
    assert_eq!(page.header("access-control-allow-origin"), Some("*"));
    let html = String::from_utf8_lossy(&page.body);
    assert!(html.contains("RTCPeerConnection") && html.contains("/offer"));

    let missing = http::request(&server.url("/nope"), "GET", None, b"", TIMEOUT).expect("GET");
    assert_eq!(missing.status(), Some(404));
}
