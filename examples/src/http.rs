//! Just enough HTTP/1.1 for non-trickle signaling: one request per
//! connection, `Content-Length` bodies, `Connection: close`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Largest request or response head (request line and headers).
pub const MAX_HEAD: usize = 16 * 1024;
/// Largest body accepted.
pub const MAX_BODY: usize = 1024 * 1024;

/// A parsed HTTP message: a request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The first line split at spaces: method, target, version for a
    /// request; version, status, reason for a response.
    pub start: Vec<String>,
    /// Header names (lower-cased) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Message {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The request method (or the response's HTTP version).
    pub fn method(&self) -> &str {
        self.start.first().map_or("", String::as_str)
    }

    /// The request target, without the query (or the response's status).
    pub fn path(&self) -> &str {
        let target = self.start.get(1).map_or("", String::as_str);
        target.split('?').next().unwrap_or("")
    }

    /// The response status code, if this is a response.
    pub fn status(&self) -> Option<u16> {
        self.start.get(1).and_then(|s| s.parse().ok())
    }
}

/// Why a message could not be read: the HTTP status to answer with and a
/// reason.
#[derive(Debug)]
pub struct ReadError {
    /// 400, 413 or 431.
    pub status: u16,
    /// What was wrong.
    pub reason: String,
}

impl ReadError {
    fn new(status: u16, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        Self::new(400, format!("read failed: {e}"))
    }
}

/// Reads one message: the head, then a `Content-Length` body, or (when
/// `to_eof` and there is no length, as for a `Connection: close` response)
/// everything until the peer closes.
pub fn read_message(stream: &mut impl Read, to_eof: bool) -> Result<Message, ReadError> {
    let mut data = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find(&data, b"\r\n\r\n") {
            break i;
        }
        if data.len() > MAX_HEAD {
            return Err(ReadError::new(431, "head too large"));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(ReadError::new(400, "connection closed in the head"));
        }
        data.extend_from_slice(chunk.get(..n).unwrap_or_default());
    };
    let head = std::str::from_utf8(data.get(..head_end).unwrap_or_default())
        .map_err(|_| ReadError::new(400, "head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let start: Vec<String> = lines
        .next()
        .unwrap_or("")
        .splitn(3, ' ')
        .map(str::to_owned)
        .collect();
    if start.len() < 2 {
        return Err(ReadError::new(400, "bad start line"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| ReadError::new(400, format!("bad header line {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut message = Message {
        start,
        headers,
        body: data.get(head_end + 4..).unwrap_or_default().to_vec(),
    };
    if message.header("transfer-encoding").is_some() {
        return Err(ReadError::new(400, "chunked bodies are not supported"));
    }
    match message.header("content-length") {
        Some(len) => {
            let len: usize = len
                .parse()
                .map_err(|_| ReadError::new(400, "bad Content-Length"))?;
            if len > MAX_BODY {
                return Err(ReadError::new(413, format!("body over {MAX_BODY} bytes")));
            }
            while message.body.len() < len {
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    return Err(ReadError::new(400, "connection closed in the body"));
                }
                message
                    .body
                    .extend_from_slice(chunk.get(..n).unwrap_or_default());
            }
            message.body.truncate(len);
        }
        None if to_eof => loop {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            message
                .body
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
            if message.body.len() > MAX_BODY {
                return Err(ReadError::new(413, format!("body over {MAX_BODY} bytes")));
            }
        },
        None => message.body.clear(),
    }
    Ok(message)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The reason phrase of the statuses used here.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Writes a response with CORS headers (`*`, POST, Content-Type) and
/// `Connection: close`.
pub fn write_response(
    stream: &mut impl Write,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\n\
         Access-Control-Allow-Origin: *\r\n\
         Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n\
         Access-Control-Allow-Headers: Content-Type\r\n\
         Access-Control-Max-Age: 86400\r\n\
         Content-Type: {content_type}\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

/// An `http://host[:port]/path` URL, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `host:port` as written (the port defaults to 80), for `Host:`.
    pub authority: String,
    /// The host, without brackets.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The path and query, at least `/`.
    pub path: String,
}

impl Url {
    /// Parses an `http://` URL.
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url:?} is not an http:// URL"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("bad host in {url:?}"))?;
            match after.strip_prefix(':') {
                Some(p) => (host, p.parse().map_err(|_| format!("bad port in {url:?}"))?),
                None => (host, 80),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, p.parse().map_err(|_| format!("bad port in {url:?}"))?),
                None => (authority, 80),
            }
        };
        if host.is_empty() {
            return Err(format!("no host in {url:?}"));
        }
        Ok(Self {
            authority: authority.to_owned(),
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }

    /// The first address the host resolves to.
    pub fn socket_addr(&self) -> io::Result<SocketAddr> {
        (self.host.as_str(), self.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host has no address"))
    }
}

/// Sends one request and reads the response (blocking, `timeout` per read
/// and write).
pub fn request(
    url: &Url,
    method: &str,
    content_type: Option<&str>,
    body: &[u8],
    timeout: Duration,
) -> io::Result<Message> {
    let mut stream = TcpStream::connect_timeout(&url.socket_addr()?, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut head = format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        url.path,
        url.authority,
        body.len()
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    read_message(&mut stream, true)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_with_a_body_is_read_whole() {
        let raw = b"POST /offer?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
        let m = read_message(&mut &raw[..], false).expect("parse");
        assert_eq!(m.method(), "POST");
        assert_eq!(m.path(), "/offer");
        assert_eq!(m.header("Content-Length"), Some("5"));
        assert_eq!(m.body, b"hello");
    }

    #[test]
    fn bad_and_oversized_requests_are_refused() {
        let big = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        let e = read_message(&mut big.as_bytes(), false).expect_err("too big");
        assert_eq!(e.status, 413);
        let e = read_message(&mut &b"GET\r\n\r\n"[..], false).expect_err("bad line");
        assert_eq!(e.status, 400);
        let e = read_message(
            &mut &b"GET / HTTP/1.1\r\nContent-Length: 9\r\n\r\nab"[..],
            false,
        )
        .expect_err("short body");
        assert_eq!(e.status, 400);
    }

    #[test]
    fn a_response_without_length_runs_to_eof() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it";
        let m = read_message(&mut &raw[..], true).expect("parse");
        assert_eq!(m.status(), Some(200));
        assert_eq!(m.body, b"all of it");
    }

    #[test]
    fn urls_are_split() {
        let u = Url::parse("http://127.0.0.1:8080/offer").expect("url");
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8080, "/offer")
        );
        let u = Url::parse("http://[::1]/").expect("url");
        assert_eq!((u.host.as_str(), u.port), ("::1", 80));
        assert!(Url::parse("https://x/").is_err());
        assert!(Url::parse("http://x:y/").is_err());
    }
}
