//! TLS to a TURN server (`turns:`, RFC 8656 §3.1: "TLS-over-TCP"), as a
//! sans-IO engine: OpenSSL runs over two in-memory buffers, the TURN
//! client puts its messages in and takes TLS records out, and the bytes
//! the server sends go in the other way. The server's certificate is
//! checked against the system's roots and any the configuration adds, and
//! against the server's IP address (`turns:` URLs reach the core as IP
//! literals).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::IpAddr;

use openssl::ssl::{ErrorCode, Ssl, SslConnector, SslMethod, SslStream, SslVersion};
use openssl::x509::X509;

/// The memory the TLS engine reads from and writes to.
#[derive(Debug, Default)]
struct Pipe {
    /// From the server, not yet read by OpenSSL.
    input: VecDeque<u8>,
    /// TLS records to send.
    output: Vec<u8>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.input.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.input.len());
        for (b, x) in buf.iter_mut().zip(self.input.drain(..n)) {
            *b = x;
        }
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Why TLS to the server failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsError(pub(crate) String);

/// A TLS client session to one TURN server.
pub(crate) struct TlsClient {
    stream: SslStream<Pipe>,
    handshaking: bool,
    /// What the TURN client wrote before the handshake finished (bounded
    /// by the client's own transmit bound).
    pending: Vec<u8>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient")
            .field("handshaking", &self.handshaking)
            .finish_non_exhaustive()
    }
}

fn error(context: &str, e: impl std::fmt::Display) -> TlsError {
    TlsError(format!("{context}: {e}"))
}

impl TlsClient {
    /// A session to the server at `ip` (its certificate must name it),
    /// trusting the system's roots and `roots` (PEM certificates); the
    /// ClientHello is ready in [`take_output`](Self::take_output).
    pub(crate) fn new(ip: IpAddr, roots: &[Vec<u8>]) -> Result<Self, TlsError> {
        let mut builder =
            SslConnector::builder(SslMethod::tls_client()).map_err(|e| error("TLS setup", e))?;
        // RFC 8656 §3.1: TLS 1.2 at least (RFC 7525 recommends it).
        builder
            .set_min_proto_version(Some(SslVersion::TLS1_2))
            .map_err(|e| error("TLS setup", e))?;
        for pem in roots {
            let certs = X509::stack_from_pem(pem).map_err(|e| error("a trusted certificate", e))?;
            for c in certs {
                builder
                    .cert_store_mut()
                    .add_cert(c)
                    .map_err(|e| error("a trusted certificate", e))?;
            }
        }
        let connector = builder.build();
        let mut config = connector.configure().map_err(|e| error("TLS setup", e))?;
        // The name to check is the IP address (no SNI for an IP literal,
        // RFC 6066 §3).
        config.set_verify_hostname(false);
        config.set_use_server_name_indication(false);
        let mut ssl: Ssl = config
            .into_ssl("turn.invalid")
            .map_err(|e| error("TLS setup", e))?;
        ssl.param_mut()
            .set_ip(ip)
            .map_err(|e| error("TLS setup", e))?;
        ssl.set_connect_state();
        let stream = SslStream::new(ssl, Pipe::default()).map_err(|e| error("TLS setup", e))?;
        let mut c = Self {
            stream,
            handshaking: true,
            pending: Vec::new(),
        };
        c.handshake()?;
        Ok(c)
    }

    fn handshake(&mut self) -> Result<(), TlsError> {
        match self.stream.do_handshake() {
            Ok(()) => {
                self.handshaking = false;
                let pending = std::mem::take(&mut self.pending);
                self.write(&pending)
            }
            Err(e) if e.code() == ErrorCode::WANT_READ || e.code() == ErrorCode::WANT_WRITE => {
                Ok(())
            }
            Err(e) => {
                let verify = self.stream.ssl().verify_result();
                Err(error(
                    "TLS handshake with the TURN server",
                    format!("{e} ({verify})"),
                ))
            }
        }
    }

    /// Encrypts `data` (held until the handshake is done).
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<(), TlsError> {
        if self.handshaking {
            self.pending.extend_from_slice(data);
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        self.stream
            .ssl_write(data)
            .map(|_| ())
            .map_err(|e| error("TLS write", e))
    }

    /// TLS records to send to the server.
    pub(crate) fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.stream.get_mut().output)
    }

    /// Bytes from the server: the plaintext they complete is appended to
    /// `plain`.
    pub(crate) fn feed(&mut self, bytes: &[u8], plain: &mut Vec<u8>) -> Result<(), TlsError> {
        self.stream.get_mut().input.extend(bytes);
        if self.handshaking {
            self.handshake()?;
            if self.handshaking {
                return Ok(());
            }
        }
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.ssl_read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => plain.extend_from_slice(&buf[..n]),
                Err(e) if e.code() == ErrorCode::WANT_READ => return Ok(()),
                Err(e) if e.code() == ErrorCode::ZERO_RETURN => {
                    return Err(TlsError("the TURN server closed TLS".into()))
                }
                Err(e) => return Err(error("TLS read", e)),
            }
        }
    }
}
