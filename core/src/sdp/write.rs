//! The SDP writer: lines in the order RFC 8866 §5 gives, CRLF-terminated.
//! What it writes parses back to the same [`Sdp`].
//!
//! The text is appended to a `String` piece by piece (`push_str`, digits
//! and hex written by hand): a description is written a few times a
//! negotiation (offer, answer, each after candidates were added), and the
//! formatting machinery (`write!`, a `Formatter` per value, padding checks
//! per integer) cost about as much as the text itself. The `Display`
//! impls give the same text. Candidate lines are written the same way,
//! by `SdpCandidate::write_to`.

use std::fmt::{self, Display, Formatter};

use super::model::*;

/// `n` in decimal.
pub(super) fn push_u64(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    // u64::MAX has 20 digits: `at` stays in bounds.
    while at > 0 {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// `XX:XX:...`, upper case.
fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// `list` joined by single spaces.
fn push_spaced(out: &mut String, list: &[String]) {
    for (i, item) in list.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(item);
    }
}

/// A line made of `parts`: `<kind>=<parts...>` and CRLF.
fn line(out: &mut String, kind: char, parts: &[&str]) {
    out.push(kind);
    out.push('=');
    for p in parts {
        out.push_str(p);
    }
    out.push_str("\r\n");
}

/// An `a=` line made of `parts`.
fn attr(out: &mut String, parts: &[&str]) {
    line(out, 'a', parts);
}

/// An `a=` line: `name` then the decimal `n`.
fn attr_u64(out: &mut String, name: &str, n: u64) {
    out.push_str("a=");
    out.push_str(name);
    push_u64(out, n);
    out.push_str("\r\n");
}

/// The attribute value of a fingerprint: `<hash> <XX:XX:...>`.
fn push_fingerprint(out: &mut String, fp: &Fingerprint) {
    out.push_str(&fp.hash);
    out.push(' ');
    push_hex(out, &fp.bytes);
}

impl Display for Fingerprint {
    /// `<hash> <XX:XX:...>`, the attribute value.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(self.hash.len() + 1 + 3 * self.bytes.len());
        push_fingerprint(&mut out, self);
        f.write_str(&out)
    }
}

/// `prefix`, `name`, then the `items` after a space, one line.
fn named_list(out: &mut String, prefix: &str, name: &str, items: &[String]) {
    out.push_str(prefix);
    out.push_str(name);
    if !items.is_empty() {
        out.push(' ');
        push_spaced(out, items);
    }
    out.push_str("\r\n");
}

/// The `i=`, `c=` and `b=` lines of the session or of a media section.
fn write_info_connection_bandwidths(
    out: &mut String,
    info: Option<&str>,
    connection: Option<&Connection>,
    bandwidths: &[Bandwidth],
) {
    if let Some(i) = info {
        line(out, 'i', &[i]);
    }
    if let Some(c) = connection {
        write_connection(out, c);
    }
    for b in bandwidths {
        write_bandwidth(out, b);
    }
}

fn write_connection(out: &mut String, c: &Connection) {
    line(out, 'c', &[&c.net_type, " ", &c.addr_type, " ", &c.address]);
}

fn write_bandwidth(out: &mut String, b: &Bandwidth) {
    out.push_str("b=");
    out.push_str(&b.bw_type);
    out.push(':');
    push_u64(out, b.bandwidth);
    out.push_str("\r\n");
}

fn write_common(
    out: &mut String,
    ice: &IceAttributes,
    fingerprints: &[Fingerprint],
    setup: Option<Setup>,
    tls_id: Option<&String>,
) {
    if let Some(u) = &ice.ufrag {
        attr(out, &["ice-ufrag:", u]);
    }
    if let Some(p) = &ice.pwd {
        attr(out, &["ice-pwd:", p]);
    }
    if !ice.options.is_empty() {
        out.push_str("a=ice-options:");
        push_spaced(out, &ice.options);
        out.push_str("\r\n");
    }
    for fp in fingerprints {
        out.push_str("a=fingerprint:");
        push_fingerprint(out, fp);
        out.push_str("\r\n");
    }
    if let Some(s) = setup {
        attr(out, &["setup:", s.as_str()]);
    }
    if let Some(t) = tls_id {
        attr(out, &["tls-id:", t]);
    }
}

fn write_other(out: &mut String, other: &[Attribute]) {
    for a in other {
        match &a.value {
            Some(v) => attr(out, &[&a.name, ":", v]),
            None => attr(out, &[&a.name]),
        }
    }
}

/// The attribute value of an extmap.
fn push_extmap(out: &mut String, e: &Extmap) {
    push_u64(out, u64::from(e.id));
    if let Some(d) = e.direction {
        out.push('/');
        out.push_str(d.as_str());
    }
    out.push(' ');
    out.push_str(&e.uri);
    if let Some(a) = &e.attributes {
        out.push(' ');
        out.push_str(a);
    }
}

impl Display for Extmap {
    /// The attribute value.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        push_extmap(&mut out, self);
        f.write_str(&out)
    }
}

fn write_extmaps(out: &mut String, extmaps: &[Extmap]) {
    for e in extmaps {
        out.push_str("a=extmap:");
        push_extmap(out, e);
        out.push_str("\r\n");
    }
}

fn write_simulcast_list(out: &mut String, streams: &[Vec<SimulcastRid>]) {
    for (i, s) in streams.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        for (j, r) in s.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            if r.paused {
                out.push('~');
            }
            out.push_str(&r.id);
        }
    }
}

/// The attribute value of a simulcast.
fn push_simulcast(out: &mut String, s: &Simulcast) {
    let start = out.len();
    if !s.send.is_empty() {
        out.push_str("send ");
        write_simulcast_list(out, &s.send);
    }
    if !s.recv.is_empty() {
        if out.len() > start {
            out.push(' ');
        }
        out.push_str("recv ");
        write_simulcast_list(out, &s.recv);
    }
}

impl Display for Simulcast {
    /// The attribute value.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        push_simulcast(&mut out, self);
        f.write_str(&out)
    }
}

/// The `m=` line and the lines before the attributes (`i=`, `c=`, `b=`, ...).
fn write_media_line(out: &mut String, m: &MediaDescription) {
    out.push_str("m=");
    out.push_str(m.media_type.as_str());
    out.push(' ');
    push_u64(out, u64::from(m.port));
    if let Some(c) = m.port_count {
        out.push('/');
        push_u64(out, u64::from(c));
    }
    out.push(' ');
    out.push_str(&m.protocol);
    for fmt in &m.formats {
        out.push(' ');
        out.push_str(fmt);
    }
    out.push_str("\r\n");
    write_info_connection_bandwidths(out, m.info.as_deref(), m.connection.as_ref(), &m.bandwidths);
    for (k, v) in &m.extra_lines {
        line(out, *k, &[v]);
    }
}

/// `a=rtpmap`, `a=rtcp-fb` and `a=fmtp` of the RTP formats.
fn write_rtp_formats(out: &mut String, m: &MediaDescription) {
    for r in &m.rtpmaps {
        out.push_str("a=rtpmap:");
        push_u64(out, u64::from(r.payload_type));
        out.push(' ');
        out.push_str(&r.encoding);
        out.push('/');
        push_u64(out, u64::from(r.clock_rate));
        if let Some(c) = r.channels {
            out.push('/');
            push_u64(out, u64::from(c));
        }
        out.push_str("\r\n");
    }
    for fb in &m.rtcp_fbs {
        out.push_str("a=rtcp-fb:");
        match fb.payload_type {
            Some(p) => push_u64(out, u64::from(p)),
            None => out.push('*'),
        }
        out.push(' ');
        out.push_str(&fb.fb_type);
        if let Some(p) = &fb.param {
            out.push(' ');
            out.push_str(p);
        }
        out.push_str("\r\n");
    }
    for fm in &m.fmtps {
        out.push_str("a=fmtp:");
        push_u64(out, u64::from(fm.payload_type));
        if !fm.params.is_empty() {
            out.push(' ');
            out.push_str(&fm.params);
        }
        out.push_str("\r\n");
    }
}

/// `a=ssrc-group`, `a=ssrc`, `a=rid` and `a=simulcast` of the RTP streams.
fn write_rtp_streams(out: &mut String, m: &MediaDescription) {
    for g in &m.ssrc_groups {
        out.push_str("a=ssrc-group:");
        out.push_str(&g.semantics);
        for s in &g.ssrcs {
            out.push(' ');
            push_u64(out, u64::from(*s));
        }
        out.push_str("\r\n");
    }
    for s in &m.ssrcs {
        out.push_str("a=ssrc:");
        push_u64(out, u64::from(s.ssrc));
        out.push(' ');
        out.push_str(&s.attribute);
        if let Some(v) = &s.value {
            out.push(':');
            out.push_str(v);
        }
        out.push_str("\r\n");
    }
    for r in &m.rids {
        let dir = match r.direction {
            RidDirection::Send => "send",
            RidDirection::Recv => "recv",
        };
        match &r.params {
            Some(p) => attr(out, &["rid:", &r.id, " ", dir, " ", p]),
            None => attr(out, &["rid:", &r.id, " ", dir]),
        }
    }
    if let Some(s) = &m.simulcast {
        out.push_str("a=simulcast:");
        push_simulcast(out, s);
        out.push_str("\r\n");
    }
}

/// A media section's lines.
fn write_media(out: &mut String, m: &MediaDescription) {
    write_media_line(out, m);
    for c in &m.candidates {
        out.push_str("a=");
        c.write_to(out);
        out.push_str("\r\n");
    }
    if m.end_of_candidates {
        attr(out, &["end-of-candidates"]);
    }
    write_common(out, &m.ice, &m.fingerprints, m.setup, m.tls_id.as_ref());
    if let Some(mid) = &m.mid {
        attr(out, &["mid:", mid]);
    }
    write_extmaps(out, &m.extmaps);
    if let Some(d) = m.direction {
        attr(out, &[d.as_str()]);
    }
    for msid in &m.msids {
        match &msid.track_id {
            Some(t) => attr(out, &["msid:", &msid.stream_id, " ", t]),
            None => attr(out, &["msid:", &msid.stream_id]),
        }
    }
    if m.rtcp_mux {
        attr(out, &["rtcp-mux"]);
    }
    if m.rtcp_rsize {
        attr(out, &["rtcp-rsize"]);
    }
    write_rtp_formats(out, m);
    write_rtp_streams(out, m);
    if let Some(p) = m.sctp_port {
        attr_u64(out, "sctp-port:", u64::from(p));
    }
    if let Some(size) = m.max_message_size {
        attr_u64(out, "max-message-size:", size);
    }
    write_other(out, &m.other);
}

impl Display for MediaDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write_media(&mut out, self);
        f.write_str(&out)
    }
}

/// The session's lines, then each media section's.
fn write_sdp(out: &mut String, sdp: &Sdp) {
    let o = &sdp.origin;
    out.push_str("v=0\r\n");
    out.push_str("o=");
    for p in [&o.username, " ", &o.session_id, " "] {
        out.push_str(p);
    }
    push_u64(out, o.session_version);
    for p in [" ", &o.net_type, " ", &o.addr_type, " ", &o.address, "\r\n"] {
        out.push_str(p);
    }
    line(out, 's', &[&sdp.session_name]);
    // RFC 8866 §5 orders v o s i u e p c b t r z k a m. `u e p` lines
    // (never used by WebRTC) are written with the other verbatim lines
    // after `t=`, in model order, so the text parses back to the model.
    write_info_connection_bandwidths(
        out,
        sdp.session_info.as_deref(),
        sdp.connection.as_ref(),
        &sdp.bandwidths,
    );
    for t in &sdp.timing {
        out.push_str("t=");
        push_u64(out, t.start);
        out.push(' ');
        push_u64(out, t.stop);
        out.push_str("\r\n");
    }
    for (k, v) in &sdp.extra_lines {
        line(out, *k, &[v]);
    }
    let a = &sdp.attributes;
    for g in &a.groups {
        named_list(out, "a=group:", &g.semantics, &g.mids);
    }
    if a.extmap_allow_mixed {
        attr(out, &["extmap-allow-mixed"]);
    }
    if let Some(m) = &a.msid_semantic {
        named_list(out, "a=msid-semantic: ", &m.semantic, &m.ids);
    }
    if a.ice_lite {
        attr(out, &["ice-lite"]);
    }
    write_common(out, &a.ice, &a.fingerprints, a.setup, a.tls_id.as_ref());
    if let Some(i) = &a.identity {
        attr(out, &["identity:", i]);
    }
    if let Some(d) = a.direction {
        attr(out, &[d.as_str()]);
    }
    write_extmaps(out, &a.extmaps);
    write_other(out, &a.other);
    for m in &sdp.media {
        write_media(out, m);
    }
}

impl Sdp {
    /// The SDP text, as `to_string` gives it, written into a string sized
    /// for it up front rather than grown (issue 13).
    pub(crate) fn to_text(&self) -> String {
        // A WebRTC section with its transport attributes is ~300 bytes
        // before codecs; a candidate line ~80.
        let estimate = 256
            + self
                .media
                .iter()
                .map(|m| 320 + 48 * m.formats.len() + 96 * (m.candidates.len() + m.rtpmaps.len()))
                .sum::<usize>();
        let mut text = String::with_capacity(estimate);
        write_sdp(&mut text, self);
        // The text is kept (the description applied, the offer created):
        // no idle room. Shrinking in place is cheap; growing was not.
        text.shrink_to_fit();
        text
    }
}

impl Display for Sdp {
    /// The SDP text, CRLF line endings.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}
