//! The DTLS transport (W3C RTCDtlsTransport) around dimpl.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use dimpl::{Config, Dtls, DtlsCertificate, Output as DtlsOutput};
use thiserror::Error;

use super::certificate::{fingerprint_digest_to, Certificate};
use super::provider::{ecdsa, provider, scope};
use crate::fingerprint::Fingerprint;
use crate::hmac::MAX_DIGEST;
use crate::rng::Rng;
use crate::room::FreeIfEmpty;
use crate::srtp::SrtpProfile;
use crate::state::DtlsTransportState;

/// Why a DTLS transport failed, from
/// [`PeerConnection::dtls_failure`](crate::PeerConnection::dtls_failure).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DtlsFailure {
    /// The handshake or a record failed (dimpl's error, as text: dimpl's
    /// error type is not `Clone`).
    #[error("DTLS error: {0}")]
    Protocol(String),
    /// RFC 8842 §5: the peer's certificate matches none of the remote
    /// description's `a=fingerprint` lines.
    #[error("the peer's certificate does not match the remote a=fingerprint")]
    FingerprintMismatch,
}

/// Why [`DtlsTransport::send`] refused application data.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum DtlsSendError {
    /// The handshake has not finished (or the transport closed or failed).
    #[error("DTLS transport is not connected")]
    NotConnected,
    /// dimpl refused the record.
    #[error("{0}")]
    Protocol(String),
}

/// Building a dimpl configuration failed: the crypto provider's self-test
/// or a bad setting (dimpl's error, as text, so it can be shared).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub(crate) struct DtlsConfigError(String);

/// What a DTLS transport did, for stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DtlsStats {
    /// Datagrams sent because a handshake retransmission timer fired.
    pub retransmissions: u64,
    /// Datagrams, events or early application records dropped because
    /// their queue was full.
    pub dropped: u64,
}

/// Which side of the handshake eddy plays, from `a=setup` (RFC 8842 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtlsRole {
    /// Sends the ClientHello (`a=setup:active`).
    Client,
    /// Waits for it (`a=setup:passive`).
    Server,
}

/// Which DTLS versions to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DtlsVersion {
    /// DTLS 1.2 only (RFC 6347). What browsers negotiate today, so the
    /// default for the client role.
    #[default]
    Dtls12,
    /// DTLS 1.3 only (RFC 9147).
    Dtls13,
    /// As server: take whichever version the ClientHello offers (the
    /// server default). As client: a hybrid ClientHello that either kind of
    /// server accepts.
    Auto,
}

/// Something the transport reports to the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DtlsEvent {
    /// The state changed.
    State(DtlsTransportState),
    /// DTLS negotiated this SRTP profile and the fingerprint matched: its
    /// keys come from [`DtlsTransport::srtp_keying_material`], derived when
    /// first asked for (a connection without media never derives them).
    SrtpReady(SrtpProfile),
    /// Application data (SCTP packets).
    Data(Vec<u8>),
    /// The client sent its Finished and may send application data before
    /// the server's arrives (TLS False Start, RFC 7918): the peer's
    /// certificate matched the remote fingerprint. The state is still
    /// `connecting`; [`DtlsTransport::send`] accepts data from now on.
    FalseStart,
}

/// How long without a record before a connection counts as idle and gives
/// back the buffers it keeps for the next records.
const IDLE_AFTER: Duration = Duration::from_secs(1);

/// Bounds on what the transport queues (ARCHITECTURE.md §5.3).
const MAX_QUEUED_DATAGRAMS: usize = 256;
/// Emptied application-data buffers kept for reuse (ARCHITECTURE.md §5.6:
/// a received record's plaintext reuses one, no allocation per datagram).
const SPARE_BUFFERS: usize = 1;
/// The largest spare buffer an idle connection keeps (`trim_buffers`).
const SMALL_SPARE: usize = 128;

/// dimpl's deadline when no timer is armed is ten years away; eddy's DTLS
/// timers (retransmission, handshake timeout) are seconds. Anything a year
/// or more away is taken as that "idle" deadline.
const DIMPL_IDLE: Duration = Duration::from_secs(365 * 24 * 3600);
const MAX_QUEUED_EVENTS: usize = 1024;

/// A dimpl configuration with eddy's provider for `mtu`, and `seed` for
/// dimpl's own randomness (timer jitter) in deterministic mode.
///
/// dimpl validates the crypto provider (a self-test of every key exchange
/// and signature, milliseconds) each time a configuration is built, so the
/// validated configuration of each MTU is built once per process and shared;
/// a seeded one is a copy with the seed (`Config::with_rng_seed`).
pub(crate) fn dtls_config(mtu: usize, seed: Option<u64>) -> Result<Arc<Config>, DtlsConfigError> {
    /// Validated configurations by MTU; a handful at most in practice,
    /// bounded all the same (the oldest goes).
    static BUILT: Mutex<Vec<(usize, Arc<Config>)>> = Mutex::new(Vec::new());
    const MAX_BUILT: usize = 8;
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    let base = match built.iter().find(|(m, _)| *m == mtu) {
        Some((_, config)) => config.clone(),
        None => {
            let config = Arc::new(build_dtls_config(mtu)?);
            if built.len() >= MAX_BUILT {
                built.remove(0);
            }
            built.push((mtu, config.clone()));
            config
        }
    };
    drop(built);
    Ok(match seed {
        None => base,
        Some(seed) => Arc::new(base.with_rng_seed(Some(seed))),
    })
}

fn build_dtls_config(mtu: usize) -> Result<Config, DtlsConfigError> {
    Config::builder()
        .with_crypto_provider(provider())
        .mtu(mtu)
        // RFC 6347 §4.2.4.1: "initial timer value of 1 second".
        .flight_start_rto(Duration::from_secs(1))
        // Browsers keep retransmitting for as long as ICE stays up; dimpl's
        // default of 4 retries gives up too early on lossy paths.
        .flight_retries(10)
        // No HelloVerifyRequest round trip. RFC 6347 §4.2.1 has the cookie
        // exchange guard against spoofed sources (amplification); here DTLS
        // only ever hears from an address ICE validated with a
        // MESSAGE-INTEGRITY check (ARCHITECTURE.md §3), which is that proof
        // already, so the cookie would only add a round trip to every
        // connection.
        .use_server_cookie(false)
        // dimpl's self-test of the provider (a key exchange on each group,
        // hash, PRF, HMAC and AEAD vectors) cost every process ~5 ms, more
        // than a connection; the provider's tests run it instead
        // (`provider::tests::passes_dimpls_self_test`).
        .crypto_provider_self_test(false)
        // The SRTP keys when media first needs them (dimpl's EDDY-PATCH
        // 28): two PRF runs a connected pair that a data channel never
        // uses.
        .srtp_keys_on_request(true)
        .build()
        .map_err(|e| DtlsConfigError(e.to_string()))
}

/// A DTLS transport: one handshake, then records both ways.
pub(crate) struct DtlsTransport {
    dtls: Dtls,
    role: DtlsRole,
    state: DtlsTransportState,
    /// The remote `a=fingerprint` lines.
    remote_fingerprints: Vec<Fingerprint>,
    peer_certificate: Option<Vec<u8>>,
    /// Whether `peer_certificate` matches `remote_fingerprints`, once
    /// computed for the two as they stand (`None` after either changes):
    /// the handshake asks at the certificate, at False Start and at
    /// completion, and each answer hashes the whole certificate.
    peer_match: Option<bool>,
    verified: bool,
    /// dimpl said Connected; we wait for the fingerprint check.
    handshake_done: bool,
    /// [`DtlsEvent::FalseStart`] was given: application data goes out
    /// before the handshake completes.
    false_start: bool,
    srtp_profile: Option<SrtpProfile>,
    /// Application data that arrived before verification.
    held: VecDeque<Vec<u8>>,
    /// In deterministic mode, lent to the provider during every call.
    rng: Option<Rng>,
    /// Where dimpl writes each output: 2 KB for the handshake (the peer's
    /// certificate comes out through it), one datagram (`mtu`) once verified.
    buf: Vec<u8>,
    mtu: usize,
    /// When to free the buffers kept for the next records: [`IDLE_AFTER`]
    /// after the last record came in or went out.
    trim_at: Option<Instant>,
    /// Application-data buffers given back by [`Self::recycle`], at most
    /// [`SPARE_BUFFERS`].
    spare: Vec<Vec<u8>>,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<DtlsEvent>,
    timeout: Option<Instant>,
    /// The latest time given to us, to tell dimpl's "idle" deadline apart.
    now: Instant,
    failure: Option<DtlsFailure>,
    /// Datagrams sent because a retransmission timer fired.
    retransmissions: u64,
    /// Datagrams dropped because a queue was full.
    dropped: u64,
    in_timeout: bool,
}

impl std::fmt::Debug for DtlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtlsTransport")
            .field("role", &self.role)
            .field("state", &self.state)
            .finish()
    }
}

fn to_srtp_profile(p: dimpl::SrtpProfile) -> Option<SrtpProfile> {
    match p {
        dimpl::SrtpProfile::AES128_CM_SHA1_80 => Some(SrtpProfile::Aes128CmSha1_80),
        dimpl::SrtpProfile::AEAD_AES_128_GCM => Some(SrtpProfile::AeadAes128Gcm),
        dimpl::SrtpProfile::AEAD_AES_256_GCM => Some(SrtpProfile::AeadAes256Gcm),
        _ => None,
    }
}

impl DtlsTransport {
    /// A transport in `role` speaking `version`, with our `certificate`.
    /// `rng` is `Some` in deterministic mode.
    pub(crate) fn new(
        config: Arc<Config>,
        certificate: &Certificate,
        role: DtlsRole,
        version: DtlsVersion,
        mut rng: Option<Rng>,
        now: Instant,
    ) -> Self {
        let mtu = config.mtu();
        let cert = DtlsCertificate {
            certificate: certificate.der().to_vec(),
            // dimpl parses these bytes only when no loaded key is given
            // (its EDDY-PATCH 23): with one, the connection holds no copy
            // of the private key's DER.
            private_key: Vec::new(),
            loaded_key: Some(Arc::new(ecdsa::LoadedEcKey::new(certificate.key()))),
        };
        let dtls = scope::with_rng(&mut rng, || {
            let mut dtls = match (role, version) {
                (DtlsRole::Server, DtlsVersion::Dtls12)
                | (DtlsRole::Client, DtlsVersion::Dtls12) => Dtls::new_12(config, cert, now),
                (_, DtlsVersion::Dtls13) => Dtls::new_13(config, cert, now),
                (_, DtlsVersion::Auto) => Dtls::new_auto(config, cert, now),
            };
            if role == DtlsRole::Client {
                dtls.set_active(true);
            }
            dtls
        });
        Self {
            dtls,
            role,
            state: DtlsTransportState::New,
            remote_fingerprints: Vec::new(),
            peer_certificate: None,
            peer_match: None,
            verified: false,
            handshake_done: false,
            false_start: false,
            srtp_profile: None,
            held: VecDeque::new(),
            rng,
            buf: vec![0u8; 2048],
            mtu,
            spare: Vec::new(),
            trim_at: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            timeout: None,
            now,
            failure: None,
            retransmissions: 0,
            dropped: 0,
            in_timeout: false,
        }
    }

    /// The role.
    pub(crate) fn role(&self) -> DtlsRole {
        self.role
    }

    /// The state.
    pub(crate) fn state(&self) -> DtlsTransportState {
        self.state
    }

    /// The negotiated DTLS version as W3C `tlsVersion` writes it (the
    /// wire value in upper-case hex: `FEFD` for 1.2, `FEFC` for 1.3).
    pub(crate) fn tls_version(&self) -> Option<&'static str> {
        match self.dtls.protocol_version()? {
            dimpl::ProtocolVersion::DTLS1_2 => Some("FEFD"),
            dimpl::ProtocolVersion::DTLS1_3 => Some("FEFC"),
            _ => None,
        }
    }

    /// Why the transport failed, if it did.
    pub(crate) fn failure(&self) -> Option<&DtlsFailure> {
        self.failure.as_ref()
    }

    /// The peer's certificate (DER), once seen.
    pub(crate) fn remote_certificate(&self) -> Option<&[u8]> {
        self.peer_certificate.as_deref()
    }

    /// Datagrams re-sent by retransmission timers.
    #[cfg(all(test, feature = "sim"))]
    pub(crate) fn retransmissions(&self) -> u64 {
        self.retransmissions
    }

    /// The counters.
    pub(crate) fn stats(&self) -> DtlsStats {
        DtlsStats {
            retransmissions: self.retransmissions,
            dropped: self.dropped,
        }
    }

    /// Sets the fingerprints the peer's certificate must match (from the
    /// remote description). May come after the handshake finished; the
    /// transport then connects or fails at once.
    pub(crate) fn set_remote_fingerprints(&mut self, fingerprints: Vec<Fingerprint>) {
        self.remote_fingerprints = fingerprints;
        self.peer_match = None;
        self.verify();
        self.check_false_start();
    }

    fn set_state(&mut self, state: DtlsTransportState) {
        if self.state != state {
            self.state = state;
            self.push_event(DtlsEvent::State(state));
        }
    }

    fn push_event(&mut self, e: DtlsEvent) {
        if self.events.len() >= MAX_QUEUED_EVENTS {
            self.dropped += 1;
            return;
        }
        self.events.push_back(e);
    }

    fn fail(&mut self, reason: DtlsFailure) {
        tracing::warn!(%reason, "DTLS failed");
        self.failure = Some(reason);
        self.transmits.clear();
        self.held.clear();
        self.timeout = None;
        self.set_state(DtlsTransportState::Failed);
    }

    /// Starts the handshake (the client sends its ClientHello).
    pub(crate) fn start(&mut self, now: Instant) {
        if self.state == DtlsTransportState::New {
            self.set_state(DtlsTransportState::Connecting);
            self.handle_timeout(now);
        }
    }

    fn is_done(&self) -> bool {
        matches!(
            self.state,
            DtlsTransportState::Closed | DtlsTransportState::Failed
        )
    }

    /// A DTLS datagram from the peer.
    pub(crate) fn handle_receive(&mut self, now: Instant, datagram: &[u8]) {
        if self.is_done() {
            return;
        }
        self.now = self.now.max(now);
        if self.state == DtlsTransportState::New {
            // RFC 8842 / INTEROP: records may come before we "start".
            self.set_state(DtlsTransportState::Connecting);
        }
        self.trim_at = Some(now + IDLE_AFTER);
        // Application data once both sides are past the handshake, with no
        // DTLS timer due: one record opened straight into a buffer that
        // becomes the event (dimpl's EDDY-PATCH 19: one copy, no receive
        // queue). Anything else takes the ordinary path below.
        if self.verified && self.held.is_empty() && self.timeout.is_none_or(|t| t > now) {
            // A new buffer for a small record has the room a kept one has
            // (`trim_buffers`): a larger heartbeat later does not regrow it.
            let mut out = self
                .spare
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(datagram.len().max(SMALL_SPARE)));
            if self.dtls.receive_app_data(datagram, &mut out) {
                self.deliver_data(out);
                return;
            }
            self.recycle(out);
        }
        let dtls = &mut self.dtls;
        let r = scope::with_rng(&mut self.rng, || {
            dtls.handle_timeout(now)?;
            dtls.handle_packet(datagram)
        });
        if let Err(e) = r {
            self.fail(DtlsFailure::Protocol(e.to_string()));
            return;
        }
        self.drain();
    }

    /// Frees the buffers kept for the next records, once no record came in
    /// or went out for [`IDLE_AFTER`] (a timer of its own, so that an idle
    /// connection gives them back whatever its other timers do).
    fn trim_buffers(&mut self) {
        self.trim_at = None;
        self.dtls.trim_buffers();
        // A small plaintext buffer stays (an SCTP HEARTBEAT's is ~40
        // bytes), with its slot: an idle connection's heartbeats then take
        // no allocation for it (issue 13). A datagram-sized one goes.
        self.spare.retain(|b| b.capacity() <= SMALL_SPARE);
        self.spare.shrink_to(SPARE_BUFFERS);
    }

    /// Time passed.
    /// Gives back the storage of its empty queues (on timer wakeups: an
    /// idle connection keeps no room for its setup's bursts).
    pub(crate) fn trim(&mut self) {
        // Once verified, the output buffer is only a datagram's room, and
        // an idle connection needs none: the next output asks for it again
        // (`Step::Grow`).
        if self.verified && self.transmits.is_empty() {
            self.buf = Vec::new();
        }
        // The buffers kept for the next records go on a timer of their own
        // (`trim_at`), once no record passed either way for `IDLE_AFTER`.
        // Room for one datagram and one event stays once verified: what an
        // idle connection's SCTP heartbeat passes through.
        let keep = usize::from(self.verified);
        self.transmits.keep_if_empty(keep);
        self.events.keep_if_empty(keep);
        self.held.free_if_empty();
    }

    /// Time passed. True when the connection just went idle: no record
    /// either way for [`IDLE_AFTER`] (the layers above may then give back
    /// what they keep for traffic).
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> bool {
        if self.is_done() || self.state == DtlsTransportState::New {
            return false;
        }
        self.now = self.now.max(now);
        let went_idle = self.trim_at.is_some_and(|t| t <= now);
        if went_idle {
            self.trim_buffers();
        }
        let dtls = &mut self.dtls;
        let fired = self.timeout.is_some_and(|t| t <= now);
        if let Err(e) = scope::with_rng(&mut self.rng, || dtls.handle_timeout(now)) {
            self.fail(DtlsFailure::Protocol(e.to_string()));
            return went_idle;
        }
        self.in_timeout = fired && self.state == DtlsTransportState::Connecting;
        self.drain();
        self.in_timeout = false;
        went_idle
    }

    /// Sends application data (an SCTP packet). Refused until connected,
    /// or until [`DtlsEvent::FalseStart`] for a client.
    pub(crate) fn send(&mut self, data: &[u8]) -> Result<(), DtlsSendError> {
        let early = self.state == DtlsTransportState::Connecting && self.false_start;
        if self.state != DtlsTransportState::Connected && !early {
            return Err(DtlsSendError::NotConnected);
        }
        self.trim_at = Some(self.now + IDLE_AFTER);
        let dtls = &mut self.dtls;
        let sent = scope::with_rng(&mut self.rng, || {
            if early {
                dtls.send_false_start(data)
            } else {
                dtls.send_application_data(data)
            }
        })
        .map_err(|e| DtlsSendError::Protocol(e.to_string()))?;
        self.drain();
        if sent == 0 && !data.is_empty() {
            return Err(DtlsSendError::NotConnected);
        }
        Ok(())
    }

    /// Sends `packet[headroom..]` (an SCTP packet) as application data.
    /// Once connected, it is sealed where it lies: the record header goes
    /// into `packet[..headroom]` and the buffer leaves as the datagram
    /// (dimpl's EDDY-PATCH 24; ARCHITECTURE.md §5.6), and `Ok(None)` is
    /// returned. Otherwise (False Start, DTLS 1.3, a suite whose header is
    /// not `headroom` long, a record that joins a queued datagram) the
    /// packet is copied as by [`send`](Self::send) and the buffer given
    /// back.
    pub(crate) fn send_packet(
        &mut self,
        packet: Vec<u8>,
        headroom: usize,
    ) -> Result<Option<Vec<u8>>, DtlsSendError> {
        let mut packet = packet;
        if self.state == DtlsTransportState::Connected {
            self.trim_at = Some(self.now + IDLE_AFTER);
            let dtls = &mut self.dtls;
            let left = scope::with_rng(&mut self.rng, || {
                dtls.send_application_data_in_place(packet, headroom)
            })
            .map_err(|e| DtlsSendError::Protocol(e.to_string()))?;
            match left {
                None => {
                    self.drain();
                    return Ok(None);
                }
                Some(p) => packet = p,
            }
        }
        self.send(packet.get(headroom..).unwrap_or_default())?;
        Ok(Some(packet))
    }

    /// Whether application data goes out before the handshake completes
    /// ([`DtlsEvent::FalseStart`] was given, the handshake has not failed
    /// or closed since).
    pub(crate) fn false_start(&self) -> bool {
        self.false_start && self.state == DtlsTransportState::Connecting
    }

    /// RFC 7918 §4: a client may send before the server's Finished once
    /// the server is authenticated; in WebRTC that is its certificate
    /// matching the remote `a=fingerprint` (RFC 8842 §5), which dimpl
    /// leaves to us. dimpl checks the rest (its Finished sent, an ECDHE
    /// AEAD suite, the ServerKeyExchange signature) (third_party/dimpl/
    /// EDDY-PATCH.md 20).
    fn check_false_start(&mut self) {
        if self.false_start
            || self.role != DtlsRole::Client
            || self.state != DtlsTransportState::Connecting
            || !self.dtls.can_false_start()
            || !self.peer_matches()
        {
            return;
        }
        self.false_start = true;
        self.push_event(DtlsEvent::FalseStart);
    }

    /// Whether the peer's certificate (seen) matches a remote fingerprint
    /// (known); hashed once for the two as they stand (`peer_match`).
    fn peer_matches(&mut self) -> bool {
        if let Some(known) = self.peer_match {
            return known;
        }
        let Some(cert) = &self.peer_certificate else {
            return false;
        };
        let mut got = [0u8; MAX_DIGEST];
        let matches = self.remote_fingerprints.iter().any(|want| {
            fingerprint_digest_to(&want.hash, cert, &mut got)
                .and_then(|n| got.get(..n))
                .is_some_and(|got| {
                    got.len() == want.bytes.len() && openssl::memcmp::eq(got, &want.bytes)
                })
        });
        self.peer_match = Some(matches);
        matches
    }

    /// Sends close_notify and closes.
    pub(crate) fn close(&mut self) {
        if self.is_done() {
            return;
        }
        let dtls = &mut self.dtls;
        let _ = scope::with_rng(&mut self.rng, || dtls.close());
        self.drain();
        self.timeout = None;
        self.set_state(DtlsTransportState::Closed);
    }

    fn drain(&mut self) {
        loop {
            // Data and datagrams first, without the copy through `buf`
            // (dimpl's `poll_owned`, third_party/dimpl/EDDY-PATCH.md 12);
            // the rest, and whatever that path does not cover, below.
            let mut out = self.spare.pop().unwrap_or_default();
            match self.dtls.poll_owned(&mut out) {
                Some(dimpl::Owned::ApplicationData) => {
                    self.deliver_data(out);
                    continue;
                }
                Some(dimpl::Owned::Packet(p)) => {
                    self.recycle(out);
                    self.queue_packet(p);
                    continue;
                }
                None => self.recycle(out),
            }
            let dtls = &mut self.dtls;
            let buf = &mut self.buf;
            let spare = &mut self.spare;
            let out = scope::with_rng(&mut self.rng, || match dtls.poll_output(buf) {
                DtlsOutput::Packet(p) => Step::Packet(p.to_vec()),
                DtlsOutput::BufferTooSmall { needed } => Step::Grow(needed),
                DtlsOutput::Timeout(t) => Step::Timeout(t),
                DtlsOutput::Connected => Step::Connected,
                DtlsOutput::PeerCert(c) => Step::PeerCert(c.to_vec()),
                // `srtp_keys_on_request` (dimpl's EDDY-PATCH 28): the
                // keying material is derived when media asks for it.
                DtlsOutput::SrtpProfile(p) => Step::SrtpProfile(p),
                DtlsOutput::ApplicationData(d) => {
                    let mut data = spare.pop().unwrap_or_default();
                    data.extend_from_slice(d);
                    Step::Data(data)
                }
                DtlsOutput::CloseNotify => Step::CloseNotify,
                _ => Step::Other,
            });
            match out {
                Step::Packet(p) => self.queue_packet(p),
                Step::Grow(n) => self.buf.resize(n.min(1 << 16), 0),
                Step::Timeout(t) => {
                    // With no timer armed (a finished handshake) dimpl asks
                    // to be woken ten years from now. "Never" is `None`
                    // here (ARCHITECTURE.md §5.5: no far-future
                    // sentinels), else an idle connection never idles.
                    self.timeout =
                        (t.saturating_duration_since(self.now) < DIMPL_IDLE).then_some(t);
                    break;
                }
                Step::Connected => {
                    self.handshake_done = true;
                    self.verify();
                }
                Step::PeerCert(c) => {
                    self.peer_certificate = Some(c);
                    self.peer_match = None;
                    self.verify();
                }
                Step::SrtpProfile(p) => match to_srtp_profile(p) {
                    Some(profile) if self.verified => {
                        self.push_event(DtlsEvent::SrtpReady(profile));
                    }
                    Some(profile) => {
                        self.srtp_profile = Some(profile);
                        self.verify();
                    }
                    None => tracing::warn!(?p, "unknown SRTP profile from DTLS"),
                },
                Step::Data(d) => self.deliver_data(d),
                Step::CloseNotify => {
                    self.timeout = None;
                    self.set_state(DtlsTransportState::Closed);
                }
                Step::Other => {}
            }
            if self.is_done() {
                break;
            }
        }
        self.check_false_start();
    }

    /// A datagram to send.
    fn queue_packet(&mut self, p: Vec<u8>) {
        if self.in_timeout {
            self.retransmissions += 1;
        }
        if self.transmits.len() >= MAX_QUEUED_DATAGRAMS {
            self.dropped += 1;
        } else {
            self.transmits.push_back(p);
        }
    }

    /// Received application data: an event once the peer is verified, held
    /// (bounded) before.
    fn deliver_data(&mut self, d: Vec<u8>) {
        if self.verified {
            self.push_event(DtlsEvent::Data(d));
        } else if self.held.len() < MAX_QUEUED_DATAGRAMS {
            self.held.push_back(d);
        } else {
            self.dropped += 1;
        }
    }

    /// RFC 8842 §5 / RFC 8122 §5: the peer's certificate must match a
    /// fingerprint of the remote description before the transport connects
    /// or any key is used; a mismatch fails the transport.
    fn verify(&mut self) {
        if self.is_done() || self.verified {
            return;
        }
        if self.peer_certificate.is_none() {
            return;
        }
        if self.remote_fingerprints.is_empty() {
            return;
        }
        if !self.peer_matches() {
            self.fail(DtlsFailure::FingerprintMismatch);
            return;
        }
        if !self.handshake_done {
            return;
        }
        self.verified = true;
        // The handshake's large outputs are past: room for one datagram is
        // enough (a larger record from the peer grows it, `Step::Grow`), and
        // the rest would stay as idle heap.
        if self.mtu > 0 && self.buf.len() > self.mtu {
            self.buf.truncate(self.mtu);
            self.buf.shrink_to_fit();
        }
        self.set_state(DtlsTransportState::Connected);
        if let Some(profile) = self.srtp_profile.take() {
            self.push_event(DtlsEvent::SrtpReady(profile));
        }
        while let Some(d) = self.held.pop_front() {
            self.push_event(DtlsEvent::Data(d));
        }
    }

    /// The DTLS-SRTP keying material (RFC 5764 §4.2: client key, server
    /// key, client salt, server salt), derived now from the handshake's
    /// master secret; `None` before [`DtlsEvent::SrtpReady`].
    pub(crate) fn srtp_keying_material(&mut self) -> Option<dimpl::KeyingMaterial> {
        if !self.verified {
            return None;
        }
        self.dtls
            .srtp_keying_material()
            .map(|(material, _)| material)
    }

    /// Gives back the buffer of a [`DtlsEvent::Data`] once its contents
    /// were used, for the next record's plaintext.
    pub(crate) fn recycle(&mut self, mut buf: Vec<u8>) {
        // An empty `Vec` would only hold the place of a real buffer.
        if self.spare.len() < SPARE_BUFFERS && buf.capacity() > 0 {
            buf.clear();
            self.spare.push(buf);
        }
    }

    /// A sent datagram's buffer, for a later datagram (dimpl keeps a few).
    pub(crate) fn recycle_transmit(&mut self, buf: Vec<u8>) {
        self.dtls.recycle_buffer(buf);
    }

    /// The next datagram to send.
    pub(crate) fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub(crate) fn poll_event(&mut self) -> Option<DtlsEvent> {
        let e = self.events.pop_front();
        // Drained after a burst (a thousand channels opening): give
        // the room back at once, small queues wait for `trim`.
        if e.is_none() && self.events.capacity() > 16 {
            self.events.shrink_to_fit();
        }
        e
    }

    /// When to call `handle_timeout` next.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.is_done() || self.state == DtlsTransportState::New {
            None
        } else {
            match (self.timeout, self.trim_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
    }
}

enum Step {
    Packet(Vec<u8>),
    Grow(usize),
    Timeout(Instant),
    Connected,
    PeerCert(Vec<u8>),
    SrtpProfile(dimpl::SrtpProfile),
    Data(Vec<u8>),
    CloseNotify,
    Other,
}
