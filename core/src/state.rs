//! The states of the layers, one enum per W3C state attribute.
//!
//! They are what [`Event`](crate::Event)'s state changes carry, so every
//! layer reports through them: this module imports nothing of the crate, so
//! the layers (ICE, DTLS, SCTP) and the connection above them may all use
//! it without importing each other (ARCHITECTURE.md §2).

/// The aggregate connection state (W3C RTCPeerConnectionState).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerConnectionState {
    /// Nothing has started.
    New,
    /// ICE or DTLS is working on it.
    Connecting,
    /// ICE and DTLS are up.
    Connected,
    /// ICE lost connectivity for now.
    Disconnected,
    /// ICE or DTLS failed.
    Failed,
    /// `close()` was called.
    Closed,
}

/// The signaling state (W3C RTCSignalingState).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalingState {
    /// No offer/answer exchange in progress.
    Stable,
    /// A local offer is applied.
    HaveLocalOffer,
    /// A remote offer is applied.
    HaveRemoteOffer,
    /// A remote offer and a local pranswer are applied.
    HaveLocalPranswer,
    /// A local offer and a remote pranswer are applied.
    HaveRemotePranswer,
    /// The connection is closed.
    Closed,
}

/// W3C RTCIceConnectionState.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceConnectionState {
    /// Nothing checked yet.
    New,
    /// Checks are running; no pair selected yet.
    Checking,
    /// A pair is selected (nominated) and has consent.
    Connected,
    /// Connected, no more checks to do, and both sides finished gathering.
    Completed,
    /// Consent checks on the selected pair go unanswered.
    Disconnected,
    /// Every pair failed, or consent expired. Only an ICE restart leaves it.
    Failed,
    /// The agent was closed.
    Closed,
}

/// W3C RTCIceGatheringState.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceGatheringState {
    /// No candidate yet.
    New,
    /// Candidates are being gathered.
    Gathering,
    /// Every host candidate was given and server-reflexive gathering ended.
    Complete,
}

/// The state of a DTLS transport (W3C RTCDtlsTransportState).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtlsTransportState {
    /// Not started.
    New,
    /// Handshaking.
    Connecting,
    /// Handshake done and the peer's certificate matched its fingerprint.
    Connected,
    /// Closed by either side (close_notify).
    Closed,
    /// Failed: a handshake error or a fingerprint mismatch.
    Failed,
}

/// The SCTP transport's state (W3C RTCSctpTransportState).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SctpTransportState {
    /// The association is being set up.
    Connecting,
    /// The association is up.
    Connected,
    /// The association is gone.
    Closed,
}

/// A channel's state (W3C RTCDataChannelState).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataChannelState {
    /// Waiting for the SCTP association (and DCEP).
    Connecting,
    /// Messages flow.
    Open,
    /// The stream is being reset.
    Closing,
    /// Gone; its id may be reused.
    Closed,
}
