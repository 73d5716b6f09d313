//! The SDP writer: lines in the order RFC 8866 §5 gives, CRLF-terminated.
//! What it writes parses back to the same [`Sdp`].

use std::fmt::{self, Display, Formatter, Write};

use super::model::*;

struct Hex<'a>(&'a [u8]);

impl Display for Hex<'_> {
    /// `XX:XX:...`, upper case, written in chunks (a `{:02X}` per byte
    /// went through the formatter's padding path 32 times a fingerprint).
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        let mut chunk = [0u8; 96];
        for (i, bytes) in self.0.chunks(32).enumerate() {
            let mut n = 0;
            for b in bytes {
                chunk[n] = b':';
                chunk[n + 1] = DIGITS[usize::from(b >> 4)];
                chunk[n + 2] = DIGITS[usize::from(b & 0x0f)];
                n += 3;
            }
            // The first byte of all has no ':' before it.
            let start = usize::from(i == 0);
            // Only ASCII digits and ':' were written.
            f.write_str(std::str::from_utf8(&chunk[start..n]).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

impl Display for Fingerprint {
    /// `<hash> <XX:XX:...>`, the attribute value.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.hash, Hex(&self.bytes))
    }
}

fn line(f: &mut Formatter<'_>, kind: char, value: impl Display) -> fmt::Result {
    // Piece by piece: a `write!` here would format `value` (itself often
    // `format_args!`) one level deeper in the formatter (issue 13).
    f.write_char(kind)?;
    f.write_char('=')?;
    value.fmt(f)?;
    f.write_str("\r\n")
}

/// `list` joined by single spaces, without a joined copy.
struct Spaced<'a>(&'a [String]);

impl Display for Spaced<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            f.write_str(item)?;
        }
        Ok(())
    }
}

fn attr(f: &mut Formatter<'_>, value: impl Display) -> fmt::Result {
    line(f, 'a', value)
}

fn write_connection(f: &mut Formatter<'_>, c: &Connection) -> fmt::Result {
    line(
        f,
        'c',
        format_args!("{} {} {}", c.net_type, c.addr_type, c.address),
    )
}

fn write_common(
    f: &mut Formatter<'_>,
    ice: &IceAttributes,
    fingerprints: &[Fingerprint],
    setup: Option<Setup>,
    tls_id: Option<&String>,
) -> fmt::Result {
    if let Some(u) = &ice.ufrag {
        attr(f, format_args!("ice-ufrag:{u}"))?;
    }
    if let Some(p) = &ice.pwd {
        attr(f, format_args!("ice-pwd:{p}"))?;
    }
    if !ice.options.is_empty() {
        attr(f, format_args!("ice-options:{}", Spaced(&ice.options)))?;
    }
    for fp in fingerprints {
        attr(f, format_args!("fingerprint:{fp}"))?;
    }
    if let Some(s) = setup {
        attr(f, format_args!("setup:{}", s.as_str()))?;
    }
    if let Some(t) = tls_id {
        attr(f, format_args!("tls-id:{t}"))?;
    }
    Ok(())
}

fn write_other(f: &mut Formatter<'_>, other: &[Attribute]) -> fmt::Result {
    for a in other {
        match &a.value {
            Some(v) => attr(f, format_args!("{}:{}", a.name, v))?,
            None => attr(f, &a.name)?,
        }
    }
    Ok(())
}

impl Display for Extmap {
    /// The attribute value.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        if let Some(d) = self.direction {
            write!(f, "/{}", d.as_str())?;
        }
        write!(f, " {}", self.uri)?;
        if let Some(a) = &self.attributes {
            write!(f, " {a}")?;
        }
        Ok(())
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

impl Display for Simulcast {
    /// The attribute value.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        if !self.send.is_empty() {
            out.push_str("send ");
            write_simulcast_list(&mut out, &self.send);
        }
        if !self.recv.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str("recv ");
            write_simulcast_list(&mut out, &self.recv);
        }
        f.write_str(&out)
    }
}

/// The `m=` line and the lines before the attributes (`i=`, `c=`, `b=`, ...).
fn write_media_line(f: &mut Formatter<'_>, m: &MediaDescription) -> fmt::Result {
    write!(f, "m={} {}", m.media_type.as_str(), m.port)?;
    if let Some(c) = m.port_count {
        write!(f, "/{c}")?;
    }
    write!(f, " {}", m.protocol)?;
    for fmt in &m.formats {
        write!(f, " {fmt}")?;
    }
    f.write_str("\r\n")?;
    if let Some(i) = &m.info {
        line(f, 'i', i)?;
    }
    if let Some(c) = &m.connection {
        write_connection(f, c)?;
    }
    for b in &m.bandwidths {
        line(f, 'b', format_args!("{}:{}", b.bw_type, b.bandwidth))?;
    }
    for (k, v) in &m.extra_lines {
        line(f, *k, v)?;
    }
    Ok(())
}

/// `a=rtpmap`, `a=rtcp-fb` and `a=fmtp` of the RTP formats.
fn write_rtp_formats(f: &mut Formatter<'_>, m: &MediaDescription) -> fmt::Result {
    for r in &m.rtpmaps {
        match r.channels {
            Some(c) => attr(
                f,
                format_args!(
                    "rtpmap:{} {}/{}/{c}",
                    r.payload_type, r.encoding, r.clock_rate
                ),
            )?,
            None => attr(
                f,
                format_args!("rtpmap:{} {}/{}", r.payload_type, r.encoding, r.clock_rate),
            )?,
        }
    }
    for fb in &m.rtcp_fbs {
        let pt = fb
            .payload_type
            .map_or_else(|| "*".to_owned(), |p| p.to_string());
        match &fb.param {
            Some(p) => attr(f, format_args!("rtcp-fb:{pt} {} {p}", fb.fb_type))?,
            None => attr(f, format_args!("rtcp-fb:{pt} {}", fb.fb_type))?,
        }
    }
    for fm in &m.fmtps {
        if fm.params.is_empty() {
            attr(f, format_args!("fmtp:{}", fm.payload_type))?;
        } else {
            attr(f, format_args!("fmtp:{} {}", fm.payload_type, fm.params))?;
        }
    }
    Ok(())
}

/// `a=ssrc-group`, `a=ssrc`, `a=rid` and `a=simulcast` of the RTP streams.
fn write_rtp_streams(f: &mut Formatter<'_>, m: &MediaDescription) -> fmt::Result {
    for g in &m.ssrc_groups {
        let mut v = format!("ssrc-group:{}", g.semantics);
        for s in &g.ssrcs {
            let _ = write!(v, " {s}");
        }
        attr(f, v)?;
    }
    for s in &m.ssrcs {
        match &s.value {
            Some(v) => attr(f, format_args!("ssrc:{} {}:{v}", s.ssrc, s.attribute))?,
            None => attr(f, format_args!("ssrc:{} {}", s.ssrc, s.attribute))?,
        }
    }
    for r in &m.rids {
        let dir = match r.direction {
            RidDirection::Send => "send",
            RidDirection::Recv => "recv",
        };
        match &r.params {
            Some(p) => attr(f, format_args!("rid:{} {dir} {p}", r.id))?,
            None => attr(f, format_args!("rid:{} {dir}", r.id))?,
        }
    }
    if let Some(s) = &m.simulcast {
        attr(f, format_args!("simulcast:{s}"))?;
    }
    Ok(())
}

impl Display for MediaDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_media_line(f, self)?;
        for c in &self.candidates {
            attr(f, c)?;
        }
        if self.end_of_candidates {
            attr(f, "end-of-candidates")?;
        }
        write_common(
            f,
            &self.ice,
            &self.fingerprints,
            self.setup,
            self.tls_id.as_ref(),
        )?;
        if let Some(m) = &self.mid {
            attr(f, format_args!("mid:{m}"))?;
        }
        for e in &self.extmaps {
            attr(f, format_args!("extmap:{e}"))?;
        }
        if let Some(d) = self.direction {
            attr(f, d.as_str())?;
        }
        for m in &self.msids {
            match &m.track_id {
                Some(t) => attr(f, format_args!("msid:{} {t}", m.stream_id))?,
                None => attr(f, format_args!("msid:{}", m.stream_id))?,
            }
        }
        if self.rtcp_mux {
            attr(f, "rtcp-mux")?;
        }
        if self.rtcp_rsize {
            attr(f, "rtcp-rsize")?;
        }
        write_rtp_formats(f, self)?;
        write_rtp_streams(f, self)?;
        if let Some(p) = self.sctp_port {
            attr(f, format_args!("sctp-port:{p}"))?;
        }
        if let Some(m) = self.max_message_size {
            attr(f, format_args!("max-message-size:{m}"))?;
        }
        write_other(f, &self.other)
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
        // Writing into a `String` cannot fail.
        let _ = write!(text, "{self}");
        // The text is kept (the description applied, the offer created):
        // no idle room. Shrinking in place is cheap; growing was not.
        text.shrink_to_fit();
        text
    }
}

impl Display for Sdp {
    /// The SDP text, CRLF line endings.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        line(f, 'v', 0)?;
        line(
            f,
            'o',
            format_args!(
                "{} {} {} {} {} {}",
                o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
            ),
        )?;
        line(f, 's', &self.session_name)?;
        if let Some(i) = &self.session_info {
            line(f, 'i', i)?;
        }
        // RFC 8866 §5 orders v o s i u e p c b t r z k a m. `u e p` lines
        // (never used by WebRTC) are written with the other verbatim lines
        // after `t=`, in model order, so the text parses back to the model.
        if let Some(c) = &self.connection {
            write_connection(f, c)?;
        }
        for b in &self.bandwidths {
            line(f, 'b', format_args!("{}:{}", b.bw_type, b.bandwidth))?;
        }
        for t in &self.timing {
            line(f, 't', format_args!("{} {}", t.start, t.stop))?;
        }
        for (k, v) in &self.extra_lines {
            line(f, *k, v)?;
        }
        let a = &self.attributes;
        for g in &a.groups {
            if g.mids.is_empty() {
                attr(f, format_args!("group:{}", g.semantics))?;
            } else {
                attr(f, format_args!("group:{} {}", g.semantics, Spaced(&g.mids)))?;
            }
        }
        if a.extmap_allow_mixed {
            attr(f, "extmap-allow-mixed")?;
        }
        if let Some(m) = &a.msid_semantic {
            if m.ids.is_empty() {
                attr(f, format_args!("msid-semantic: {}", m.semantic))?;
            } else {
                attr(
                    f,
                    format_args!("msid-semantic: {} {}", m.semantic, Spaced(&m.ids)),
                )?;
            }
        }
        if a.ice_lite {
            attr(f, "ice-lite")?;
        }
        write_common(f, &a.ice, &a.fingerprints, a.setup, a.tls_id.as_ref())?;
        if let Some(i) = &a.identity {
            attr(f, format_args!("identity:{i}"))?;
        }
        if let Some(d) = a.direction {
            attr(f, d.as_str())?;
        }
        for e in &a.extmaps {
            attr(f, format_args!("extmap:{e}"))?;
        }
        write_other(f, &a.other)?;
        for m in &self.media {
            m.fmt(f)?;
        }
        Ok(())
    }
}
