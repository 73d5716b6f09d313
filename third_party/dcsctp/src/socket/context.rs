// Copyright 2026 The dcSCTP Authors
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     https://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

use crate::EventSink;
use crate::api::ErrorKind;
use crate::api::Message;
use crate::api::Options;
use crate::api::SMALL_PACKET_SIZE;
use crate::api::SctpImplementation;
use crate::api::SocketEvent;
use crate::api::SocketTime;
use crate::math::round_down_to_4;
use crate::packet::chunk::Chunk;
use crate::packet::data::Data;
use crate::packet::sctp_packet::SctpPacketBuilder;
use crate::shared::Lock as _;
use crate::socket::State;
use crate::socket::transmission_control_block::CurrentResetRequest;
use crate::timer::Timer;
use crate::tx::send_queue::SendQueue;
use crate::types::Tsn;
use std::cmp::min;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) struct TxErrorCounter {
    error_counter: u32,
    limit: Option<u32>,
}

impl TxErrorCounter {
    pub fn new(limit: Option<u32>) -> Self {
        Self { error_counter: 0, limit }
    }

    pub fn increment(&mut self) {
        match self.limit {
            Some(limit) if self.error_counter <= limit => {
                self.error_counter = self.error_counter.saturating_add(1);
            }
            _ => {}
        }
    }

    pub fn reset(&mut self) {
        self.error_counter = 0;
    }

    pub fn is_exhausted(&self) -> bool {
        if let Some(limit) = self.limit { self.error_counter > limit } else { false }
    }

    pub fn value(&self) -> u32 {
        self.error_counter
    }
}

pub(crate) struct Context {
    pub options: Options,
    pub events: Arc<Mutex<dyn EventSink>>,
    pub send_queue: SendQueue,

    pub limit_forward_tsn_until: SocketTime,

    pub heartbeat_interval: Timer,
    pub heartbeat_timeout: Timer,
    pub heartbeat_counter: u32,
    pub heartbeat_sent_time: SocketTime,

    pub rx_packets_count: usize,
    pub tx_packets_count: usize,
    pub tx_messages_count: usize,
    pub peer_implementation: SctpImplementation,

    pub tx_error_counter: TxErrorCounter,

    /// Reassembled messages the application had not taken when the association closed
    /// (eddy patch: they were acknowledged to the peer, so closing must not drop them).
    pub orphaned_messages: VecDeque<Message>,

    /// DATA was refused because the reassembly queue was above its watermark (eddy patch): a
    /// SACK announcing the reopened window goes out once the application has taken enough.
    pub window_update_pending: bool,

    /// Emptied packet buffers given back by the application (eddy patch 7), at most
    /// `MAX_PACKET_BUFFERS`: packets are built in them instead of new allocations.
    pub packet_buffers: Vec<Vec<u8>>,
    /// The chunks of the packet being built, kept between packets (eddy patch 9).
    pub chunks_to_send: Vec<(Tsn, Data)>,
    /// A small buffer for control packets (eddy patch 19): an idle association's HEARTBEAT and
    /// HEARTBEAT ACK are built in it, and it comes back once sent. Empty (no capacity) when none
    /// is kept. `trim` keeps it.
    pub small_packet_buffer: Vec<u8>,
}

/// How many emptied packet buffers [`Context::packet_buffers`] keeps while data is in flight
/// (eddy patch 7): a burst (`max_burst`, 4 by default) builds that many packets before eddy
/// gives the first back. With nothing in flight it keeps one ([`Context::trim_packet_buffers`]).
/// Eddy patch 14: 16, as many as the datagrams a congestion window's worth of sends puts in
/// flight before their buffers come back: eddy's DTLS seals a packet in its buffer, which leaves
/// as the datagram and returns here once sent.
pub const MAX_PACKET_BUFFERS: usize = 16;

/// Capacity of [`Context::chunks_to_send`] kept between packets (eddy patch 9).
const MAX_KEPT_CHUNKS: usize = 8;

impl Context {
    pub fn send_buffered_packets(&mut self, state: &mut State, now: SocketTime) {
        if let Some(tcb) = &state.tcb_mut() {
            let mut packet = tcb.new_packet().with_buffer(self.take_packet_buffer());
            self.send_buffered_packets_with(state, now, &mut packet);
            let _ = self.recycle_packet_buffer(packet.into_buffer());
        }
    }

    /// An empty buffer to build a packet in: a recycled one if any (eddy patch 7).
    pub fn take_packet_buffer(&mut self) -> Vec<u8> {
        self.packet_buffers.pop().unwrap_or_default()
    }

    /// A buffer to build a control packet in (eddy patch 19): the small one kept, or a new small
    /// one, leaving the datagram-sized ones to data.
    pub fn take_small_packet_buffer(&mut self) -> Vec<u8> {
        if self.small_packet_buffer.capacity() > 0 {
            return std::mem::take(&mut self.small_packet_buffer);
        }
        Vec::with_capacity(self.small_packet_room())
    }

    /// The capacity of a small control packet buffer (eddy patch 19).
    fn small_packet_room(&self) -> usize {
        self.options.packet_headroom + SMALL_PACKET_SIZE + self.options.packet_tailroom
    }

    /// Keeps an emptied packet buffer for a later packet (eddy patch 7); returns it when there
    /// is no room for it (eddy patch 14). One that is not datagram-sized but holds a small
    /// control packet goes to the small buffer's place, if that is empty; one too small for
    /// that is returned (eddy patch 19).
    pub fn recycle_packet_buffer(&mut self, mut buffer: Vec<u8>) -> Option<Vec<u8>> {
        let small = self.small_packet_room();
        let full = self.options.packet_headroom
            + round_down_to_4!(self.options.mtu)
            + self.options.packet_tailroom;
        if buffer.capacity() < small {
            return Some(buffer);
        }
        if buffer.capacity() < full {
            if self.small_packet_buffer.capacity() > 0 {
                return Some(buffer);
            }
            buffer.clear();
            self.small_packet_buffer = buffer;
            return None;
        }
        if self.packet_buffers.len() < MAX_PACKET_BUFFERS {
            buffer.clear();
            self.packet_buffers.push(buffer);
            None
        } else {
            Some(buffer)
        }
    }

    /// With nothing in flight and nothing to send, keeps one packet buffer: the others would
    /// stay as idle heap (eddy patch 7). Keeping none costs the next packet an allocation, which
    /// with a peer that acknowledges everything at once is most packets.
    pub fn trim_packet_buffers(&mut self, state: &State) {
        let in_flight = state.tcb().is_some_and(|tcb| tcb.retransmission_queue.unacked_items() > 0);
        if !in_flight && !self.send_queue.has_data_to_send() {
            self.packet_buffers.truncate(1);
        }
    }

    /// Gives back what traffic left behind (eddy patch 12): every kept packet buffer once nothing
    /// is in flight or waiting, the kept chunk vector, and the room of empty queues.
    pub fn trim(&mut self, state: &mut State) {
        let in_flight = state.tcb().is_some_and(|tcb| tcb.retransmission_queue.unacked_items() > 0);
        if !in_flight && !self.send_queue.has_data_to_send() {
            // eddy patch 19: the buffers go, with their room; an idle heartbeat's packets are
            // built in the small buffer, which stays.
            self.packet_buffers = Vec::new();
        }
        if self.chunks_to_send.is_empty() {
            self.chunks_to_send = Vec::new();
        }
        self.send_queue.trim();
        if let Some(tcb) = state.tcb_mut() {
            tcb.retransmission_queue.trim();
            tcb.reassembly_queue.trim();
            tcb.data_tracker.trim();
        }
        self.events.borrow_mut().trim();
    }

    /// Given a builder that is either empty, or only contains control chunks, add more control
    /// chunks and data chunks to it, and send it and possibly more packets, as is allowed by the
    /// congestion window.
    pub fn send_buffered_packets_with(
        &mut self,
        state: &mut State,
        now: SocketTime,
        builder: &mut SctpPacketBuilder,
    ) {
        for packet_idx in 0..self.options.max_burst {
            if let Some(tcb) = state.tcb_mut() {
                if packet_idx == 0 {
                    // Add SACKs if it's likely that a DATA chunk would also be added.
                    let also_if_delayed = self.send_queue.has_data_to_send()
                        || tcb.retransmission_queue.can_send_data();
                    if tcb.data_tracker.should_send_ack(now, also_if_delayed) {
                        builder.add(
                            &Chunk::Sack(tcb.data_tracker.create_selective_ack(
                                tcb.reassembly_queue.remaining_bytes() as u32,
                            )),
                        );
                    }
                    if now >= self.limit_forward_tsn_until
                        && tcb.retransmission_queue.should_send_forward_tsn(now)
                    {
                        builder.add(&tcb.retransmission_queue.create_forward_tsn());
                        // From <https://datatracker.ietf.org/doc/html/rfc3758#section-3.5>:
                        //
                        //   IMPLEMENTATION NOTE: An implementation may wish to limit the number of
                        //   duplicate FORWARD TSN chunks it sends by [...] waiting a full RTT
                        //   before sending a duplicate FORWARD TSN. [...] Any delay applied to the
                        //   sending of FORWARD TSN chunk SHOULD NOT exceed 200ms and MUST NOT
                        //   exceed 500ms.
                        self.limit_forward_tsn_until =
                            now + min(Duration::from_millis(200), tcb.rto.srtt());
                    }

                    // eddy patch 4: a RE-CONFIG chunk (4 bytes) with one
                    // Outgoing SSN Reset Request parameter (16 bytes and 2
                    // per stream, RFC 6525 §4.1) must fit in what is left of
                    // the packet (the builder refuses, and debug builds
                    // panic, otherwise). Streams beyond that are reset by
                    // the next request, once this one is answered.
                    // An even count: no padding after the list.
                    let max_streams = builder.bytes_remaining().saturating_sub(4 + 16) / 4 * 2;
                    if matches!(tcb.current_reset_request, CurrentResetRequest::None)
                        && self.send_queue.has_streams_ready_to_be_reset()
                        && max_streams > 0
                    {
                        tcb.start_ssn_reset_request(
                            now,
                            self.send_queue.get_streams_ready_to_reset(max_streams),
                            builder,
                        );
                    }
                }
                // eddy patch 9: one vector for the chunks of every packet.
                let mut chunks = std::mem::take(&mut self.chunks_to_send);
                tcb.retransmission_queue.get_chunks_to_send_into(
                    now,
                    builder.bytes_remaining(),
                    |max_size, discard| {
                        for (stream_id, message_id) in discard {
                            self.send_queue.discard(*stream_id, *message_id);
                        }
                        self.send_queue.produce(now, max_size)
                    },
                    &mut chunks,
                );

                if !chunks.is_empty() {
                    // Sending data means that the path is not idle - restart heartbeat timer.
                    self.heartbeat_interval.start(now);
                }

                let set_immediate_sack_bit = tcb.retransmission_queue.cwnd()
                    < self.options.immediate_sack_under_cwnd_mtus.saturating_mul(self.options.mtu);
                for (tsn, data) in chunks.drain(..) {
                    builder.add(&tcb.make_data_chunk(tsn, data, set_immediate_sack_bit));
                }
                // Kept while small: many tiny messages in one packet may grow it, and that
                // would stay as idle heap.
                if chunks.capacity() <= MAX_KEPT_CHUNKS {
                    self.chunks_to_send = chunks;
                }
            }

            if builder.is_empty() {
                break;
            }
            let next = self.take_packet_buffer();
            self.events.borrow_mut().add(SocketEvent::SendPacket(builder.build_reusing(next)));
            self.tx_packets_count += 1;

            // From <https://datatracker.ietf.org/doc/html/rfc9260#section-5.1-2.3.2>:
            //
            //   [...] until the COOKIE ACK chunk is returned, the sender MUST NOT send any other
            //   packets to the peer.
            //
            // Let the cookie echo timeout drive sending that chunk and any data
            if matches!(state, State::CookieEchoed(_)) {
                return;
            }
        }
    }

    pub fn internal_close(&mut self, state: &mut State, error: ErrorKind, message: String) {
        if !matches!(state, State::Closed) {
            // eddy patch: keep what was reassembled (and acknowledged) but not yet taken, so
            // `get_next_message` still returns it after the association is gone.
            if let Some(tcb) = state.tcb_mut() {
                while let Some(message) = tcb.reassembly_queue.get_next_message() {
                    self.orphaned_messages.push_back(message);
                }
            }
            self.heartbeat_interval.stop();
            self.heartbeat_timeout.stop();
            if error == ErrorKind::NoError {
                self.events.borrow_mut().add(SocketEvent::OnClosed());
            } else {
                self.events.borrow_mut().add(SocketEvent::OnAborted(error, message));
            }
            *state = State::Closed;
        }
    }
}
