//! RFC 4571 framing for ICE-TCP (RFC 6544 §3): every packet on a TCP
//! connection is preceded by its 16-bit length; the runtime hands us chunks
//! of the stream, we reassemble frames per connection.

use std::net::SocketAddr;

/// RFC 4571 §2: "LENGTH ... 16-bit unsigned integer ... in octets": the
/// largest frame.
pub(crate) const MAX_FRAME: usize = u16::MAX as usize;

/// The most TCP connections reassembled at once. A new connection beyond it
/// evicts the least recently used one (its partial frame is lost, counted).
pub(crate) const MAX_CONNECTIONS: usize = 16;

/// Prefixes `payload` with its RFC 4571 length; `None` if it is longer than
/// a frame can be.
pub(crate) fn frame(payload: &[u8]) -> Option<Vec<u8>> {
    if payload.len() > MAX_FRAME {
        return None;
    }
    let len = u16::try_from(payload.len()).ok()?;
    let mut out = Vec::with_capacity(payload.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Some(out)
}

#[derive(Debug)]
struct Connection {
    local: SocketAddr,
    remote: SocketAddr,
    /// Bytes of an incomplete frame: at most 2 + [`MAX_FRAME`].
    pending: Vec<u8>,
    last_used: u64,
}

/// Per-connection reassembly, bounded by [`MAX_CONNECTIONS`] connections of
/// at most one partial frame each (2 + 65535 bytes).
#[derive(Debug, Default)]
pub(crate) struct Reassembler {
    conns: Vec<Connection>,
    clock: u64,
    /// Connections evicted with a partial frame.
    pub(crate) evicted: u64,
}

impl Reassembler {
    /// Feeds a chunk of the stream from `remote` to `local`; calls `deliver`
    /// for every complete frame.
    pub(crate) fn push(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        mut chunk: &[u8],
        mut deliver: impl FnMut(&[u8]),
    ) {
        self.clock += 1;
        let clock = self.clock;
        let idx = match self
            .conns
            .iter()
            .position(|c| c.local == local && c.remote == remote)
        {
            Some(i) => i,
            None => {
                if self.conns.len() >= MAX_CONNECTIONS {
                    if let Some((oldest, _)) = self
                        .conns
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, c)| c.last_used)
                    {
                        if !self.conns[oldest].pending.is_empty() {
                            self.evicted += 1;
                        }
                        self.conns.swap_remove(oldest);
                    }
                }
                self.conns.push(Connection {
                    local,
                    remote,
                    pending: Vec::new(),
                    last_used: clock,
                });
                self.conns.len() - 1
            }
        };
        let Some(conn) = self.conns.get_mut(idx) else {
            return;
        };
        conn.last_used = clock;
        // Complete a partial frame first.
        while !conn.pending.is_empty() && !chunk.is_empty() {
            let need = if conn.pending.len() < 2 {
                2 - conn.pending.len()
            } else {
                let len = usize::from(u16::from_be_bytes([conn.pending[0], conn.pending[1]]));
                2 + len - conn.pending.len()
            };
            let take = need.min(chunk.len());
            conn.pending.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if conn.pending.len() >= 2 {
                let len = usize::from(u16::from_be_bytes([conn.pending[0], conn.pending[1]]));
                if conn.pending.len() == 2 + len {
                    deliver(&conn.pending[2..]);
                    conn.pending.clear();
                }
            }
        }
        // Whole frames straight from the chunk, without copying.
        while let Some((head, rest)) = chunk.split_first_chunk::<2>() {
            let len = usize::from(u16::from_be_bytes(*head));
            match rest.get(..len) {
                Some(frame) => {
                    deliver(frame);
                    chunk = &rest[len..];
                }
                None => break,
            }
        }
        // Keep the tail (less than a frame: bounded by 2 + MAX_FRAME).
        conn.pending.extend_from_slice(chunk);
    }

    /// Connections tracked.
    #[cfg(test)]
    pub(crate) fn connections(&self) -> usize {
        self.conns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn frames_split_anywhere_are_reassembled() {
        let mut stream = Vec::new();
        let payloads: Vec<Vec<u8>> = (0..5).map(|i| vec![i as u8; 10 + i * 7]).collect();
        for p in &payloads {
            stream.extend_from_slice(&frame(p).unwrap());
        }
        for chunk_size in 1..stream.len() {
            let mut r = Reassembler::default();
            let mut got = Vec::new();
            for chunk in stream.chunks(chunk_size) {
                r.push(addr("1.1.1.1:1"), addr("2.2.2.2:2"), chunk, |f| {
                    got.push(f.to_vec())
                });
            }
            assert_eq!(got, payloads, "chunk size {chunk_size}");
        }
    }

    #[test]
    fn connections_are_separate_and_bounded() {
        let mut r = Reassembler::default();
        let mut got = Vec::new();
        let f = frame(b"hello").unwrap();
        r.push(addr("1.1.1.1:1"), addr("2.2.2.2:2"), &f[..3], |x| {
            got.push(x.to_vec())
        });
        r.push(addr("1.1.1.1:1"), addr("3.3.3.3:3"), &f[..4], |x| {
            got.push(x.to_vec())
        });
        r.push(addr("1.1.1.1:1"), addr("2.2.2.2:2"), &f[3..], |x| {
            got.push(x.to_vec())
        });
        assert_eq!(got, vec![b"hello".to_vec()]);
        for port in 10..10 + MAX_CONNECTIONS as u16 * 2 {
            r.push(
                addr("1.1.1.1:1"),
                SocketAddr::from(([9, 9, 9, 9], port)),
                &f[..1],
                |_| {},
            );
        }
        assert_eq!(r.connections(), MAX_CONNECTIONS);
        assert!(r.evicted >= MAX_CONNECTIONS as u64);
        assert!(frame(&vec![0; MAX_FRAME + 1]).is_none());
    }
}
