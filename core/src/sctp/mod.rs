//! SCTP over DTLS (RFC 8261) for data channels (RFC 8831, RFC 8832), on
//! Google's dcSCTP.
//!
//! [`SctpTransport`] owns the association and every data channel. It is
//! sans-IO like the rest of the core: SCTP packets in and out, time as an
//! input. dcSCTP draws its random numbers (verification tags, initial TSNs)
//! from `fastrand`'s thread-local generator, so the transport reseeds it
//! from the connection's generator before every call: a seeded run stays
//! reproducible.

mod channel;
mod dcep;

#[cfg(all(test, feature = "sim"))]
mod tests;

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dcsctp::api::{
    DcSctpSocket, Message, Options, PpId, SendError, SendOptions, SocketEvent, SocketState,
    SocketTime, StreamId, ZeroChecksumAlternateErrorDetectionMethod,
};

pub use crate::state::{DataChannelState, SctpTransportState};
pub use channel::{ChannelId, DataChannelError, DataChannelInit, DataChannelMessage};
// `SctpCounters` is defined below and public through `eddy::SctpCounters`.

use crate::dtls::DtlsRole;
use crate::rng::Rng;
use crate::room::FreeIfEmpty;
use channel::{validate, Channel};
pub(crate) use dcep::Reliability;
use dcep::{ppid, Dcep, Open};

/// What the SCTP transport reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SctpEvent {
    /// The transport's state changed.
    State(SctpTransportState),
    /// The peer opened a channel (W3C `datachannel` event).
    DataChannel(ChannelId),
    /// A channel opened (W3C `open`).
    Open(ChannelId),
    /// A message arrived (W3C `message`).
    Message(ChannelId, DataChannelMessage),
    /// `buffered_amount` fell to or below the threshold
    /// (W3C `bufferedamountlow`).
    BufferedAmountLow(ChannelId),
    /// The channel is closing (W3C `closing`).
    Closing(ChannelId),
    /// The channel closed (W3C `close`); its id is free again.
    Closed(ChannelId),
}

/// What ends a stream or the association, acted on only after the messages
/// that came before it were taken.
#[derive(Debug)]
enum Ending {
    /// The peer reset these incoming streams.
    Streams(Vec<u16>),
    /// The association closed or was aborted.
    Association,
}

/// Limits and negotiated values for the association.
#[derive(Debug, Clone)]
pub(crate) struct SctpConfig {
    /// Our `a=sctp-port`.
    pub(crate) local_port: u16,
    /// The peer's `a=sctp-port`.
    pub(crate) remote_port: u16,
    /// The peer's `a=max-message-size` (0: no limit), which bounds what we
    /// send. RFC 8841 §6.1: "If the SDP 'max-message-size' attribute is not
    /// present, the default value is 64K."
    pub(crate) remote_max_message_size: usize,
    /// Largest SCTP packet: the connection's MTU less DTLS (and TURN)
    /// overhead.
    pub(crate) mtu: usize,
    /// Bytes we buffer for sending across all channels. Chrome: 16 MiB.
    pub(crate) max_send_buffer: usize,
    /// Bytes we buffer for reassembly. dcSCTP default: 5 MiB.
    pub(crate) max_receive_buffer: usize,
    /// Most channels at once (Chrome's limit: 1024).
    pub(crate) max_channels: usize,
}

impl Default for SctpConfig {
    fn default() -> Self {
        Self {
            local_port: 5000,
            remote_port: 5000,
            remote_max_message_size: 65536,
            mtu: 1200 - Self::DTLS_OVERHEAD,
            max_send_buffer: 16 * 1024 * 1024,
            max_receive_buffer: 5 * 1024 * 1024,
            max_channels: 1024,
        }
    }
}

impl SctpConfig {
    /// DTLS 1.2 AES-GCM record overhead (13 header + 8 nonce + 16 tag),
    /// plus 4 for TURN ChannelData, rounded up.
    pub(crate) const DTLS_OVERHEAD: usize = 48;

    /// Free bytes before each SCTP packet in its buffer: a DTLS 1.2 AES-GCM
    /// record's header and explicit nonce (13 + 8), which DTLS writes there
    /// and seals the packet where it lies (dimpl's EDDY-PATCH 24,
    /// ARCHITECTURE.md §5.6). A suite with another header length takes the
    /// copying path.
    pub(crate) const DTLS_HEADROOM: usize = 21;

    /// Room reserved after each SCTP packet: the rest of
    /// [`DTLS_OVERHEAD`](Self::DTLS_OVERHEAD), the AEAD tag included, so
    /// that a buffer holds a whole datagram and serves DTLS's pool as well.
    pub(crate) const DTLS_TAILROOM: usize = Self::DTLS_OVERHEAD - Self::DTLS_HEADROOM;

    /// The largest message we may send.
    fn send_limit(&self) -> usize {
        if self.remote_max_message_size == 0 {
            self.max_send_buffer
        } else {
            self.remote_max_message_size
        }
    }
}

/// What the SCTP association and its data channels did, for stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SctpCounters {
    /// Data channel messages sent (DCEP not included).
    pub messages_sent: u64,
    /// Data channel messages received and delivered (DCEP not included).
    pub messages_received: u64,
    /// Payload bytes sent, DCEP messages included.
    pub bytes_sent: u64,
    /// Payload bytes received, DCEP messages included.
    pub bytes_received: u64,
    /// Messages for a stream no channel has.
    pub dropped_unknown_stream: u64,
    /// Messages with a PPID data channels do not use.
    pub dropped_ppid: u64,
    /// Malformed DCEP messages.
    pub dcep_errors: u64,
    /// DATA_CHANNEL_OPENs refused (no room, or the id is in use).
    pub refused_opens: u64,
    /// Packets or events dropped because a queue was full.
    pub dropped_queue_full: u64,
}

const MAX_QUEUED_PACKETS: usize = 8192;
/// How late the SCTP heartbeat may go when no other wakeup comes first.
/// RFC 9260 §8.3: a HEARTBEAT "is sent once per RTO of that destination
/// address plus the protocol parameter 'HB.interval'", which the upper
/// layer may change ("B) Change the HB.interval"): here 30 s plus at most
/// this. With consent checks every 4 to 6 s, an idle connection's
/// heartbeat always rides on one of them.
const HEARTBEAT_SLACK: Duration = Duration::from_secs(6);

/// Received packets whose buffers dcSCTP may still hold views of (their
/// fragments wait in reassembly, or their messages are not taken yet),
/// kept to take back once it lets go: a 16 KiB message's fragments and a
/// few more.
const MAX_LENT_PACKETS: usize = 32;
const MAX_QUEUED_EVENTS: usize = 65536;

/// The association and its data channels.
pub(crate) struct SctpTransport {
    config: SctpConfig,
    socket: Option<Box<dyn DcSctpSocket>>,
    role: Option<DtlsRole>,
    state: SctpTransportState,
    /// `Instant` that dcSCTP's clock counts from.
    base: Instant,
    rng: Rng,
    /// Boxed: a B-tree leaf has room for 11 entries, so one channel inline
    /// would take eleven channels' room (~1.4 KB) per connection.
    channels: BTreeMap<ChannelId, Box<Channel>>,
    by_stream: BTreeMap<u16, ChannelId>,
    next_handle: u64,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<SctpEvent>,
    counters: SctpCounters,
    /// Bytes queued on all channels before they opened; bounded by
    /// `max_send_buffer` as a whole, not per channel.
    pending_total: usize,
    /// Endings waiting for the messages before them to be taken.
    deferred: VecDeque<Ending>,
    /// Received packets' buffers lent to dcSCTP
    /// ([`handle_packet_owned`](Self::handle_packet_owned)), at most
    /// [`MAX_LENT_PACKETS`].
    lent: Vec<Bytes>,
    /// As the DTLS server, when our INIT goes unless the client's came
    /// first (see [`start`](Self::start)).
    connect_at: Option<Instant>,
}

impl std::fmt::Debug for SctpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SctpTransport")
            .field("state", &self.state)
            .field("channels", &self.channels.len())
            .finish()
    }
}

/// `packet`'s buffer, emptied, if nothing else holds it.
fn reclaim(packet: Bytes) -> Result<Vec<u8>, Bytes> {
    let mut buffer = packet.try_into_mut()?;
    // Empty first: the conversion moves the contents to the front.
    buffer.clear();
    Ok(Vec::from(buffer))
}

/// Whether `packet` is an INIT: RFC 9260 §3.3.2, its chunk follows the
/// 12-byte common header and "MUST NOT be bundled with any other chunk".
fn is_init(packet: &[u8]) -> bool {
    packet.get(12) == Some(&1)
}

fn to_socket_time(base: Instant, now: Instant) -> SocketTime {
    SocketTime::zero() + now.saturating_duration_since(base)
}

impl SctpTransport {
    /// A transport whose association starts with [`start`](Self::start).
    pub(crate) fn new(config: SctpConfig, rng: Rng, now: Instant) -> Self {
        Self {
            config,
            socket: None,
            role: None,
            state: SctpTransportState::Connecting,
            base: now,
            rng,
            channels: BTreeMap::new(),
            by_stream: BTreeMap::new(),
            next_handle: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            counters: SctpCounters::default(),
            pending_total: 0,
            deferred: VecDeque::new(),
            lent: Vec::new(),
            connect_at: None,
        }
    }

    /// The state.
    pub(crate) fn state(&self) -> SctpTransportState {
        self.state
    }

    /// Counters.
    pub(crate) fn counters(&self) -> SctpCounters {
        self.counters
    }

    /// The largest message `send` accepts (W3C `maxMessageSize`).
    pub(crate) fn max_message_size(&self) -> usize {
        self.config.send_limit()
    }

    /// How many channels may exist at once (W3C `maxChannels`).
    pub(crate) fn max_channels(&self) -> usize {
        self.config.max_channels
    }

    /// Updates the peer's values after a renegotiation.
    pub(crate) fn set_remote(&mut self, remote_port: u16, remote_max_message_size: usize) {
        self.config.remote_port = remote_port;
        self.config.remote_max_message_size = remote_max_message_size;
        let limit = self.config.send_limit();
        if let Some(s) = self.socket.as_mut() {
            s.set_max_message_size(limit);
        }
    }

    fn push_event(&mut self, e: SctpEvent) {
        if self.events.len() >= MAX_QUEUED_EVENTS {
            self.counters.dropped_queue_full += 1;
            tracing::warn!(?e, "SCTP event queue full");
            return;
        }
        self.events.push_back(e);
    }

    /// Seeds dcSCTP's generator from ours before a call into it.
    fn reseed(&mut self) {
        fastrand::seed(self.rng.u64());
    }

    /// Starts the association once DTLS is up: `role` picks the stream id
    /// parity (RFC 8832 §6: "The DTLS client MUST use even-numbered
    /// streams, and the DTLS server MUST use odd-numbered streams"), the
    /// DTLS client sends its INIT, and the server sends its own unless the
    /// client's arrives first.
    pub(crate) fn start(&mut self, now: Instant, role: DtlsRole) {
        if self.socket.is_some() || self.state == SctpTransportState::Closed {
            return;
        }
        self.role = Some(role);
        let options = Options {
            local_port: self.config.local_port,
            remote_port: self.config.remote_port,
            announced_maximum_incoming_streams: self.config.max_channels.min(65535) as u16,
            announced_maximum_outgoing_streams: self.config.max_channels.min(65535) as u16,
            mtu: self.config.mtu,
            max_message_size: self.config.send_limit(),
            max_receiver_window_buffer_size: self.config.max_receive_buffer,
            max_send_buffer_size: self.config.max_send_buffer,
            per_stream_send_queue_limit: self.config.max_send_buffer,
            // RFC 8260 I-DATA, used when the peer offers it too.
            enable_message_interleaving: true,
            // RFC 9653 §5: method 1, "DTLS", when the peer agrees.
            zero_checksum_alternate_error_detection_method:
                ZeroChecksumAlternateErrorDetectionMethod(1),
            // Room for DTLS around each packet (dcSCTP's EDDY-PATCH 14).
            packet_headroom: SctpConfig::DTLS_HEADROOM,
            packet_tailroom: SctpConfig::DTLS_TAILROOM,
            // An idle association's two heartbeats share one exchange per
            // interval when the peer's comes first (dcSCTP's EDDY-PATCH
            // 16): three records instead of four, and no wakeup for ours
            // when the peer's timer runs at another phase.
            bundle_heartbeats: true,
            // The SACK a packet makes due waits for `poll_transmit`
            // (dcSCTP's EDDY-PATCH 21): the DATA_CHANNEL_ACK answering the
            // peer's first DATA, a DATA_CHANNEL_OPEN, then carries it, one
            // record instead of two.
            defer_sack: true,
            ..Options::default()
        };
        self.reseed();
        let mut socket = dcsctp::new_socket("eddy", &options);
        socket.advance_time(to_socket_time(self.base, now));
        // Who INITs: libwebrtc and usrsctp in both DTLS roles, aiortc,
        // pion and str0m as the DTLS client only. So the client INITs at
        // once, and the server too, for a peer that would wait in both
        // roles; two INITs that cross cost each side a second INIT ACK and
        // COOKIE ECHO before SCTP settles on one association (RFC 9260
        // §5.2.1). The server's waits until what arrived at this instant
        // is read (a timer at `now`, which a driver fires after the
        // datagrams in hand): the client's INIT, sent with its Finished
        // (False Start) or at the same moment, then makes ours needless.
        if role == DtlsRole::Client {
            socket.connect();
        } else {
            self.connect_at = Some(now);
        }
        self.socket = Some(socket);
        self.assign_ids();
        self.drain();
    }

    /// An SCTP packet (DTLS application data) from the peer.
    pub(crate) fn handle_packet(&mut self, now: Instant, packet: &[u8]) {
        let base = self.base;
        self.reseed();
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        // The packet first, then the timers due by now (dcSCTP's EDDY-PATCH
        // 16): a peer's HEARTBEAT then carries ours in its answer when ours
        // is due too, where firing first would send it alone.
        let t = to_socket_time(base, now);
        socket.set_time(t);
        // A browser may INIT before our DTLS client role connects.
        if is_init(packet) {
            self.connect_at = None;
        }
        socket.handle_input(packet);
        socket.advance_time(t);
        self.drain();
    }

    /// An SCTP packet from the peer, in a buffer of its own (the record's
    /// plaintext, ARCHITECTURE.md §5.6): dcSCTP keeps a large fragment's
    /// payload as a view of it instead of a copy (its EDDY-PATCH 15), until
    /// the message is reassembled. Returns a buffer for the next record:
    /// this one if dcSCTP kept nothing of it, else one lent earlier that
    /// dcSCTP has let go of, if any.
    ///
    /// A buffer that its packet fills less than three quarters of is not
    /// lent (a view would hold all of it for fewer bytes; a SACK's record
    /// in a datagram's buffer): dcSCTP copies out of it, as from
    /// [`handle_packet`](Self::handle_packet). With dcSCTP's own rule (a
    /// view only of a payload that is three quarters of its packet), what
    /// views hold stays within 16/9 of the payload bytes its receive window
    /// counts (ARCHITECTURE.md §5.3).
    pub(crate) fn handle_packet_owned(&mut self, now: Instant, packet: Vec<u8>) -> Option<Vec<u8>> {
        if self.socket.is_none() || packet.len() * 4 < packet.capacity() * 3 {
            let mut packet = packet;
            self.handle_packet(now, &packet);
            packet.clear();
            return Some(packet);
        }
        let base = self.base;
        self.reseed();
        if is_init(&packet) {
            self.connect_at = None;
        }
        let socket = self.socket.as_mut()?;
        // As in `handle_packet`: the packet, then the timers.
        let t = to_socket_time(base, now);
        socket.set_time(t);
        let kept = socket.handle_input_owned(packet);
        socket.advance_time(t);
        self.drain();
        match kept {
            Ok(mut buffer) => {
                buffer.clear();
                Some(buffer)
            }
            Err(packet) => match reclaim(packet) {
                // The message was reassembled at once.
                Ok(buffer) => Some(buffer),
                Err(packet) => {
                    let back = self.take_back();
                    if self.lent.len() < MAX_LENT_PACKETS {
                        self.lent.push(packet);
                    }
                    back
                }
            },
        }
    }

    /// A lent buffer dcSCTP no longer holds, if any; the others it let go
    /// of are freed (DTLS keeps one buffer for the next record).
    fn take_back(&mut self) -> Option<Vec<u8>> {
        let i = self.lent.iter().position(Bytes::is_unique)?;
        let back = reclaim(self.lent.swap_remove(i)).ok();
        self.lent.retain(|p| !p.is_unique());
        back
    }

    /// Gives back the storage of its empty queues on timer wakeups: an
    /// idle connection keeps no room for its setup's bursts. What is freed
    /// is allocated again when traffic resumes.
    pub(crate) fn trim(&mut self) {
        // Room for one packet stays: an idle association's heartbeat.
        self.transmits.keep_if_empty(1);
        self.events.free_if_empty();
        self.deferred.free_if_empty();
    }

    /// The association is idle (no packet either way for a while): dcSCTP
    /// gives back its kept packet buffers and empty queues' room
    /// (EDDY-PATCH 12). Not at every timer wakeup: a busy association's
    /// delayed-SACK timers would free and allocate them again and again.
    pub(crate) fn trim_idle(&mut self) {
        if let Some(socket) = self.socket.as_mut() {
            socket.trim();
        }
        // What dcSCTP still holds stays alive through its views.
        self.lent = Vec::new();
    }

    /// Time passed.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        let base = self.base;
        self.reseed();
        let connect = self.connect_at.is_some_and(|at| at <= now);
        if let Some(socket) = self.socket.as_mut() {
            socket.advance_time(to_socket_time(base, now));
            // No INIT from the client by now: ours (see `start`), unless
            // an association came up or started without one.
            if connect {
                self.connect_at = None;
                if socket.state() == SocketState::Closed {
                    socket.connect();
                }
            }
            self.drain();
        }
    }

    /// The next SCTP packet to hand to DTLS: the packet is
    /// `buffer[SctpConfig::DTLS_HEADROOM..]`, with room for the record
    /// header before it and the tag after it.
    ///
    /// When none is queued, the SACK that received packets made due goes
    /// now (dcSCTP's EDDY-PATCH 21), unless what was sent since carried
    /// it. RFC 9260 §6.2: "An SCTP receiver MUST NOT generate more than
    /// one SACK chunk for every incoming packet"; §5.1: "After the
    /// reception of the first DATA chunk in an association, the endpoint
    /// MUST immediately respond with a SACK chunk": the connection polls
    /// right after it acted on the packets of an input, in the same call.
    pub(crate) fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.transmits.is_empty() && self.socket.as_mut().is_some_and(|s| s.send_pending_sack())
        {
            self.drain();
        }
        self.transmits.pop_front()
    }

    /// Gives a buffer to dcSCTP to build a later packet in: a packet's,
    /// once DTLS has copied it, or a sent datagram's (ARCHITECTURE.md
    /// §5.6). Returns it when dcSCTP keeps enough already, or when it has
    /// no room for a packet (for DTLS's pool then).
    pub(crate) fn recycle(&mut self, buffer: Vec<u8>) -> Option<Vec<u8>> {
        // dcSCTP keeps a datagram's room, or one small control packet's (its EDDY-PATCH 19:
        // an idle association's heartbeats are built in one kept buffer), and returns the rest.
        match self.socket.as_mut() {
            Some(socket) => socket.recycle_packet_buffer(buffer),
            None => Some(buffer),
        }
    }

    /// The next event.
    pub(crate) fn poll_event(&mut self) -> Option<SctpEvent> {
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
        let socket = self.socket.as_ref()?;
        if self.connect_at.is_some() {
            return self.connect_at;
        }
        let at = socket.poll_timeout_without_heartbeat() - SocketTime::zero();
        // dcSCTP says "never" with a far-future time.
        let hard = (at < Duration::from_secs(100 * 365 * 24 * 3600)).then(|| self.base + at);
        // The heartbeat is a soft deadline: served by the first wakeup at
        // or after it (`heartbeat_due`), which on an idle connection is a
        // consent check's (RFC 7675, every 4 to 6 s), and by a wakeup of
        // its own only `HEARTBEAT_SLACK` later.
        let soft = self.heartbeat_at().map(|t| t + HEARTBEAT_SLACK);
        match (hard, soft) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn heartbeat_at(&self) -> Option<Instant> {
        let at = self.socket.as_ref()?.heartbeat_timeout()?;
        Some(self.base + (at - SocketTime::zero()))
    }

    /// The SCTP heartbeat is due: the connection is awake anyway, so it goes
    /// now (`Stack::step`) instead of on a wakeup of its own.
    pub(crate) fn heartbeat_due(&self, now: Instant) -> bool {
        self.heartbeat_at().is_some_and(|t| t <= now)
    }

    /// Creates a data channel (W3C `createDataChannel`).
    pub(crate) fn create_data_channel(
        &mut self,
        label: &str,
        init: &DataChannelInit,
    ) -> Result<ChannelId, DataChannelError> {
        if self.state == SctpTransportState::Closed {
            return Err(DataChannelError::InvalidState("the connection is closed"));
        }
        let reliability = validate(label, init)?;
        if self.channels.len() >= self.config.max_channels {
            return Err(DataChannelError::Operation("no more channels fit"));
        }
        if init.negotiated {
            if let Some(id) = init.id {
                // W3C: "If [[DataChannelId]] is ... already used by another
                // channel, throw an OperationError."
                if self.by_stream.contains_key(&id) {
                    return Err(DataChannelError::Operation("the id is in use"));
                }
                if usize::from(id) >= self.config.max_channels.max(1) * 64 {
                    return Err(DataChannelError::Operation(
                        "the id is beyond the stream limit",
                    ));
                }
            }
        }
        let handle = ChannelId(self.next_handle);
        self.next_handle += 1;
        let channel = Channel::new(label.to_owned(), init, reliability);
        if let Some(id) = channel.stream {
            self.by_stream.insert(id, handle);
        }
        self.channels.insert(handle, Box::new(channel));
        self.assign_ids();
        self.open_channels();
        self.drain();
        Ok(handle)
    }

    /// Gives every channel without a stream id one of our parity
    /// (lowest free first), once the DTLS role is known.
    fn assign_ids(&mut self) {
        let Some(role) = self.role else {
            return;
        };
        let first = match role {
            DtlsRole::Client => 0u16,
            DtlsRole::Server => 1u16,
        };
        let handles: Vec<ChannelId> = self
            .channels
            .iter()
            .filter(|(_, c)| c.stream.is_none() && c.state == DataChannelState::Connecting)
            .map(|(h, _)| *h)
            .collect();
        for h in handles {
            let mut id = first;
            while self.by_stream.contains_key(&id) {
                match id.checked_add(2) {
                    Some(next) if next < 65535 => id = next,
                    _ => {
                        tracing::warn!("no stream id left for a data channel");
                        return;
                    }
                }
            }
            self.by_stream.insert(id, h);
            if let Some(c) = self.channels.get_mut(&h) {
                c.stream = Some(id);
                if !c.negotiated {
                    self.send_open(h);
                }
            }
        }
    }

    /// Queues our channel's DATA_CHANNEL_OPEN as soon as it has a stream,
    /// that is from the association's start on (the stream's parity comes
    /// with the DTLS role): dcSCTP sends what is queued with the chunk that
    /// completes the handshake (the COOKIE ECHO, or the COOKIE ACK: RFC
    /// 9260 §5.1, "DATA chunks MAY be bundled"), so the first OPEN needs no
    /// packet of its own. The channel opens when the association does
    /// (`open_channels`).
    fn send_open(&mut self, h: ChannelId) {
        let Some(c) = self.channels.get_mut(&h) else {
            return;
        };
        let Some(stream) = c.stream else {
            return;
        };
        let open = Dcep::Open(Open {
            ordered: c.ordered,
            reliability: c.reliability,
            priority: 256,
            label: c.label.clone(),
            protocol: c.protocol.clone(),
        });
        c.awaiting_ack = true;
        // RFC 8832 §6: "The DATA_CHANNEL_OPEN message MUST be sent
        // ... ordered and reliably".
        if let Err(e) = self.sctp_send(
            stream,
            ppid::DCEP,
            open.write(),
            false,
            Reliability::Reliable,
        ) {
            tracing::warn!(?e, "could not send DATA_CHANNEL_OPEN");
        }
    }

    /// Opens channels once the association is up: ours after their DCEP
    /// OPEN ([`send_open`](Self::send_open)), negotiated ones at once.
    fn open_channels(&mut self) {
        if self.state != SctpTransportState::Connected {
            return;
        }
        let handles: Vec<ChannelId> = self
            .channels
            .iter()
            .filter(|(_, c)| c.state == DataChannelState::Connecting && c.stream.is_some())
            .map(|(h, _)| *h)
            .collect();
        for h in handles {
            if let Some(c) = self.channels.get_mut(&h) {
                c.state = DataChannelState::Open;
            }
            self.push_event(SctpEvent::Open(h));
            self.flush_pending(h);
        }
    }

    fn flush_pending(&mut self, h: ChannelId) {
        loop {
            let Some(c) = self.channels.get_mut(&h) else {
                return;
            };
            let Some((ppid, data)) = c.pending.pop_front() else {
                return;
            };
            c.pending_bytes -= data.len();
            self.pending_total -= data.len();
            if let Err(e) = self.send_now(h, ppid, data) {
                tracing::warn!(%e, "queued data channel message refused");
            }
        }
    }

    fn sctp_send(
        &mut self,
        stream: u16,
        ppid: u32,
        payload: Vec<u8>,
        unordered: bool,
        reliability: Reliability,
    ) -> Result<(), SendError> {
        let options = SendOptions {
            unordered,
            lifetime: match reliability {
                Reliability::Timed(ms) => Some(Duration::from_millis(u64::from(ms))),
                _ => None,
            },
            max_retransmissions: match reliability {
                Reliability::Rexmit(n) => Some(n.min(u32::from(u16::MAX)) as u16),
                _ => None,
            },
            lifecycle_id: None,
        };
        self.reseed();
        let Some(socket) = self.socket.as_mut() else {
            return Err(SendError::ShuttingDown);
        };
        let len = payload.len();
        socket.send(
            Message::new(StreamId(stream), PpId(ppid), payload),
            &options,
        )?;
        self.counters.bytes_sent += len as u64;
        Ok(())
    }

    fn send_now(&mut self, h: ChannelId, ppid: u32, data: Vec<u8>) -> Result<(), DataChannelError> {
        let c = self
            .channels
            .get(&h)
            .ok_or(DataChannelError::InvalidState("no such channel"))?;
        let stream = c
            .stream
            .ok_or(DataChannelError::InvalidState("channel has no id"))?;
        // RFC 8832 §6: unordered channels send ordered until the ACK.
        let unordered = !c.ordered && !c.awaiting_ack;
        let reliability = c.reliability;
        let len = data.len() as u64;
        let r = self.sctp_send(stream, ppid, data, unordered, reliability);
        self.drain();
        match r {
            Ok(()) => {
                self.counters.messages_sent += 1;
                if let Some(c) = self.channels.get_mut(&h) {
                    c.messages_sent += 1;
                    c.bytes_sent += len;
                }
                Ok(())
            }
            Err(SendError::MessageTooLarge { len, limit }) => {
                Err(DataChannelError::TooLarge { len, limit })
            }
            Err(SendError::ResourceExhaustion) => Err(DataChannelError::BufferFull),
            Err(_) => Err(DataChannelError::InvalidState(
                "the association is shutting down",
            )),
        }
    }

    /// Sends a message (W3C `send`). Text goes as WebRTC String, binary as
    /// WebRTC Binary; empty messages use the "Empty" PPIDs with one byte
    /// (RFC 8831 §6.6). Messages sent before the channel opens are queued.
    pub(crate) fn send(
        &mut self,
        h: ChannelId,
        data: &[u8],
        is_text: bool,
    ) -> Result<(), DataChannelError> {
        self.send_message(h, Cow::Borrowed(data), is_text)
    }

    /// As [`send`](Self::send), taking the bytes: they become the message
    /// SCTP queues, where `send` copies them (ARCHITECTURE.md §5.6).
    pub(crate) fn send_owned(
        &mut self,
        h: ChannelId,
        data: Vec<u8>,
        is_text: bool,
    ) -> Result<(), DataChannelError> {
        self.send_message(h, Cow::Owned(data), is_text)
    }

    fn send_message(
        &mut self,
        h: ChannelId,
        data: Cow<'_, [u8]>,
        is_text: bool,
    ) -> Result<(), DataChannelError> {
        let c = self
            .channels
            .get_mut(&h)
            .ok_or(DataChannelError::InvalidState("no such channel"))?;
        if matches!(
            c.state,
            DataChannelState::Closing | DataChannelState::Closed
        ) {
            return Err(DataChannelError::InvalidState("the channel is not open"));
        }
        let limit = self.config.send_limit();
        if data.len() > limit {
            return Err(DataChannelError::TooLarge {
                len: data.len(),
                limit,
            });
        }
        let (ppid, payload) = match (is_text, data.is_empty()) {
            (true, false) => (ppid::STRING, data.into_owned()),
            (false, false) => (ppid::BINARY, data.into_owned()),
            // RFC 8831 §6.6: "the SCTP payload ... MUST be a single byte
            // (0x00)" for the empty PPIDs.
            (true, true) => (ppid::STRING_EMPTY, vec![0]),
            (false, true) => (ppid::BINARY_EMPTY, vec![0]),
        };
        if c.state == DataChannelState::Connecting {
            if self.pending_total + payload.len() > self.config.max_send_buffer {
                return Err(DataChannelError::BufferFull);
            }
            c.pending_bytes += payload.len();
            self.pending_total += payload.len();
            c.pending.push_back((ppid, payload));
            return Ok(());
        }
        self.send_now(h, ppid, payload)
    }

    /// Bytes queued on the channel and not yet sent (W3C `bufferedAmount`).
    pub(crate) fn buffered_amount(&self, h: ChannelId) -> usize {
        let Some(c) = self.channels.get(&h) else {
            return 0;
        };
        let in_sctp = match (c.stream, self.socket.as_ref()) {
            (Some(id), Some(s)) if c.state != DataChannelState::Connecting => {
                s.buffered_amount(StreamId(id))
            }
            _ => 0,
        };
        in_sctp + c.pending_bytes
    }

    /// Sets the W3C `bufferedAmountLowThreshold`.
    pub(crate) fn set_buffered_amount_low_threshold(&mut self, h: ChannelId, bytes: usize) {
        let Some(c) = self.channels.get_mut(&h) else {
            return;
        };
        c.buffered_amount_low_threshold = bytes;
        if let (Some(id), Some(s)) = (c.stream, self.socket.as_mut()) {
            s.set_buffered_amount_low_threshold(StreamId(id), bytes);
        }
    }

    /// The W3C `bufferedAmountLowThreshold`.
    pub(crate) fn buffered_amount_low_threshold(&self, h: ChannelId) -> usize {
        self.channels
            .get(&h)
            .map_or(0, |c| c.buffered_amount_low_threshold)
    }

    /// Closes a channel (W3C `close`): reset our outgoing stream; the peer
    /// resets its own and both see `Closing` then `Closed` (RFC 8831 §6.7).
    pub(crate) fn close_channel(&mut self, h: ChannelId) {
        let Some(c) = self.channels.get_mut(&h) else {
            return;
        };
        match c.state {
            DataChannelState::Closing | DataChannelState::Closed => return,
            DataChannelState::Connecting if c.stream.is_none() || self.socket.is_none() => {
                self.forget_channel(h);
                self.push_event(SctpEvent::Closing(h));
                self.push_event(SctpEvent::Closed(h));
                return;
            }
            _ => {}
        }
        c.state = DataChannelState::Closing;
        self.push_event(SctpEvent::Closing(h));
        self.request_reset(h);
        self.drain();
    }

    fn request_reset(&mut self, h: ChannelId) {
        let Some(c) = self.channels.get_mut(&h) else {
            return;
        };
        if c.reset_requested {
            return;
        }
        let Some(id) = c.stream else {
            return;
        };
        c.reset_requested = true;
        self.reseed();
        if let Some(s) = self.socket.as_mut() {
            if let Err(e) = s.reset_streams(&[StreamId(id)]) {
                tracing::warn!(?e, stream = id, "stream reset refused");
            }
        }
    }

    fn maybe_closed(&mut self, h: ChannelId) {
        let Some(c) = self.channels.get(&h) else {
            return;
        };
        if c.outgoing_reset && c.incoming_reset {
            self.forget_channel(h);
            self.push_event(SctpEvent::Closed(h));
        }
    }

    /// Drops a channel: frees its stream id and what it had queued.
    fn forget_channel(&mut self, h: ChannelId) {
        if let Some(c) = self.channels.remove(&h) {
            if let Some(id) = c.stream {
                self.by_stream.remove(&id);
            }
            self.pending_total -= c.pending_bytes;
        }
    }

    /// Label, protocol, stream id, ordered, state of a channel.
    pub(crate) fn channel(&self, h: ChannelId) -> Option<&Channel> {
        self.channels.get(&h).map(|c| &**c)
    }

    /// Every channel that exists, in handle order.
    pub(crate) fn channels(&self) -> impl Iterator<Item = (ChannelId, &Channel)> + '_ {
        self.channels.iter().map(|(h, c)| (*h, &**c))
    }

    /// Aborts the association (W3C `close()` on the connection).
    pub(crate) fn close(&mut self) {
        if self.state == SctpTransportState::Closed {
            return;
        }
        self.reseed();
        if let Some(s) = self.socket.as_mut() {
            // An ABORT tells the peer at once; SHUTDOWN would wait for
            // acknowledgements the closing connection will not see.
            s.close();
        }
        self.drain();
        self.set_closed();
        self.drop_closed_socket();
    }

    fn set_closed(&mut self) {
        if self.state == SctpTransportState::Closed {
            return;
        }
        self.state = SctpTransportState::Closed;
        self.connect_at = None;
        // Nothing is left to take: a remote close waited for the messages
        // before it (`after_messages`), a local one discards them, as the
        // browser's `close()` does.
        self.socket = None;
        self.deferred.clear();
        // The views of them went with the socket.
        self.lent = Vec::new();
        self.push_event(SctpEvent::State(SctpTransportState::Closed));
        let handles: Vec<ChannelId> = self.channels.keys().copied().collect();
        for h in handles {
            self.push_event(SctpEvent::Closed(h));
        }
        self.channels.clear();
        self.by_stream.clear();
        self.pending_total = 0;
    }

    /// Takes everything dcSCTP has for us.
    fn drain(&mut self) {
        loop {
            let Some(socket) = self.socket.as_mut() else {
                return;
            };
            let Some(event) = socket.poll_event() else {
                break;
            };
            match event {
                SocketEvent::SendPacket(p) => {
                    if self.transmits.len() >= MAX_QUEUED_PACKETS {
                        self.counters.dropped_queue_full += 1;
                    } else {
                        self.transmits.push_back(p);
                    }
                }
                SocketEvent::OnConnected() => {
                    self.state = SctpTransportState::Connected;
                    self.push_event(SctpEvent::State(SctpTransportState::Connected));
                    self.open_channels();
                }
                SocketEvent::OnClosed() => self.after_messages(Ending::Association),
                SocketEvent::OnAborted(kind, reason) => {
                    tracing::info!(?kind, %reason, "SCTP association aborted");
                    self.after_messages(Ending::Association);
                }
                SocketEvent::OnConnectionRestarted() => {
                    tracing::info!("SCTP association restarted by the peer");
                }
                SocketEvent::OnError(kind, reason) => {
                    tracing::debug!(?kind, %reason, "SCTP error");
                }
                SocketEvent::OnBufferedAmountLow(StreamId(id)) => {
                    if let Some(&h) = self.by_stream.get(&id) {
                        self.push_event(SctpEvent::BufferedAmountLow(h));
                    }
                }
                SocketEvent::OnStreamsResetPerformed(streams) => {
                    for StreamId(id) in streams {
                        if let Some(&h) = self.by_stream.get(&id) {
                            if let Some(c) = self.channels.get_mut(&h) {
                                c.outgoing_reset = true;
                            }
                            self.maybe_closed(h);
                        }
                    }
                }
                SocketEvent::OnStreamsResetFailed(streams) => {
                    for StreamId(id) in streams {
                        if let Some(&h) = self.by_stream.get(&id) {
                            if let Some(c) = self.channels.get_mut(&h) {
                                c.reset_requested = false;
                            }
                            self.request_reset(h);
                        }
                    }
                }
                SocketEvent::OnIncomingStreamReset(streams) => {
                    let streams = streams.into_iter().map(|StreamId(id)| id).collect();
                    self.after_messages(Ending::Streams(streams));
                }
                _ => {}
            }
        }
    }

    /// Whether dcSCTP holds reassembled messages not yet taken.
    pub(crate) fn has_ready_messages(&self) -> bool {
        self.socket
            .as_ref()
            .is_some_and(|s| s.messages_ready_count() > 0)
    }

    /// Takes one reassembled message out of dcSCTP (a DCEP message is acted
    /// on, data becomes [`SctpEvent::Message`]). Returns false when there was
    /// none.
    ///
    /// The connection calls this only while its event queue has room: what
    /// is not taken stays in dcSCTP's reassembly queue, counted against the
    /// receive window we advertise (`max_receive_buffer`), so a reliable
    /// message is never dropped after SCTP acknowledged it; the peer's
    /// sending stalls instead, on the window we advertise (RFC 9260 §6.2:
    /// a_rwnd is the buffer space left), and resumes when dcSCTP announces
    /// the window again as messages are taken (EDDY-PATCH.md item 5).
    pub(crate) fn receive_one(&mut self) -> bool {
        let Some(m) = self.socket.as_mut().and_then(|s| s.get_next_message()) else {
            self.run_deferred();
            return false;
        };
        self.on_message(m);
        self.run_deferred();
        self.drain();
        true
    }

    /// Acts on `ending` once every message dcSCTP reassembled before it has
    /// been taken: those came first, and their channel must still exist to
    /// deliver them. While the application is behind, the ending waits
    /// (bounded: at most one per stream reset the peer requests, and the
    /// peer cannot reopen a stream before we answer its reset).
    fn after_messages(&mut self, ending: Ending) {
        if self.deferred.is_empty() && !self.has_ready_messages() {
            self.end(ending);
        } else {
            self.deferred.push_back(ending);
        }
    }

    /// Acts on the endings that waited, once no message is left before them.
    fn run_deferred(&mut self) {
        while !self.has_ready_messages() {
            let Some(ending) = self.deferred.pop_front() else {
                return;
            };
            self.end(ending);
        }
    }

    fn end(&mut self, ending: Ending) {
        match ending {
            Ending::Association => self.set_closed(),
            Ending::Streams(streams) => {
                for id in streams {
                    let Some(&h) = self.by_stream.get(&id) else {
                        continue;
                    };
                    if let Some(c) = self.channels.get_mut(&h) {
                        c.incoming_reset = true;
                        if c.state != DataChannelState::Closing {
                            // RFC 8831 §6.7: "If one side decides to close
                            // the data channel, it resets the corresponding
                            // outgoing stream. When the peer sees that an
                            // incoming stream was reset, it also resets its
                            // corresponding outgoing stream."
                            c.state = DataChannelState::Closing;
                            self.push_event(SctpEvent::Closing(h));
                        }
                    }
                    self.request_reset(h);
                    self.maybe_closed(h);
                }
            }
        }
        self.drop_closed_socket();
    }

    /// A closed (or aborted) association has nothing left to do: drop the
    /// socket, which would otherwise keep its send queue (up to
    /// `max_send_buffer`, 16 MiB) and its timers for as long as the
    /// connection lives (ARCHITECTURE.md §5.3, §5.5).
    fn drop_closed_socket(&mut self) {
        if self.state == SctpTransportState::Closed {
            self.socket = None;
        }
    }

    fn on_message(&mut self, m: Message) {
        let StreamId(stream) = m.stream_id;
        let PpId(p) = m.ppid;
        self.counters.bytes_received += m.payload.len() as u64;
        if p == ppid::DCEP {
            match Dcep::parse(&m.payload) {
                Ok(Dcep::Open(open)) => self.on_open(stream, open),
                Ok(Dcep::Ack) => {
                    if let Some(c) = self
                        .by_stream
                        .get(&stream)
                        .and_then(|h| self.channels.get_mut(h))
                    {
                        c.awaiting_ack = false;
                    }
                }
                Err(e) => {
                    self.counters.dcep_errors += 1;
                    tracing::debug!(?e, stream, "bad DCEP message");
                }
            }
            return;
        }
        let message = match p {
            ppid::STRING => DataChannelMessage {
                is_text: true,
                data: m.payload,
            },
            ppid::BINARY => DataChannelMessage {
                is_text: false,
                data: m.payload,
            },
            ppid::STRING_EMPTY => DataChannelMessage {
                is_text: true,
                data: Vec::new(),
            },
            ppid::BINARY_EMPTY => DataChannelMessage {
                is_text: false,
                data: Vec::new(),
            },
            // RFC 8831 §8: the partial PPIDs are deprecated; drop them like
            // anything unknown.
            ppid::STRING_PARTIAL | ppid::BINARY_PARTIAL => {
                self.counters.dropped_ppid += 1;
                return;
            }
            _ => {
                self.counters.dropped_ppid += 1;
                return;
            }
        };
        let Some(&h) = self.by_stream.get(&stream) else {
            self.counters.dropped_unknown_stream += 1;
            return;
        };
        let Some(c) = self.channels.get_mut(&h) else {
            return;
        };
        // RFC 8832 §6: data on the stream implies the peer saw our OPEN.
        c.awaiting_ack = false;
        if matches!(c.state, DataChannelState::Open | DataChannelState::Closing) {
            self.counters.messages_received += 1;
            c.messages_received += 1;
            c.bytes_received += message.data.len() as u64;
            self.push_event(SctpEvent::Message(h, message));
        }
    }

    fn on_open(&mut self, stream: u16, open: Open) {
        // RFC 8832 §6: the peer must use the other parity; a collision or a
        // full table refuses the channel by resetting the stream.
        let ours = match self.role {
            Some(DtlsRole::Client) => stream.is_multiple_of(2),
            Some(DtlsRole::Server) => !stream.is_multiple_of(2),
            None => false,
        };
        if ours
            || self.by_stream.contains_key(&stream)
            || self.channels.len() >= self.config.max_channels
        {
            self.counters.refused_opens += 1;
            self.reseed();
            if let Some(s) = self.socket.as_mut() {
                let _ = s.reset_streams(&[StreamId(stream)]);
            }
            return;
        }
        let handle = ChannelId(self.next_handle);
        self.next_handle += 1;
        let init = DataChannelInit {
            ordered: open.ordered,
            protocol: open.protocol,
            ..DataChannelInit::default()
        };
        let mut c = Channel::new(open.label, &init, open.reliability);
        c.stream = Some(stream);
        c.state = DataChannelState::Open;
        self.channels.insert(handle, Box::new(c));
        self.by_stream.insert(stream, handle);
        // RFC 8832 §6: "the receiver ... MUST send a DATA_CHANNEL_ACK".
        if let Err(e) = self.sctp_send(
            stream,
            ppid::DCEP,
            Dcep::Ack.write(),
            false,
            Reliability::Reliable,
        ) {
            tracing::warn!(?e, "could not send DATA_CHANNEL_ACK");
        }
        self.push_event(SctpEvent::DataChannel(handle));
        self.push_event(SctpEvent::Open(handle));
    }

    /// Whether the association speaks I-DATA and zero checksums with this
    /// peer (for stats and tests).
    #[cfg(all(test, feature = "sim"))]
    pub(crate) fn negotiated_extensions(&self) -> Option<(bool, bool)> {
        let m = self.socket.as_ref()?.get_metrics()?;
        Some((m.uses_message_interleaving, m.uses_zero_checksum))
    }
}
