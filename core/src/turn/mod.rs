//! TURN (RFC 8656) client over UDP, sans-IO: relayed candidates for ICE.
//!
//! - `channel_data.rs`: the ChannelData codec (§12.4);
//! - `url.rs`: `turn:` / `turns:` URIs (RFC 7065);
//! - `transaction.rs`: request retransmission and give-up (RFC 8489 §6.2.1);
//! - `client.rs`: one allocation: Allocate with the long-term credential
//!   dance (401 with REALM/NONCE, 438 stale nonce), Refresh before expiry,
//!   deallocation, the receive path;
//! - `peers.rs`: permissions (CreatePermission per peer IP), channels
//!   (ChannelBind per peer), the send path (ChannelData, or Send
//!   indications before the channel is bound).
//!
//! The STUN attributes TURN uses (XOR-RELAYED-ADDRESS, XOR-PEER-ADDRESS,
//! LIFETIME, REQUESTED-TRANSPORT, CHANNEL-NUMBER, DATA, REALM, NONCE) and the
//! long-term key are part of the STUN codec (`stun/`).
//!
//! `turn/` imports nothing of `ice/` or `peer/`: the transport stack
//! (`peer/stack_turn.rs`) creates one [`TurnClient`] per TURN server and
//! local UDP socket, hands ICE the relayed candidate, wraps what ICE sends
//! from it and unwraps what the server relays.
//!
//! Not built: TURN over TCP and TLS (RFC 8656 §3.1), REQUESTED-ADDRESS-FAMILY
//! and dual allocation (RFC 8656 §7.1), DONT-FRAGMENT, EVEN-PORT and
//! RESERVATION-TOKEN, MESSAGE-INTEGRITY-SHA256 and PASSWORD-ALGORITHMS
//! negotiation (RFC 8489 §9.2: MD5 only), ALTERNATE-SERVER redirects (a 300
//! is reported as an error).
//!
//! Bounds (ARCHITECTURE.md §5.3): [`MAX_TRANSACTIONS`] outstanding requests,
//! [`MAX_PERMISSIONS`] peer IPs and [`MAX_CHANNELS`] channels per
//! allocation, [`MAX_QUEUED`] datagrams waiting for a permission,
//! [`MAX_TRANSMITS`] datagrams not yet polled, 7 transmissions per request.

// Public for the fuzz target only; the rest of the crate uses a part.
#![cfg_attr(not(fuzzing), allow(unreachable_pub, dead_code, unused_imports))]

pub mod channel_data;
mod client;
mod peers;
#[cfg(test)]
mod tests;
mod tls;
mod transaction;
pub mod url;

use std::net::SocketAddr;

pub use client::{
    TurnClient, MAX_STALE_NONCE_RETRIES, REFRESH_MARGIN, REQUESTED_LIFETIME, UNREACHABLE,
};
pub use peers::{CHANNEL_LIFETIME, PERMISSION_LIFETIME};
pub use transaction::{RC, RM, RTO};

/// The most requests outstanding per allocation; more are refused and
/// counted ([`TurnStats::requests_refused`]).
pub const MAX_TRANSACTIONS: usize = 32;
/// The most peer IPs with a permission per allocation.
pub const MAX_PERMISSIONS: usize = 64;
/// The most channels per allocation (of the 4096 numbers RFC 8656 allows);
/// peers past it use Send indications.
pub const MAX_CHANNELS: usize = 64;
/// The most datagrams waiting for their peer's permission; the oldest is
/// dropped past it.
pub const MAX_QUEUED: usize = 16;
/// The most datagrams not yet polled.
pub const MAX_TRANSMITS: usize = 256;
/// The most events not yet polled.
pub const MAX_EVENTS: usize = 8;

/// What a [`TurnClient`] tells its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnEvent {
    /// The server granted an allocation: gather `relayed` as a relay
    /// candidate (RFC 8445 §5.1.1.2) whose related address is `mapped`,
    /// the server-reflexive address the server saw (XOR-MAPPED-ADDRESS).
    Allocated {
        /// XOR-RELAYED-ADDRESS.
        relayed: SocketAddr,
        /// XOR-MAPPED-ADDRESS, when the server sent one.
        mapped: Option<SocketAddr>,
    },
    /// The allocation failed or was lost: `code` is the STUN error code, or
    /// [`UNREACHABLE`] (701) when the server never answered. The client
    /// sends nothing more and has no timers.
    Failed {
        /// The error code.
        code: u16,
        /// The reason phrase (at most 128 characters).
        reason: String,
    },
}

/// Counters of one [`TurnClient`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TurnStats {
    /// Requests sent (first transmissions).
    pub requests_sent: u64,
    /// Retransmissions.
    pub retransmits: u64,
    /// Requests not sent: too many outstanding, or not encodable.
    pub requests_refused: u64,
    /// Transactions that got no response.
    pub timeouts: u64,
    /// Responses accepted.
    pub responses: u64,
    /// 438 retries.
    pub stale_nonces: u64,
    /// Successful allocation refreshes.
    pub refreshes: u64,
    /// Datagrams from the server dropped: malformed, unauthenticated,
    /// unknown transaction or channel, data from a peer without permission.
    pub dropped: u64,
    /// Datagrams relayed from peers and handed on.
    pub data_received: u64,
    /// ChannelData messages sent.
    pub channel_data_sent: u64,
    /// Send indications sent.
    pub send_indications_sent: u64,
    /// Data not sent: no allocation, wrong family, tables full.
    pub data_dropped: u64,
    /// Datagrams dropped because nobody polled them.
    pub transmits_dropped: u64,
}
