//! DTLS (RFC 6347, RFC 9147) for WebRTC (RFC 8827, RFC 5764): dimpl with
//! eddy's OpenSSL crypto provider, the `Certificate`, and the transport
//! that checks the peer's certificate against the remote `a=fingerprint`.

pub(crate) mod certificate;
pub(crate) mod provider;
mod transport;

#[cfg(test)]
mod interop_tests;
#[cfg(test)]
mod tests;

pub use crate::state::DtlsTransportState;
pub use certificate::{Certificate, CertificateError, KeyAlgorithm, DEFAULT_CERTIFICATE_LIFETIME};
pub(crate) use transport::{dtls_config, DtlsConfigError, DtlsEvent, DtlsTransport};
pub use transport::{DtlsFailure, DtlsRole, DtlsStats, DtlsVersion};
