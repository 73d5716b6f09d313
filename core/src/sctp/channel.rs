//! Data channel types (W3C RTCDataChannel, RTCDataChannelInit).

use std::collections::VecDeque;

use thiserror::Error;

use super::dcep::Reliability;
use crate::state::DataChannelState;

/// How a data channel is set up (W3C RTCDataChannelInit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelInit {
    /// Deliver in order. Defaults to `true`.
    pub ordered: bool,
    /// Give up on a message after this many milliseconds. Defaults to none
    /// (reliable). Exclusive with `max_retransmits`.
    pub max_packet_life_time: Option<u16>,
    /// Give up on a message after this many retransmissions. Defaults to
    /// none (reliable). Exclusive with `max_packet_life_time`.
    pub max_retransmits: Option<u16>,
    /// Sub-protocol name, up to 65535 bytes. Defaults to "".
    pub protocol: String,
    /// Both sides create the channel themselves with the same `id`; no
    /// DCEP handshake. Defaults to `false`.
    pub negotiated: bool,
    /// The SCTP stream id, 0..=65534; required when `negotiated`, ignored
    /// otherwise (eddy picks one by DTLS role).
    pub id: Option<u16>,
}

impl Default for DataChannelInit {
    fn default() -> Self {
        Self {
            ordered: true,
            max_packet_life_time: None,
            max_retransmits: None,
            protocol: String::new(),
            negotiated: false,
            id: None,
        }
    }
}

/// A handle to a data channel of one connection: stable for the channel's
/// life (unlike the SCTP stream id, which a channel may not have yet and
/// which is reused after close).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChannelId(pub(crate) u64);

/// A message received on a data channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelMessage {
    /// Sent as text (W3C `send(string)`): `data` is UTF-8 as the peer wrote
    /// it.
    pub is_text: bool,
    /// The bytes (empty messages are empty).
    pub data: Vec<u8>,
}

/// Why a data channel call failed (W3C error names).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DataChannelError {
    /// W3C TypeError: an argument is invalid.
    #[error("TypeError: {0}")]
    Type(&'static str),
    /// W3C InvalidStateError: the connection or channel is closed or not
    /// open.
    #[error("InvalidStateError: {0}")]
    InvalidState(&'static str),
    /// W3C OperationError: the id is taken, or no more channels fit.
    #[error("OperationError: {0}")]
    Operation(&'static str),
    /// W3C TypeError for `send`: the message exceeds the peer's
    /// max-message-size.
    #[error("TypeError: message of {len} bytes exceeds the peer's max-message-size {limit}")]
    TooLarge {
        /// The message length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// W3C OperationError for `send`: the send buffer is full.
    #[error("OperationError: send buffer full")]
    BufferFull,
}

/// One channel's state inside the SCTP transport.
#[derive(Debug)]
pub(crate) struct Channel {
    pub(crate) label: String,
    pub(crate) protocol: String,
    pub(crate) ordered: bool,
    pub(crate) reliability: Reliability,
    pub(crate) negotiated: bool,
    /// The SCTP stream id, once known.
    pub(crate) stream: Option<u16>,
    pub(crate) state: DataChannelState,
    /// We opened it with DCEP and await the ACK: send ordered meanwhile
    /// (RFC 8832 §6).
    pub(crate) awaiting_ack: bool,
    /// Messages sent before the channel opened, and their bytes.
    pub(crate) pending: VecDeque<(u32, Vec<u8>)>,
    pub(crate) pending_bytes: usize,
    pub(crate) buffered_amount_low_threshold: usize,
    /// Stream reset progress for the closing procedure (RFC 8831 §6.7).
    pub(crate) outgoing_reset: bool,
    pub(crate) incoming_reset: bool,
    pub(crate) reset_requested: bool,
    /// W3C RTCDataChannelStats: messages and payload bytes each way.
    pub(crate) messages_sent: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) messages_received: u64,
    pub(crate) bytes_received: u64,
}

impl Channel {
    pub(crate) fn new(label: String, init: &DataChannelInit, reliability: Reliability) -> Self {
        Self {
            label,
            protocol: init.protocol.clone(),
            ordered: init.ordered,
            reliability,
            negotiated: init.negotiated,
            stream: if init.negotiated { init.id } else { None },
            state: DataChannelState::Connecting,
            awaiting_ack: false,
            pending: VecDeque::new(),
            pending_bytes: 0,
            buffered_amount_low_threshold: 0,
            outgoing_reset: false,
            incoming_reset: false,
            reset_requested: false,
            messages_sent: 0,
            bytes_sent: 0,
            messages_received: 0,
            bytes_received: 0,
        }
    }
}

/// W3C `createDataChannel` validation: the channel's reliability, or the
/// TypeError.
pub(crate) fn validate(
    label: &str,
    init: &DataChannelInit,
) -> Result<Reliability, DataChannelError> {
    // W3C createDataChannel steps: "If the UTF-8 representation of label
    // is longer than 65535 bytes, throw a TypeError", likewise protocol.
    if label.len() > 65535 {
        return Err(DataChannelError::Type("label longer than 65535 bytes"));
    }
    if init.protocol.len() > 65535 {
        return Err(DataChannelError::Type("protocol longer than 65535 bytes"));
    }
    // "If both [[MaxPacketLifeTime]] and [[MaxRetransmits]] attributes are
    // set (not null), throw a TypeError."
    let reliability = match (init.max_packet_life_time, init.max_retransmits) {
        (Some(_), Some(_)) => {
            return Err(DataChannelError::Type(
                "maxPacketLifeTime and maxRetransmits are exclusive",
            ))
        }
        (Some(ms), None) => Reliability::Timed(u32::from(ms)),
        (None, Some(n)) => Reliability::Rexmit(u32::from(n)),
        (None, None) => Reliability::Reliable,
    };
    if init.negotiated {
        // "If [[Negotiated]] is true and [[DataChannelId]] is null, throw a
        // TypeError." and "If [[DataChannelId]] is equal to 65535 ... throw
        // a TypeError."
        match init.id {
            None => return Err(DataChannelError::Type("negotiated channels need an id")),
            Some(65535) => return Err(DataChannelError::Type("id 65535 is reserved")),
            Some(_) => {}
        }
    }
    Ok(reliability)
}
