//! The certificate fingerprint: what `a=fingerprint` signals (SDP) and what
//! the DTLS handshake checks the peer's certificate against. Apart from both
//! so DTLS needs nothing of SDP.

/// `a=fingerprint:<hash-func> <XX:XX:...>` (RFC 8122 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// The hash function, lowercased (`sha-256`, `sha-384`, `sha-512`, ...).
    pub hash: String,
    /// The digest bytes.
    pub bytes: Vec<u8>,
}
