//! The Data Channel Establishment Protocol codec (RFC 8832) and the data
//! channel payload protocol identifiers (RFC 8831 §8).

/// SCTP payload protocol identifiers (RFC 8831 §8, IANA).
pub(crate) mod ppid {
    /// WebRTC DCEP.
    pub(crate) const DCEP: u32 = 50;
    /// WebRTC String.
    pub(crate) const STRING: u32 = 51;
    /// WebRTC Binary Partial (deprecated).
    pub(crate) const BINARY_PARTIAL: u32 = 52;
    /// WebRTC Binary.
    pub(crate) const BINARY: u32 = 53;
    /// WebRTC String Partial (deprecated).
    pub(crate) const STRING_PARTIAL: u32 = 54;
    /// WebRTC String Empty.
    pub(crate) const STRING_EMPTY: u32 = 56;
    /// WebRTC Binary Empty.
    pub(crate) const BINARY_EMPTY: u32 = 57;
}

/// RFC 8832 §8.2.1: message types.
const DATA_CHANNEL_ACK: u8 = 0x02;
const DATA_CHANNEL_OPEN: u8 = 0x03;

/// How a channel delivers (RFC 8832 §5.1 "Channel Type").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reliability {
    /// Reliable.
    Reliable,
    /// At most this many retransmissions.
    Rexmit(u32),
    /// Give up after this many milliseconds.
    Timed(u32),
}

/// A DATA_CHANNEL_OPEN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Open {
    pub(crate) ordered: bool,
    pub(crate) reliability: Reliability,
    pub(crate) priority: u16,
    pub(crate) label: String,
    pub(crate) protocol: String,
}

/// A DCEP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Dcep {
    Open(Open),
    Ack,
}

/// Why a DCEP message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DcepError {
    Truncated,
    UnknownType(u8),
    UnknownChannelType(u8),
    NotUtf8,
}

impl Dcep {
    /// Parses a DCEP message.
    pub(crate) fn parse(b: &[u8]) -> Result<Self, DcepError> {
        match b.first() {
            None => Err(DcepError::Truncated),
            Some(&DATA_CHANNEL_ACK) => Ok(Self::Ack),
            Some(&DATA_CHANNEL_OPEN) => {
                // RFC 8832 §5.1: a 12-byte header, then label and protocol.
                let h = b.get(..12).ok_or(DcepError::Truncated)?;
                let channel_type = h[1];
                let priority = u16::from_be_bytes([h[2], h[3]]);
                let param = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
                let label_len = usize::from(u16::from_be_bytes([h[8], h[9]]));
                let proto_len = usize::from(u16::from_be_bytes([h[10], h[11]]));
                let label = b.get(12..12 + label_len).ok_or(DcepError::Truncated)?;
                let proto = b
                    .get(12 + label_len..12 + label_len + proto_len)
                    .ok_or(DcepError::Truncated)?;
                let ordered = channel_type & 0x80 == 0;
                let reliability = match channel_type & 0x7f {
                    0x00 => Reliability::Reliable,
                    0x01 => Reliability::Rexmit(param),
                    0x02 => Reliability::Timed(param),
                    _ => return Err(DcepError::UnknownChannelType(channel_type)),
                };
                Ok(Self::Open(Open {
                    ordered,
                    reliability,
                    priority,
                    label: String::from_utf8(label.to_vec()).map_err(|_| DcepError::NotUtf8)?,
                    protocol: String::from_utf8(proto.to_vec()).map_err(|_| DcepError::NotUtf8)?,
                }))
            }
            Some(&t) => Err(DcepError::UnknownType(t)),
        }
    }

    /// Writes the message. Label and protocol are cut to 65535 bytes (the
    /// API refuses longer ones before this point).
    pub(crate) fn write(&self) -> Vec<u8> {
        match self {
            Self::Ack => vec![DATA_CHANNEL_ACK],
            Self::Open(o) => {
                let (kind, param) = match o.reliability {
                    Reliability::Reliable => (0x00, 0),
                    Reliability::Rexmit(n) => (0x01, n),
                    Reliability::Timed(ms) => (0x02, ms),
                };
                let channel_type = if o.ordered { kind } else { kind | 0x80 };
                let label = &o.label.as_bytes()[..o.label.len().min(65535)];
                let proto = &o.protocol.as_bytes()[..o.protocol.len().min(65535)];
                let mut b = Vec::with_capacity(12 + label.len() + proto.len());
                b.push(DATA_CHANNEL_OPEN);
                b.push(channel_type);
                b.extend_from_slice(&o.priority.to_be_bytes());
                b.extend_from_slice(&param.to_be_bytes());
                b.extend_from_slice(&(label.len() as u16).to_be_bytes());
                b.extend_from_slice(&(proto.len() as u16).to_be_bytes());
                b.extend_from_slice(label);
                b.extend_from_slice(proto);
                b
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_8832_open_layout() {
        let open = Dcep::Open(Open {
            ordered: false,
            reliability: Reliability::Rexmit(3),
            priority: 256,
            label: "chat".into(),
            protocol: "x".into(),
        });
        let b = open.write();
        assert_eq!(
            b,
            [3, 0x81, 1, 0, 0, 0, 0, 3, 0, 4, 0, 1, b'c', b'h', b'a', b't', b'x']
        );
        assert_eq!(Dcep::parse(&b), Ok(open));
        assert_eq!(Dcep::parse(&[2]), Ok(Dcep::Ack));
        for cut in 0..b.len() {
            assert!(Dcep::parse(&b[..cut]).is_err());
        }
        assert_eq!(Dcep::parse(&[9]), Err(DcepError::UnknownType(9)));
        let mut bad = b.clone();
        bad[1] = 0x05;
        assert_eq!(Dcep::parse(&bad), Err(DcepError::UnknownChannelType(5)));
    }

    proptest! {
        #![proptest_config(crate::testutil::proptest_config!("dcep"))]
        #[test]
        fn open_round_trips(ordered: bool, kind in 0u8..3, param: u32, priority: u16,
                            label in ".{0,40}", protocol in ".{0,40}") {
            let reliability = match kind {
                0 => Reliability::Reliable,
                1 => Reliability::Rexmit(param),
                _ => Reliability::Timed(param),
            };
            let open = Dcep::Open(Open { ordered, reliability, priority, label, protocol });
            prop_assert_eq!(Dcep::parse(&open.write()), Ok(open));
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Dcep::parse(&bytes);
        }
    }
}
