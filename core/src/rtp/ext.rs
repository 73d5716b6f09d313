//! RTP header extension blocks (RFC 8285): the one-byte (`0xBEDE`) and
//! two-byte (`0x100X`) forms, as (id, bytes) elements.
//!
//! Which id means which extension is negotiated in SDP (`a=extmap`) and is
//! the caller's mapping; [`super::hdrext`] reads and writes the values.

use super::{ParseError, Reader, WriteError, Writer};

/// RFC 8285 §4.2: "the 16-bit value required by the RTP specification for
/// a header extension, labeled in the RTP specification as 'defined by
/// profile', MUST have the fixed bit pattern 0xBEDE".
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;

/// RFC 8285 §4.3: "the 16-bit value ... MUST have the bit pattern
/// 0x100 followed by 4 bits" (the low four are application bits).
pub const TWO_BYTE_PROFILE: u16 = 0x1000;

/// The largest element the one-byte form carries (a 4-bit length minus one).
pub const ONE_BYTE_MAX_LEN: usize = 16;

/// The largest id the one-byte form carries (15 is reserved).
pub const ONE_BYTE_MAX_ID: u8 = 14;

/// The two RFC 8285 forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionForm {
    /// One-byte element headers: ids 1..=14, 1..=16 bytes each.
    OneByte,
    /// Two-byte element headers: ids 1..=255, 0..=255 bytes each.
    TwoByte,
}

impl ExtensionForm {
    /// The form a header extension's profile field names, if RFC 8285's.
    pub fn from_profile(profile: u16) -> Option<Self> {
        if profile == ONE_BYTE_PROFILE {
            Some(Self::OneByte)
        } else if profile & 0xFFF0 == TWO_BYTE_PROFILE {
            Some(Self::TwoByte)
        } else {
            None
        }
    }
}

/// A validated RTP header extension block: its profile field and data
/// (without the 4-byte profile/length word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extensions<'a> {
    profile: u16,
    data: &'a [u8],
}

impl<'a> Extensions<'a> {
    /// Checks every element of an extension block with this profile. A
    /// profile other than RFC 8285's is kept as opaque bytes.
    pub(crate) fn parse(profile: u16, data: &'a [u8]) -> Result<Self, ParseError> {
        if let Some(form) = ExtensionForm::from_profile(profile) {
            let mut rest = data;
            while next_element(form, &mut rest)?.is_some() {}
        }
        Ok(Self { profile, data })
    }

    /// The 16-bit "defined by profile" field.
    pub fn profile(&self) -> u16 {
        self.profile
    }

    /// The RFC 8285 form, or `None` for another profile's opaque block.
    pub fn form(&self) -> Option<ExtensionForm> {
        ExtensionForm::from_profile(self.profile)
    }

    /// The block's bytes after the profile/length word.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The (id, value) elements in order; empty for a non-RFC 8285 profile.
    pub fn iter(&self) -> ExtensionIter<'a> {
        ExtensionIter {
            form: self.form(),
            rest: self.data,
        }
    }

    /// The value of the first element with this id.
    pub fn get(&self, id: u8) -> Option<&'a [u8]> {
        self.iter().find(|&(i, _)| i == id).map(|(_, v)| v)
    }
}

/// Iterator over a validated block's (id, value) elements.
#[derive(Debug, Clone)]
pub struct ExtensionIter<'a> {
    form: Option<ExtensionForm>,
    rest: &'a [u8],
}

impl<'a> Iterator for ExtensionIter<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        // The block was validated when parsed: an error cannot happen here.
        next_element(self.form?, &mut self.rest).ok().flatten()
    }
}

/// Reads the next element, skipping padding; `None` at the end.
fn next_element<'a>(
    form: ExtensionForm,
    rest: &mut &'a [u8],
) -> Result<Option<(u8, &'a [u8])>, ParseError> {
    loop {
        let mut r = Reader::new(rest);
        let Ok(first) = r.u8() else {
            return Ok(None);
        };
        // RFC 8285 §4.1: "In both forms, padding bytes have the value of 0
        // (zero) ... When a padding byte is found, it is ignored, and the
        // parser moves on to interpreting the next byte."
        if first == 0 {
            *rest = r.rest();
            continue;
        }
        let (id, len) = match form {
            ExtensionForm::OneByte => {
                let id = first >> 4;
                // RFC 8285 §4.2: "If the ID value 15 is encountered, its
                // length field should be ignored, processing of the entire
                // extension should terminate at that point, and only the
                // extension elements present prior to the element with ID
                // 15 should be considered."
                if id == 15 {
                    *rest = &[];
                    return Ok(None);
                }
                // An id of 0 with a nonzero length is not a padding byte;
                // RFC 8285 §4.2 reserves id 0 "for padding" and it "MUST NOT
                // be used as a local identifier".
                if id == 0 {
                    return Err(ParseError::Malformed("one-byte extension id 0"));
                }
                // RFC 8285 §4.2: "The 4-bit length is the number, minus
                // one, of data bytes of this header extension element".
                (id, usize::from(first & 0x0F) + 1)
            }
            ExtensionForm::TwoByte => (first, usize::from(r.u8().map_err(overrun)?)),
        };
        let value = r.take(len).map_err(overrun)?;
        *rest = r.rest();
        return Ok(Some((id, value)));
    }
}

fn overrun(_: ParseError) -> ParseError {
    ParseError::Malformed("header extension element overruns its block")
}

/// The smallest form that carries all these elements: one-byte when every
/// id is 1..=14 and every value 1..=16 bytes, otherwise two-byte.
pub fn choose_form(elements: &[(u8, &[u8])]) -> ExtensionForm {
    let fits_one = elements.iter().all(|&(id, v)| {
        (1..=ONE_BYTE_MAX_ID).contains(&id) && (1..=ONE_BYTE_MAX_LEN).contains(&v.len())
    });
    if fits_one {
        ExtensionForm::OneByte
    } else {
        ExtensionForm::TwoByte
    }
}

/// Writes a header extension block (profile, length in words, elements,
/// zero padding to a 32-bit boundary) choosing the form with
/// [`choose_form`]; returns the bytes written. Ids must be 1..=255 and
/// values at most 255 bytes.
pub fn write_extensions(elements: &[(u8, &[u8])], buf: &mut [u8]) -> Result<usize, WriteError> {
    let mut w = Writer::new(buf);
    write_block(elements, &mut w)?;
    Ok(w.pos())
}

pub(crate) fn write_block(elements: &[(u8, &[u8])], w: &mut Writer<'_>) -> Result<(), WriteError> {
    let form = choose_form(elements);
    let start = w.pos();
    w.u16(match form {
        ExtensionForm::OneByte => ONE_BYTE_PROFILE,
        ExtensionForm::TwoByte => TWO_BYTE_PROFILE,
    })?;
    w.u16(0)?;
    for &(id, value) in elements {
        if id == 0 {
            return Err(WriteError::Invalid("extension id 0 is padding"));
        }
        match form {
            ExtensionForm::OneByte => {
                // `choose_form` checked 1..=16: the subtraction cannot wrap.
                let len = u8::try_from(value.len() - 1)
                    .map_err(|_| WriteError::Invalid("extension length"))?;
                w.u8(id << 4 | len)?;
            }
            ExtensionForm::TwoByte => {
                let len = u8::try_from(value.len())
                    .map_err(|_| WriteError::Invalid("extension longer than 255 bytes"))?;
                w.u8(id)?;
                w.u8(len)?;
            }
        }
        w.bytes(value)?;
    }
    w.pad4()?;
    // RFC 3550 §5.3.1: the length counts "the number of 32-bit words in the
    // extension, excluding the four-octet extension header".
    let words = u16::try_from((w.pos() - start - 4) / 4)
        .map_err(|_| WriteError::Invalid("header extension too long"))?;
    w.patch_u16(start + 2, words)
}

/// Where the element with id `id` of a whole RTP packet's header
/// extension sits: its form, the offset of its element header and the range
/// of its data. `None` when the packet has no such element.
fn find_element(packet: &[u8], id: u8) -> Option<(ExtensionForm, usize, std::ops::Range<usize>)> {
    let &b0 = packet.first()?;
    // RFC 3550 §5.3.1: the extension follows the CSRC list when X is set.
    if b0 & 0x10 == 0 {
        return None;
    }
    let start = 12 + 4 * usize::from(b0 & 0x0F);
    let head = packet.get(start..start + 4)?;
    let profile = u16::from_be_bytes([head[0], head[1]]);
    let words = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let form = ExtensionForm::from_profile(profile)?;
    let (mut at, end) = (start + 4, (start + 4 + 4 * words).min(packet.len()));
    while at < end {
        let first = packet[at];
        if first == 0 {
            at += 1;
            continue;
        }
        let (this, len, data_at) = match form {
            ExtensionForm::OneByte => {
                if first >> 4 == 15 {
                    return None;
                }
                (first >> 4, usize::from(first & 0x0F) + 1, at + 1)
            }
            ExtensionForm::TwoByte => (first, usize::from(*packet.get(at + 1)?), at + 2),
        };
        if data_at + len > end {
            return None;
        }
        if this == id {
            return Some((form, at, data_at..data_at + len));
        }
        at = data_at + len;
    }
    None
}

/// Gives the element with id `from` of a whole RTP packet's header
/// extension the id `to` (same data): an RTX copy of a simulcast packet
/// turns its RtpStreamId into a RepairedRtpStreamId (RFC 8852 §3.2) this
/// way. False when the packet has no such element or `to` does not fit
/// the block's form.
pub(crate) fn retag_extension(packet: &mut [u8], from: u8, to: u8) -> bool {
    let Some((form, at, _)) = find_element(packet, from) else {
        return false;
    };
    match form {
        ExtensionForm::OneByte if !(1..=ONE_BYTE_MAX_ID).contains(&to) => return false,
        ExtensionForm::OneByte => packet[at] = (to << 4) | (packet[at] & 0x0F),
        ExtensionForm::TwoByte => packet[at] = to,
    }
    true
}

/// Overwrites the data of the element with id `id` of a whole RTP packet
/// with `value` of the same length (an RTX copy gets a transport-wide
/// sequence number of its own this way). False when there is no such
/// element or the lengths differ.
pub(crate) fn overwrite_extension(packet: &mut [u8], id: u8, value: &[u8]) -> bool {
    match find_element(packet, id) {
        Some((_, _, data)) if data.len() == value.len() => {
            packet[data].copy_from_slice(value);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod retag_tests {
    use super::*;
    use crate::rtp::{RtpHeader, RtpPacket};

    #[test]
    fn an_element_changes_id_and_keeps_its_data() {
        for (ext, to) in [
            (&[(4u8, &b"1"[..]), (10, &b"hi"[..])][..], 11u8),
            // Two-byte form (an empty element forces it).
            (
                &[(4u8, &b"1"[..]), (10, &b""[..]), (12, &b"hi"[..])][..],
                200u8,
            ),
        ] {
            let from = ext.last().unwrap().0;
            let mut buf = [0u8; 128];
            let n = RtpHeader {
                payload_type: 96,
                csrc: &[7, 8],
                extensions: ext,
                ..RtpHeader::default()
            }
            .write(b"payload", 0, &mut buf)
            .unwrap();
            assert!(retag_extension(&mut buf[..n], from, to));
            let p = RtpPacket::parse(&buf[..n]).unwrap();
            assert_eq!(p.extension(to), Some(&b"hi"[..]));
            assert_eq!(p.extension(from), None);
            assert_eq!(p.extension(4), Some(&b"1"[..]));
            assert_eq!(p.payload, b"payload");
            assert!(!retag_extension(&mut buf[..n], 9, 3), "no element 9");
            assert!(overwrite_extension(&mut buf[..n], 4, b"7"));
            assert!(
                !overwrite_extension(&mut buf[..n], 4, b"77"),
                "length differs"
            );
            let p = RtpPacket::parse(&buf[..n]).unwrap();
            assert_eq!(p.extension(4), Some(&b"7"[..]));
        }
        // No extension, a truncated one: false, no panic.
        assert!(!retag_extension(&mut [0x80, 96, 0, 0], 1, 2));
        assert!(!retag_extension(&mut [0x90; 14], 1, 2));
    }
}
