//! What H.264 (RFC 6184) and H.265 (RFC 7798) payloads share: NAL units
//! from an Annex-B stream, and the packing of units into single-unit,
//! aggregation (STAP-A, AP) and fragmentation (FU-A, FU) payloads, which
//! differ only in their headers.

/// A NAL-unit payload format: its header length and how it writes the
/// headers of aggregation and fragmentation payloads.
pub(super) trait NalFormat {
    /// Bytes of a NAL unit header (1 for H.264, 2 for H.265).
    const HEADER: usize;
    /// The header of an aggregation payload of `units` (`HEADER` bytes).
    fn aggregation_header(units: &[&[u8]], out: &mut Vec<u8>);
    /// The headers of a fragment of `nal` (`HEADER + 1` bytes: the
    /// payload header and the FU header with S and E).
    fn fragment_header(nal: &[u8], start: bool, end: bool, out: &mut Vec<u8>);
}

/// The NAL units of an Annex-B stream (start codes of 3 or 4 bytes); a
/// stream without a start code is one unit.
pub(super) fn nal_units(stream: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    if starts.is_empty() {
        return if stream.is_empty() {
            vec![]
        } else {
            vec![stream]
        };
    }
    let mut out = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(stream.len(), |&n| n - 3);
        // A 4-byte start code's leading zero belongs to it, not to the
        // NAL unit before.
        if k + 1 < starts.len() && end > s && stream[end - 1] == 0 {
            end -= 1;
        }
        if end > s {
            out.push(&stream[s..end]);
        }
    }
    out
}

/// Packs `nals` into payloads of at most `max_payload` bytes: small units
/// aggregated, units that fit alone sent alone, larger ones fragmented.
/// `max_payload` must leave room for a fragment's headers and a byte.
pub(super) fn packetize<F: NalFormat>(nals: &[&[u8]], max_payload: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    // Units waiting for the next aggregation payload, and its size.
    let mut group: Vec<&[u8]> = Vec::new();
    let mut group_len = F::HEADER;
    let flush = |group: &mut Vec<&[u8]>, out: &mut Vec<Vec<u8>>| {
        match group.len() {
            0 => {}
            1 => out.push(group[0].to_vec()),
            _ => {
                let mut p = Vec::new();
                F::aggregation_header(group, &mut p);
                for n in group.iter() {
                    // Each unit after its 16-bit size.
                    p.extend_from_slice(&(n.len() as u16).to_be_bytes());
                    p.extend_from_slice(n);
                }
                out.push(p);
            }
        }
        group.clear();
    };
    for &nal in nals {
        if F::HEADER + 2 + nal.len() <= max_payload {
            if group_len + 2 + nal.len() > max_payload {
                flush(&mut group, &mut out);
                group_len = F::HEADER;
            }
            group.push(nal);
            group_len += 2 + nal.len();
            continue;
        }
        flush(&mut group, &mut out);
        group_len = F::HEADER;
        if nal.len() <= max_payload {
            out.push(nal.to_vec());
            continue;
        }
        let body = &nal[F::HEADER..];
        let room = max_payload - F::HEADER - 1;
        let count = body.len().div_ceil(room);
        for (i, chunk) in body.chunks(room).enumerate() {
            let mut p = Vec::with_capacity(F::HEADER + 1 + chunk.len());
            F::fragment_header(nal, i == 0, i + 1 == count, &mut p);
            p.extend_from_slice(chunk);
            out.push(p);
        }
    }
    flush(&mut group, &mut out);
    out
}

/// The units of an aggregation payload's body (each after its 16-bit
/// size, at least `min` bytes), given to `unit`; false if malformed.
pub(super) fn aggregated_units(mut rest: &[u8], min: usize, mut unit: impl FnMut(&[u8])) -> bool {
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let [a, b, tail @ ..] = rest else {
            return false;
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if len < min.max(1) || len > tail.len() {
            return false;
        }
        unit(&tail[..len]);
        rest = &tail[len..];
    }
    true
}
