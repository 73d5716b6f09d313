//! What a remote description may not say even when it parses: fingerprints
//! that cannot authenticate anything, an offerer that does not leave the
//! DTLS role open, and candidates at addresses no peer can be reached at.
//! Errors name the offending line.

use std::net::IpAddr;

use super::jsep::invalid_access;
use crate::error::JsepError;
use crate::sdp::{Fingerprint, Sdp, SdpType, SessionDescription, Setup};

/// The digest length of a hash function eddy accepts in `a=fingerprint`,
/// or `None` for one it refuses.
///
/// RFC 8122 §5 takes the names from IANA's "Hash Function Textual Names"
/// registry, which still lists md2 and md5: both are broken (RFC 6149,
/// RFC 6151), so a fingerprint made with them authenticates nothing and is
/// refused. RFC 8827 §6.5 makes SHA-256 the one every endpoint supports;
/// sha-1 is still accepted (browsers do), with its correct length only.
fn digest_len(hash: &str) -> Option<usize> {
    Some(match hash {
        "sha-1" => 20,
        "sha-224" => 28,
        "sha-256" => 32,
        "sha-384" => 48,
        "sha-512" => 64,
        _ => return None,
    })
}

/// The 1-based number of the first line of `text` that is `line` (ignoring
/// ASCII case and trailing whitespace), for error messages.
fn line_number(text: &str, line: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_end().eq_ignore_ascii_case(line))
        .map(|i| i + 1)
}

/// `line N: a=...` or, if the line cannot be found as written, `a=...`.
fn cite(text: &str, line: &str) -> String {
    match line_number(text, line) {
        Some(n) => format!("line {n}: {line}"),
        None => line.to_owned(),
    }
}

fn check_fingerprint(fp: &Fingerprint, text: &str) -> Result<(), JsepError> {
    // The line is written for an error message only: a valid fingerprint
    // (every one a browser sends) costs no text.
    let line = || format!("a=fingerprint:{fp}");
    match digest_len(&fp.hash) {
        None if matches!(fp.hash.as_str(), "md5" | "md2") => Err(invalid_access(format!(
            "{}: {} is not a safe hash for a certificate fingerprint (use sha-256)",
            cite(text, &line()),
            fp.hash
        ))),
        None => Err(invalid_access(format!(
            "{}: unknown fingerprint hash {:?}",
            cite(text, &line()),
            fp.hash
        ))),
        Some(len) if fp.bytes.len() != len => Err(invalid_access(format!(
            "{}: a {} fingerprint has {len} bytes, this one {}",
            cite(text, &line()),
            fp.hash,
            fp.bytes.len()
        ))),
        Some(_) => Ok(()),
    }
}

/// Checks the fingerprints and `a=setup` lines of a remote description.
pub(crate) fn check_security(sdp: &Sdp, desc: &SessionDescription) -> Result<(), JsepError> {
    let text = desc.sdp.as_str();
    let sections = std::iter::once((&sdp.attributes.fingerprints, sdp.attributes.setup)).chain(
        sdp.media
            .iter()
            .filter(|m| !m.is_rejected())
            .map(|m| (&m.fingerprints, m.setup)),
    );
    for (fingerprints, setup) in sections {
        for fp in fingerprints {
            check_fingerprint(fp, text)?;
        }
        // RFC 5763 §5: "The endpoint that is the offerer MUST use the setup
        // attribute value of setup:actpass". An offer that takes the client
        // role for itself, or refuses a connection, leaves the answerer no
        // valid answer. (`passive` is tolerated: the answerer can still be
        // the active side.)
        if desc.sdp_type == SdpType::Offer {
            if let Some(s @ (Setup::Active | Setup::HoldConn)) = setup {
                let line = format!("a=setup:{}", s.as_str());
                return Err(invalid_access(format!(
                    "{}: an offer must use a=setup:actpass",
                    cite(text, &line)
                )));
            }
        }
    }
    Ok(())
}

/// Whether a remote candidate's address can be a peer at all: not
/// unspecified (0.0.0.0, ::), not broadcast (255.255.255.255), not
/// multicast. ICE pairs unicast transport addresses only (RFC 8445 §5.1.1
/// gathers them from interfaces; a check sent to a broadcast or multicast
/// address would reach whole networks).
pub(crate) fn is_usable_candidate_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast()),
        IpAddr::V6(v6) => {
            !(v6.is_unspecified()
                || v6.is_multicast()
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| !is_usable_candidate_address(IpAddr::V4(v4))))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::peer::PeerConnection;
    use crate::sdp::tests::CAPTURES;
    use crate::sdp::IceCandidate;
    use crate::testutil::epoch;
    use crate::Configuration;

    const FINGERPRINT: &str = "a=fingerprint:sha-256 7D:52:00:88:40:25:A8:3B:34:FF:27:64:9A:6F:CE:2E:17:16:7A:29:A7:A2:66:AA:F2:5D:C9:24:38:E2:BB:69";

    /// Chromium's data channel offer, as captured.
    fn chromium_offer() -> &'static str {
        CAPTURES
            .iter()
            .find(|(name, _)| *name == "chromium-offer-datachannel")
            .map(|(_, text)| *text)
            .unwrap()
    }

    fn pc() -> PeerConnection {
        PeerConnection::new(Configuration::default().with_seed(7), epoch()).unwrap()
    }

    /// The error of applying `text` as a remote offer; the connection must
    /// be unchanged by it.
    fn refused(text: &str) -> String {
        let mut pc = pc();
        let err = pc
            .set_remote_description(SessionDescription::offer(text))
            .unwrap_err();
        assert!(pc.remote_description().is_none());
        match err {
            JsepError::InvalidAccess(msg) => msg,
            other => panic!("not InvalidAccessError: {other}"),
        }
    }

    fn line_of(text: &str, prefix: &str) -> usize {
        text.lines().position(|l| l.starts_with(prefix)).unwrap() + 1
    }

    #[test]
    fn the_capture_is_accepted_as_is() {
        let text = chromium_offer();
        assert!(text.contains(FINGERPRINT));
        pc().set_remote_description(SessionDescription::offer(text))
            .unwrap();
    }

    #[test]
    fn an_md5_fingerprint_is_refused_naming_its_line() {
        let text = chromium_offer().replace(
            FINGERPRINT,
            "a=fingerprint:md5 7D:52:00:88:40:25:A8:3B:34:FF:27:64:9A:6F:CE:2E",
        );
        let msg = refused(&text);
        let n = line_of(&text, "a=fingerprint:");
        assert!(
            msg.starts_with(&format!("line {n}: a=fingerprint:md5 ")),
            "{msg}"
        );
        assert!(msg.contains("not a safe hash"), "{msg}");
        let md2 = chromium_offer().replace(
            FINGERPRINT,
            "a=fingerprint:md2 7D:52:00:88:40:25:A8:3B:34:FF:27:64:9A:6F:CE:2E",
        );
        assert!(refused(&md2).contains("md2 is not a safe hash"));
    }

    #[test]
    fn a_fingerprint_of_the_wrong_length_is_refused() {
        // A sha-256 fingerprint of 20 bytes (a sha-1 length).
        let text = chromium_offer().replace(
            FINGERPRINT,
            "a=fingerprint:sha-256 7D:52:00:88:40:25:A8:3B:34:FF:27:64:9A:6F:CE:2E:17:16:7A:29",
        );
        let msg = refused(&text);
        assert!(
            msg.contains("a sha-256 fingerprint has 32 bytes, this one 20"),
            "{msg}"
        );
        assert!(msg.starts_with(&format!("line {}:", line_of(&text, "a=fingerprint:"))));
        // sha-1 is accepted with its own length, refused with another.
        let sha1 = chromium_offer().replace(
            FINGERPRINT,
            "a=fingerprint:sha-1 7D:52:00:88:40:25:A8:3B:34:FF:27:64:9A:6F:CE:2E:17:16:7A:29",
        );
        pc().set_remote_description(SessionDescription::offer(sha1))
            .unwrap();
        let long_sha1 = chromium_offer().replace("a=fingerprint:sha-256", "a=fingerprint:sha-1");
        assert!(refused(&long_sha1).contains("a sha-1 fingerprint has 20 bytes, this one 32"));
    }

    #[test]
    fn an_unknown_hash_is_refused() {
        let text = chromium_offer().replace("a=fingerprint:sha-256", "a=fingerprint:sha3-256");
        let msg = refused(&text);
        assert!(
            msg.contains("unknown fingerprint hash \"sha3-256\""),
            "{msg}"
        );
    }

    #[test]
    fn an_offer_must_leave_the_dtls_role_open() {
        for setup in ["active", "holdconn"] {
            let text = chromium_offer().replace("a=setup:actpass", &format!("a=setup:{setup}"));
            let msg = refused(&text);
            let n = line_of(&text, "a=setup:");
            assert_eq!(
                msg,
                format!("line {n}: a=setup:{setup}: an offer must use a=setup:actpass")
            );
        }
        // passive still leaves the answerer a valid (active) answer.
        let passive = chromium_offer().replace("a=setup:actpass", "a=setup:passive");
        pc().set_remote_description(SessionDescription::offer(passive))
            .unwrap();
    }

    #[test]
    fn candidates_at_non_unicast_addresses_are_dropped_and_counted() {
        let bad = [
            "0.0.0.0 5000",
            "255.255.255.255 5000",
            "224.0.0.251 5353",
            ":: 5000",
            "ff02::1 5000",
        ];
        let mut lines = String::new();
        for (i, a) in bad.iter().enumerate() {
            lines.push_str(&format!(
                "a=candidate:{} 1 udp 2122260223 {a} typ host generation 0\r\n",
                100 + i
            ));
        }
        let text = chromium_offer().replacen(
            "a=candidate:3443705401",
            &format!("{lines}a=candidate:3443705401"),
            1,
        );
        let mut pc = pc();
        pc.set_remote_description(SessionDescription::offer(text))
            .unwrap();
        assert_eq!(pc.counters().dropped_candidates, bad.len() as u64);
        let good: SocketAddr = "127.0.0.1:45411".parse().unwrap();
        let remote: Vec<SocketAddr> = pc
            .stack
            .ice
            .remote_candidates()
            .iter()
            .map(|c| c.addr)
            .collect();
        assert!(remote.contains(&good), "{remote:?}");
        assert!(
            remote.iter().all(|a| is_usable_candidate_address(a.ip())),
            "{remote:?}"
        );
        // Trickled ones too, and an mDNS name resolved to such an address.
        let mid = pc
            .remote_description()
            .unwrap()
            .sdp
            .lines()
            .find_map(|l| l.strip_prefix("a=mid:"))
            .unwrap()
            .to_owned();
        pc.add_ice_candidate(IceCandidate {
            candidate: Some(
                crate::sdp::SdpCandidate::parse(
                    "candidate:9 1 udp 2122260223 239.1.1.1 4000 typ host",
                )
                .unwrap(),
            ),
            sdp_mid: Some(mid),
            sdp_m_line_index: None,
            username_fragment: None,
        })
        .unwrap();
        assert_eq!(pc.counters().dropped_candidates, bad.len() as u64 + 1);
        pc.resolve_remote_candidate("x.local", "0.0.0.0".parse().unwrap());
        assert_eq!(pc.counters().dropped_candidates, bad.len() as u64 + 2);
    }

    #[test]
    fn only_unicast_addresses_are_usable() {
        for ok in [
            "192.0.2.1",
            "10.0.0.1",
            "127.0.0.1",
            "2001:db8::1",
            "::1",
            "::ffff:192.0.2.1",
        ] {
            assert!(is_usable_candidate_address(ok.parse().unwrap()), "{ok}");
        }
        for bad in [
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "::",
            "ff02::1",
            "::ffff:224.0.0.1",
            "::ffff:0.0.0.0",
        ] {
            assert!(!is_usable_candidate_address(bad.parse().unwrap()), "{bad}");
        }
    }
}
