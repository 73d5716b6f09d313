//! The record of every datagram: a trace in memory and a pcap writer.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::NodeId;
use crate::io::Protocol;

/// What became of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fate {
    /// Delivered to this node.
    Delivered(NodeId),
    /// Lost on a link (random or burst loss).
    Lost,
    /// Tail-dropped: a link's queue was full.
    QueueFull,
    /// Larger than a link's MTU.
    TooBig,
    /// No node or NAT has the destination address.
    NoRoute,
    /// A NAT had no mapping for the destination port.
    NoMapping,
    /// A NAT's filter refused the sender (RFC 4787 §5).
    Filtered,
}

/// One line of the trace: a datagram and its fate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceEntry {
    /// Sequence number of the datagram in the run (duplicates share it).
    pub id: u64,
    /// When it was sent, since the start of the run.
    pub sent: Duration,
    /// When its fate was sealed (delivery or drop), since the start.
    pub at: Duration,
    /// Transport.
    pub proto: Protocol,
    /// Source as the sender wrote it.
    pub from: SocketAddr,
    /// Destination as the sender wrote it.
    pub to: SocketAddr,
    /// Payload bytes.
    pub size: usize,
    /// What happened.
    pub fate: Fate,
}

/// The trace of a run: entries (up to a limit) and a digest of all of them,
/// contents included, so long runs compare cheaply.
#[derive(Debug)]
pub(crate) struct Trace {
    pub(crate) entries: Vec<TraceEntry>,
    pub(crate) limit: usize,
    pub(crate) overflow: u64,
    pub(crate) digest: u64,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

impl Trace {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            entries: Vec::new(),
            limit,
            overflow: 0,
            digest: FNV_OFFSET,
        }
    }

    pub(crate) fn record(&mut self, entry: TraceEntry, contents: &[u8]) {
        let mut h = self.digest;
        h = fnv(h, &entry.id.to_le_bytes());
        h = fnv(h, &(entry.sent.as_nanos() as u64).to_le_bytes());
        h = fnv(h, &(entry.at.as_nanos() as u64).to_le_bytes());
        h = fnv(h, &[entry.proto as u8]);
        for addr in [entry.from, entry.to] {
            h = match addr.ip() {
                IpAddr::V4(ip) => fnv(h, &ip.octets()),
                IpAddr::V6(ip) => fnv(h, &ip.octets()),
            };
            h = fnv(h, &addr.port().to_be_bytes());
        }
        let (fate, node) = match entry.fate {
            Fate::Delivered(n) => (0u8, n.0 as u64),
            Fate::Lost => (1, 0),
            Fate::QueueFull => (2, 0),
            Fate::TooBig => (3, 0),
            Fate::NoRoute => (4, 0),
            Fate::NoMapping => (5, 0),
            Fate::Filtered => (6, 0),
        };
        h = fnv(h, &[fate]);
        h = fnv(h, &node.to_le_bytes());
        h = fnv(h, contents);
        self.digest = h;
        if self.entries.len() < self.limit {
            self.entries.push(entry);
        } else {
            self.overflow += 1;
        }
    }
}

/// Writes datagrams as a pcap file (LINKTYPE_RAW: synthetic IPv4/IPv6 and
/// UDP headers), so a run opens in Wireshark. TCP-carried chunks are written
/// as UDP too; their RFC 4571 framing is left in the payload.
pub struct PcapWriter {
    out: Box<dyn Write + Send>,
    failed: bool,
}

impl std::fmt::Debug for PcapWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapWriter")
            .field("failed", &self.failed)
            .finish()
    }
}

const LINKTYPE_RAW: u32 = 101;

impl PcapWriter {
    /// A writer into `out`; writes the pcap file header at once.
    pub fn new(out: Box<dyn Write + Send>) -> std::io::Result<Self> {
        let mut w = Self { out, failed: false };
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        header.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        header.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
        header.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
        w.out.write_all(&header)?;
        Ok(w)
    }

    /// True once a write failed; nothing more is written after that.
    pub fn failed(&self) -> bool {
        self.failed
    }

    pub(crate) fn write(&mut self, at: Duration, from: SocketAddr, to: SocketAddr, payload: &[u8]) {
        if self.failed {
            return;
        }
        let packet = ip_udp_packet(from, to, payload);
        let Ok(len) = u32::try_from(packet.len()) else {
            return;
        };
        let mut rec = Vec::with_capacity(16 + packet.len());
        rec.extend_from_slice(&(at.as_secs() as u32).to_le_bytes());
        rec.extend_from_slice(&at.subsec_micros().to_le_bytes());
        rec.extend_from_slice(&len.to_le_bytes());
        rec.extend_from_slice(&len.to_le_bytes());
        rec.extend_from_slice(&packet);
        if self.out.write_all(&rec).is_err() {
            self.failed = true;
        }
    }
}

fn checksum_add(mut sum: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn checksum_fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A raw IP packet carrying `payload` in UDP from `from` to `to`.
fn ip_udp_packet(from: SocketAddr, to: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let udp_len = (8 + payload.len()).min(u16::MAX as usize) as u16;
    let mut udp = Vec::with_capacity(8 + payload.len());
    udp.extend_from_slice(&from.port().to_be_bytes());
    udp.extend_from_slice(&to.port().to_be_bytes());
    udp.extend_from_slice(&udp_len.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    match (from.ip(), to.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            // RFC 768: a zero UDP checksum means "none" over IPv4.
            let total = (20 + udp.len()).min(u16::MAX as usize) as u16;
            let mut ip = vec![0x45, 0];
            ip.extend_from_slice(&total.to_be_bytes());
            ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
            ip.extend_from_slice(&s.octets());
            ip.extend_from_slice(&d.octets());
            let sum = checksum_fold(checksum_add(0, &ip));
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            ip.extend_from_slice(&udp);
            ip
        }
        (s, d) => {
            let s = match s {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            let d = match d {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            // RFC 8200 §8.1: the UDP checksum is mandatory over IPv6.
            let mut sum = checksum_add(0, &s.octets());
            sum = checksum_add(sum, &d.octets());
            sum += u32::from(udp_len) + 17;
            sum = checksum_add(sum, &udp);
            let mut c = checksum_fold(sum);
            if c == 0 {
                c = 0xffff;
            }
            udp[6..8].copy_from_slice(&c.to_be_bytes());
            let mut ip = vec![0x60, 0, 0, 0];
            ip.extend_from_slice(&udp_len.to_be_bytes());
            ip.extend_from_slice(&[17, 64]);
            ip.extend_from_slice(&s.octets());
            ip.extend_from_slice(&d.octets());
            ip.extend_from_slice(&udp);
            ip
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_checksum_verifies() {
        let p = ip_udp_packet(
            "10.0.0.1:1000".parse().unwrap(),
            "10.0.0.2:2000".parse().unwrap(),
            b"hello",
        );
        assert_eq!(p.len(), 20 + 8 + 5);
        assert_eq!(checksum_fold(checksum_add(0, &p[..20])), 0);
        assert_eq!(&p[28..], b"hello");
    }

    #[test]
    fn ipv6_udp_checksum_verifies() {
        let from: SocketAddr = "[::1]:1000".parse().unwrap();
        let to: SocketAddr = "[::2]:2000".parse().unwrap();
        let p = ip_udp_packet(from, to, b"abc");
        let udp = &p[40..];
        let mut sum = checksum_add(0, &p[8..40]);
        sum += u32::from(udp.len() as u16) + 17;
        sum = checksum_add(sum, udp);
        assert_eq!(checksum_fold(sum), 0);
    }
}
