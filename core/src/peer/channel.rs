//! Data channels on a `PeerConnection` (W3C RTCDataChannel, RTCSctpTransport).

use super::PeerConnection;
use crate::sctp::{
    ChannelId, DataChannelError, DataChannelInit, DataChannelState, Reliability, SctpTransportState,
};

/// A data channel, borrowed from its connection (W3C RTCDataChannel).
#[derive(Debug)]
pub struct DataChannel<'a> {
    pc: &'a mut PeerConnection,
    id: ChannelId,
}

impl PeerConnection {
    /// Creates a data channel (W3C `createDataChannel`). The first one adds
    /// an `application` m-line to the next offer (and fires
    /// `NegotiationNeeded`). Messages sent before it opens are queued.
    pub fn create_data_channel(
        &mut self,
        label: &str,
        init: &DataChannelInit,
    ) -> Result<ChannelId, DataChannelError> {
        if self.check_open().is_err() {
            return Err(DataChannelError::InvalidState("the connection is closed"));
        }
        let id = self.stack.sctp.create_data_channel(label, init)?;
        if self.ensure_data_m_line().is_err() {
            return Err(DataChannelError::InvalidState("the connection is closed"));
        }
        self.pump_layers();
        Ok(id)
    }

    /// A data channel of this connection, while it exists.
    pub fn data_channel(&mut self, id: ChannelId) -> Option<DataChannel<'_>> {
        self.stack.sctp.channel(id)?;
        Some(DataChannel { pc: self, id })
    }

    /// The SCTP transport's state (W3C `sctp.state`); `None` until data
    /// channels are negotiated.
    pub fn sctp_state(&self) -> Option<SctpTransportState> {
        self.negotiated_transport()
            .remote_sctp_port
            .map(|_| self.stack.sctp.state())
    }

    /// The largest message the peer accepts (W3C `sctp.maxMessageSize`).
    pub fn sctp_max_message_size(&self) -> usize {
        self.stack.sctp.max_message_size()
    }

    /// How many channels may be open at once (W3C `sctp.maxChannels`).
    pub fn sctp_max_channels(&self) -> usize {
        self.stack.sctp.max_channels()
    }
}

impl DataChannel<'_> {
    /// The connection-wide handle.
    pub fn handle(&self) -> ChannelId {
        self.id
    }

    /// W3C `label`.
    pub fn label(&self) -> &str {
        self.pc
            .stack
            .sctp
            .channel(self.id)
            .map_or("", |c| c.label.as_str())
    }

    /// W3C `protocol`.
    pub fn protocol(&self) -> &str {
        self.pc
            .stack
            .sctp
            .channel(self.id)
            .map_or("", |c| c.protocol.as_str())
    }

    /// W3C `id`: the SCTP stream id, once known.
    pub fn id(&self) -> Option<u16> {
        self.pc.stack.sctp.channel(self.id).and_then(|c| c.stream)
    }

    /// W3C `ordered`.
    pub fn ordered(&self) -> bool {
        self.pc
            .stack
            .sctp
            .channel(self.id)
            .is_some_and(|c| c.ordered)
    }

    /// W3C `maxPacketLifeTime`, in milliseconds.
    pub fn max_packet_life_time(&self) -> Option<u32> {
        match self.pc.stack.sctp.channel(self.id)?.reliability {
            Reliability::Timed(ms) => Some(ms),
            _ => None,
        }
    }

    /// W3C `maxRetransmits`.
    pub fn max_retransmits(&self) -> Option<u32> {
        match self.pc.stack.sctp.channel(self.id)?.reliability {
            Reliability::Rexmit(n) => Some(n),
            _ => None,
        }
    }

    /// W3C `negotiated`.
    pub fn negotiated(&self) -> bool {
        self.pc
            .stack
            .sctp
            .channel(self.id)
            .is_some_and(|c| c.negotiated)
    }

    /// W3C `readyState`.
    pub fn ready_state(&self) -> DataChannelState {
        self.pc
            .stack
            .sctp
            .channel(self.id)
            .map_or(DataChannelState::Closed, |c| c.state)
    }

    /// W3C `send(ArrayBuffer)`: a binary message.
    pub fn send(&mut self, data: &[u8]) -> Result<(), DataChannelError> {
        let r = self.pc.stack.sctp.send(self.id, data, false);
        self.pc.pump_layers();
        r
    }

    /// W3C `send(string)`: a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), DataChannelError> {
        let r = self.pc.stack.sctp.send(self.id, text.as_bytes(), true);
        self.pc.pump_layers();
        r
    }

    /// As [`send`](Self::send), taking the message: its buffer becomes the
    /// message SCTP queues, where `send` copies the bytes into one
    /// (ARCHITECTURE.md §5.6). Sent, the bytes are copied once more, into
    /// their packets, and sealed there.
    pub fn send_owned(&mut self, data: Vec<u8>) -> Result<(), DataChannelError> {
        let r = self.pc.stack.sctp.send_owned(self.id, data, false);
        self.pc.pump_layers();
        r
    }

    /// As [`send_text`](Self::send_text), taking the text (no copy into
    /// SCTP's queue, as [`send_owned`](Self::send_owned)).
    pub fn send_text_owned(&mut self, text: String) -> Result<(), DataChannelError> {
        let r = self
            .pc
            .stack
            .sctp
            .send_owned(self.id, text.into_bytes(), true);
        self.pc.pump_layers();
        r
    }

    /// W3C `bufferedAmount`.
    pub fn buffered_amount(&self) -> usize {
        self.pc.stack.sctp.buffered_amount(self.id)
    }

    /// W3C `bufferedAmountLowThreshold`.
    pub fn buffered_amount_low_threshold(&self) -> usize {
        self.pc.stack.sctp.buffered_amount_low_threshold(self.id)
    }

    /// Sets W3C `bufferedAmountLowThreshold`; `ChannelBufferedAmountLow`
    /// fires when the amount falls to it.
    pub fn set_buffered_amount_low_threshold(&mut self, bytes: usize) {
        self.pc
            .stack
            .sctp
            .set_buffered_amount_low_threshold(self.id, bytes);
    }

    /// W3C `close()`: the stream is reset; `ChannelClosing` then
    /// `ChannelClose` follow on both sides.
    pub fn close(&mut self) {
        self.pc.stack.sctp.close_channel(self.id);
        self.pc.pump_layers();
    }
}
