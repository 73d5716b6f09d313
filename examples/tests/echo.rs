//! echo-client against echo-server on loopback, and the server's signaling
//! edge cases, with the built binaries.

use std::process::{Command, Stdio};

mod common;
use common::Server;
use std::time::Duration;

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

/// A plain HTTP request; any status is a reply (not an error).
fn request(method: &str, url: &str, body: &[u8]) -> ureq::http::Response<ureq::Body> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .build()
        .into();
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .expect("request");
    agent.run(request).expect("HTTP request")
}

fn header(reply: &ureq::http::Response<ureq::Body>, name: &str) -> String {
    reply
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn text(reply: &mut ureq::http::Response<ureq::Body>) -> String {
    reply.body_mut().read_to_string().expect("body")
}

#[test]
fn bad_signaling_gets_400_with_a_reason() {
    let server = Server::start();
    let offer = server.url("/offer");
    let mut reply = request("POST", &offer, b"{not json");
    assert_eq!(reply.status(), 400);
    assert_eq!(header(&reply, "access-control-allow-origin"), "*");
    assert!(text(&mut reply).contains("JSON"));

    // Valid JSON, but an answer where an offer belongs.
    let mut reply = request("POST", &offer, br#"{"type":"answer","sdp":"v=0\r\n"}"#);
    assert_eq!(reply.status(), 400);
    assert!(!text(&mut reply).is_empty());

    // An offer whose SDP is garbage.
    let mut reply = request("POST", &offer, br#"{"type":"offer","sdp":"hello"}"#);
    assert_eq!(reply.status(), 400);
    assert!(!text(&mut reply).is_empty());

    // A body over the limit.
    let big = vec![b' '; 100 * 1024];
    assert_eq!(request("POST", &offer, &big).status(), 413);
}

#[test]
fn preflight_and_page_carry_cors_headers() {
    let server = Server::start();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let preflight = ureq::http::Request::builder()
        .method("OPTIONS")
        .uri(server.url("/offer"))
        .header("origin", "http://example.invalid")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .body(())
        .expect("request");
    let reply = agent.run(preflight).expect("OPTIONS");
    assert!(matches!(reply.status().as_u16(), 200 | 204), "{reply:?}");
    assert_eq!(header(&reply, "access-control-allow-origin"), "*");
    let methods = header(&reply, "access-control-allow-methods");
    assert!(methods.contains("POST"), "{methods}");
    let headers = header(&reply, "access-control-allow-headers");
    assert!(
        headers.to_ascii_lowercase().contains("content-type"),
        "{headers}"
    );

    let mut page = request("GET", &server.url("/"), b"");
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "access-control-allow-origin"), "*");
    let html = text(&mut page);
    assert!(html.contains("RTCPeerConnection") && html.contains("/signaling.js"));
    let mut script = request("GET", &server.url("/signaling.js"), b"");
    assert_eq!(script.status(), 200);
    assert!(text(&mut script).contains("fetch('/offer'"));

    assert_eq!(request("GET", &server.url("/nope"), b"").status(), 404);
}
