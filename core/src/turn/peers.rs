//! Permissions (RFC 8656 §9), channels (§12) and the send path of a
//! [`TurnClient`]: data for a peer goes as ChannelData once a channel is
//! bound, as a Send indication once a permission is installed, and waits
//! (bounded) before that.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::client::{refresh_after, State, TurnClient};
use super::transaction::Purpose;
use super::{channel_data, MAX_CHANNELS, MAX_PERMISSIONS, MAX_QUEUED};
use crate::io::Protocol;
use crate::stun::{Attribute, Class, MessageWriter, Method, TransactionId};

/// RFC 8656 §9: "The Permission Lifetime MUST be 300 seconds (= 5
/// minutes)."
pub const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
/// RFC 8656 §12: "A channel binding lasts for 10 minutes unless refreshed."
pub const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);

/// A permission for one peer IP.
#[derive(Debug, Clone)]
pub(super) struct Permission {
    pub(super) ip: IpAddr,
    /// Installed (a CreatePermission succeeded) at this time.
    pub(super) installed_at: Option<Instant>,
    /// A CreatePermission is outstanding.
    pub(super) in_flight: bool,
    /// The last send to this IP: a permission in use is refreshed, an idle
    /// one lapses.
    pub(super) last_used: Instant,
}

impl Permission {
    pub(super) fn refresh_at(&self) -> Option<Instant> {
        let at = self.installed_at?;
        (!self.in_flight).then(|| at + refresh_after(PERMISSION_LIFETIME))
    }
}

/// A channel bound (or being bound) to one peer transport address.
#[derive(Debug, Clone)]
pub(super) struct Channel {
    pub(super) number: u16,
    pub(super) peer: SocketAddr,
    /// Bound (a ChannelBind succeeded) at this time.
    pub(super) bound_at: Option<Instant>,
    /// Set while bound: ChannelData goes out until then.
    pub(super) bound_until: Option<Instant>,
    pub(super) in_flight: bool,
    /// The server refused the bind: Send indications only for this peer.
    pub(super) refused: bool,
    pub(super) last_used: Instant,
}

impl Channel {
    pub(super) fn refresh_at(&self) -> Option<Instant> {
        let at = self.bound_at?;
        (!self.in_flight).then(|| at + refresh_after(CHANNEL_LIFETIME))
    }
}

impl TurnClient {
    /// Sends `data` to `peer` through the relay. Before the allocation
    /// exists, for a peer of the other address family, or past the bounds
    /// ([`MAX_PERMISSIONS`], [`MAX_QUEUED`]), the data is dropped and
    /// counted (the caller's protocols retransmit).
    pub fn send(&mut self, peer: SocketAddr, data: &[u8]) {
        let State::Allocated { relayed, .. } = self.state else {
            self.stats.data_dropped += 1;
            return;
        };
        if peer.is_ipv4() != relayed.is_ipv4() {
            self.stats.data_dropped += 1;
            return;
        }
        let now = self.now;
        let Some(p) = self.permission_index(peer.ip()) else {
            self.stats.data_dropped += 1;
            return;
        };
        self.permissions[p].last_used = now;
        let installed = self.permissions[p].installed_at.is_some();
        if installed {
            self.ensure_channel(peer);
        }
        let bound = self
            .channels
            .iter_mut()
            .find(|c| c.peer == peer)
            .and_then(|c| {
                c.last_used = now;
                c.bound_until.filter(|&u| u > now).map(|_| c.number)
            });
        match (bound, installed) {
            (Some(number), _) => {
                let stream = self.proto != Protocol::Udp;
                let mut v = vec![0u8; channel_data::framed_len(data.len(), stream)];
                if channel_data::write(number, data, stream, &mut v).is_ok() {
                    self.stats.channel_data_sent += 1;
                    self.transmit(v);
                }
            }
            (None, true) => self.send_indication(peer, data),
            (None, false) => {
                if self.queued.len() >= MAX_QUEUED {
                    self.queued.pop_front();
                    self.stats.data_dropped += 1;
                }
                self.queued.push_back((peer, data.to_vec()));
            }
        }
        self.after_input();
    }

    /// RFC 8656 §11.1: a Send indication carries XOR-PEER-ADDRESS and DATA
    /// (no integrity: indications cannot be authenticated).
    fn send_indication(&mut self, peer: SocketAddr, data: &[u8]) {
        let mut tid = [0u8; 12];
        self.rng.fill(&mut tid);
        let mut buf = vec![0u8; data.len() + 64];
        let written = (|| {
            let mut w = MessageWriter::new(
                &mut buf,
                Class::Indication,
                Method::SEND,
                TransactionId(tid),
            )?;
            w.add(&Attribute::XorPeerAddress(peer))?;
            w.add(&Attribute::Data(data))?;
            w.finish(false)
        })();
        match written {
            Ok(n) => {
                buf.truncate(n);
                self.stats.send_indications_sent += 1;
                self.transmit(buf);
            }
            Err(_) => self.stats.data_dropped += 1,
        }
    }

    /// The permission entry for `ip`, created (and requested, RFC 8656
    /// §10.1) when new; `None` when the table is full.
    fn permission_index(&mut self, ip: IpAddr) -> Option<usize> {
        if let Some(i) = self.permissions.iter().position(|p| p.ip == ip) {
            return Some(i);
        }
        if self.permissions.len() >= MAX_PERMISSIONS {
            return None;
        }
        self.permissions.push(Permission {
            ip,
            installed_at: None,
            in_flight: true,
            last_used: self.now,
        });
        self.request(Purpose::Permission(ip));
        Some(self.permissions.len() - 1)
    }

    /// Starts a ChannelBind for `peer` if it has no channel yet and one is
    /// free. RFC 8656 §12: channel numbers are 0x4000 through 0x4FFF; a
    /// number is never reused for another peer within the allocation (§12:
    /// a number stays unavailable for 5 minutes after its binding expires),
    /// so entries are kept and bounded by [`MAX_CHANNELS`].
    fn ensure_channel(&mut self, peer: SocketAddr) {
        if self.channels.iter().any(|c| c.peer == peer) || self.channels.len() >= MAX_CHANNELS {
            return;
        }
        let number = channel_data::CHANNEL_MIN + self.channels.len() as u16;
        self.channels.push(Channel {
            number,
            peer,
            bound_at: None,
            bound_until: None,
            in_flight: true,
            refused: false,
            last_used: self.now,
        });
        self.request(Purpose::Bind(number, peer));
    }

    /// Whether data from `ip` may be accepted (a permission installed or
    /// being installed).
    pub(super) fn has_permission(&self, ip: IpAddr) -> bool {
        self.permissions.iter().any(|p| p.ip == ip)
    }

    /// A CreatePermission succeeded: the data that waited goes out.
    pub(super) fn on_permission(&mut self, ip: IpAddr) {
        let now = self.now;
        let Some(p) = self.permissions.iter_mut().find(|p| p.ip == ip) else {
            return;
        };
        p.installed_at = Some(now);
        p.in_flight = false;
        let mut waiting = Vec::new();
        let mut rest = VecDeque::new();
        for (peer, data) in self.queued.drain(..) {
            if peer.ip() == ip {
                waiting.push((peer, data));
            } else {
                rest.push_back((peer, data));
            }
        }
        self.queued = rest;
        for (peer, data) in waiting {
            self.send(peer, &data);
        }
    }

    pub(super) fn permission_failed(&mut self, ip: IpAddr) {
        self.permissions.retain(|p| p.ip != ip);
        let before = self.queued.len();
        self.queued.retain(|(peer, _)| peer.ip() != ip);
        self.stats.data_dropped += (before - self.queued.len()) as u64;
    }

    /// RFC 8656 §12.3: on a ChannelBind success "the client updates its data
    /// structures to indicate that the channel binding is now active" --
    /// and the binding installed or refreshed the peer's permission too.
    pub(super) fn on_bound(&mut self, number: u16, peer: SocketAddr) {
        let now = self.now;
        if let Some(c) = self.channels.iter_mut().find(|c| c.number == number) {
            c.bound_at = Some(now);
            c.bound_until = Some(now + CHANNEL_LIFETIME);
            c.in_flight = false;
        }
        if let Some(p) = self.permissions.iter_mut().find(|p| p.ip == peer.ip()) {
            if !p.in_flight {
                p.installed_at = Some(now);
            }
        }
    }

    pub(super) fn bind_failed(&mut self, number: u16) {
        if let Some(c) = self.channels.iter_mut().find(|c| c.number == number) {
            c.in_flight = false;
            c.bound_at = None;
            c.bound_until = None;
            c.refused = true;
        }
    }

    /// Refreshes the permissions and channels in use whose time came, and
    /// lets idle ones lapse.
    pub(super) fn refresh_peers(&mut self, now: Instant) {
        let mut refresh = Vec::new();
        self.permissions.retain(|p| match p.refresh_at() {
            Some(at) if now >= at => {
                // In use since it was installed: refresh (RFC 8656 §9:
                // "the client MUST refresh it" before the 5 minutes end to
                // keep it); idle: let it lapse.
                let used = p.installed_at.is_some_and(|i| p.last_used > i);
                if used {
                    refresh.push(Purpose::Permission(p.ip));
                }
                used
            }
            _ => true,
        });
        for c in &mut self.channels {
            match c.refresh_at() {
                Some(at) if now >= at => {
                    let used = c.bound_at.is_some_and(|b| c.last_used > b);
                    if used && !c.refused {
                        refresh.push(Purpose::Bind(c.number, c.peer));
                    } else {
                        // Lapses; the number stays this peer's.
                        c.bound_at = None;
                        c.bound_until = None;
                    }
                }
                _ => {}
            }
        }
        for purpose in refresh {
            match purpose {
                Purpose::Permission(ip) => {
                    if let Some(p) = self.permissions.iter_mut().find(|p| p.ip == ip) {
                        p.in_flight = true;
                    }
                }
                Purpose::Bind(number, _) => {
                    if let Some(c) = self.channels.iter_mut().find(|c| c.number == number) {
                        c.in_flight = true;
                    }
                }
                _ => {}
            }
            self.request(purpose);
        }
    }
}
