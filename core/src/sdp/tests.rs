//! SDP codec tests: real captures, errors, and the model → text → model
//! property.

use proptest::prelude::*;

use super::*;
use crate::testutil::proptest_config;

/// Every capture in `core/tests/data/sdp`, by name.
pub(crate) const CAPTURES: &[(&str, &str)] = &[
    (
        "aiortc-answer-to-chromium-datachannel",
        include_str!("../../tests/data/sdp/aiortc-answer-to-chromium-datachannel.sdp"),
    ),
    (
        "aiortc-answer-to-chromium",
        include_str!("../../tests/data/sdp/aiortc-answer-to-chromium.sdp"),
    ),
    (
        "aiortc-offer-datachannel",
        include_str!("../../tests/data/sdp/aiortc-offer-datachannel.sdp"),
    ),
    (
        "aiortc-offer",
        include_str!("../../tests/data/sdp/aiortc-offer.sdp"),
    ),
    (
        "chromium-answer-to-aiortc",
        include_str!("../../tests/data/sdp/chromium-answer-to-aiortc.sdp"),
    ),
    (
        "chromium-offer-datachannel",
        include_str!("../../tests/data/sdp/chromium-offer-datachannel.sdp"),
    ),
    (
        "chromium-offer-inpage-pair",
        include_str!("../../tests/data/sdp/chromium-offer-inpage-pair.sdp"),
    ),
    (
        "chromium-offer",
        include_str!("../../tests/data/sdp/chromium-offer.sdp"),
    ),
];

/// The lines of an SDP without their terminators, as a sorted multiset:
/// the writer may reorder attributes inside a section but never drop one.
fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .lines()
        .map(|l| l.trim_end().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    v.sort();
    v
}

#[test]
fn sdp_every_capture_parses_and_round_trips() {
    for (name, text) in CAPTURES {
        let sdp = Sdp::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let written = sdp.to_string();
        assert_eq!(Sdp::parse(&written).unwrap(), sdp, "{name}");
        // Nothing is lost: the same lines come back, modulo the spelling of
        // msid-semantic (written `a=msid-semantic: WMS` as Chrome does).
        let norm = |s: &str| {
            sorted_lines(s)
                .into_iter()
                .map(|l| l.replace("msid-semantic:WMS", "msid-semantic: WMS"))
                .collect::<Vec<_>>()
        };
        let (mut a, mut b) = (norm(text), norm(&written));
        a.sort();
        b.sort();
        assert_eq!(a, b, "{name}");
        assert!(written.ends_with("\r\n"));
    }
}

#[test]
fn sdp_captures_are_typed() {
    let sdp = Sdp::parse(CAPTURES[7].1).unwrap();
    assert_eq!(sdp.bundle_groups().next().unwrap().mids, ["0", "1", "2"]);
    assert!(sdp.attributes.extmap_allow_mixed);
    let audio = &sdp.media[0];
    assert_eq!(audio.media_type, MediaType::Audio);
    assert_eq!(audio.mid.as_deref(), Some("0"));
    assert_eq!(audio.candidates.len(), 2);
    assert_eq!(audio.candidates[1].tcp_type, Some(TcpType::Active));
    assert_eq!(audio.ice.ufrag.as_deref(), Some("UOC/"));
    assert_eq!(audio.setup, Some(Setup::ActPass));
    assert_eq!(audio.fingerprints[0].hash, "sha-256");
    assert_eq!(audio.fingerprints[0].bytes.len(), 32);
    assert_eq!(audio.rtpmap(111).unwrap().channels, Some(2));
    assert_eq!(audio.fmtp(111).unwrap().get("useinbandfec"), Some("1"));
    assert!(audio.rtcp_mux && audio.rtcp_rsize);
    assert_eq!(
        audio.other_attribute("rtcp-xr").unwrap().value.as_deref(),
        Some("rcvr-rtt=all")
    );
    let video = &sdp.media[1];
    assert_eq!(video.ssrc_groups[0].semantics, "FID");
    assert_eq!(video.rtcp_fbs_for(96).count(), 5);
    let data = &sdp.media[2];
    assert_eq!(
        (data.sctp_port, data.max_message_size),
        (Some(5000), Some(262_144))
    );
    let aiortc = Sdp::parse(CAPTURES[3].1).unwrap();
    assert_eq!(aiortc.media[0].fingerprints.len(), 3);
    assert!(aiortc.media[0].end_of_candidates);
}

#[test]
fn sdp_accepts_lf_trailing_spaces_unknown_lines_and_attributes() {
    let text = "v=0\no=- 1 2 IN IP4 127.0.0.1  \ns=-\nu=http://x\nt=0 0\nz=0 0\na=x-custom:1 2  3\na=flag\n\n\
                m=audio 9 RTP/AVP 0\nk=clear:x\na=unknown:thing\na=candidate:1 1 sctp 1 1.1.1.1 1 typ host\n";
    let sdp = Sdp::parse(text).unwrap();
    assert_eq!(
        sdp.extra_lines,
        vec![('u', "http://x".into()), ('z', "0 0".into())]
    );
    assert_eq!(sdp.attributes.other.len(), 2);
    assert_eq!(sdp.attributes.other[0].value.as_deref(), Some("1 2  3"));
    let m = &sdp.media[0];
    assert_eq!(m.extra_lines, vec![('k', "clear:x".into())]);
    // Unknown candidate transports are kept verbatim (RFC 8839 §5.1).
    assert_eq!(m.other.len(), 2);
    assert!(m.candidates.is_empty());
    assert_eq!(Sdp::parse(&sdp.to_string()).unwrap(), sdp);
}

#[test]
fn sdp_rejections_name_the_line_and_reason() {
    use SdpErrorReason as R;
    let head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
    let cases: Vec<(String, usize, R)> = vec![
        ("".into(), 0, R::Version),
        ("v=1\r\n".into(), 1, R::Version),
        ("o=- 1 1 IN IP4 x\r\n".into(), 1, R::Version),
        ("v=0\r\ns=-\r\n".into(), 0, R::MissingOrigin),
        ("v=0\r\no=- 1 x IN IP4 0.0.0.0\r\n".into(), 2, R::Origin),
        (format!("{head}garbage\r\n"), 5, R::BadLine),
        (format!("{head}m=audio x RTP/AVP 0\r\n"), 5, R::Media),
        (format!("{head}m=audio 9\r\n"), 5, R::Media),
        (
            format!("{head}m=audio 9 RTP/AVP 0\r\nv=0\r\n"),
            6,
            R::OutOfPlace,
        ),
        (
            format!("{head}m=audio 9 RTP/AVP 0\r\na=rtpmap:200 x/1\r\n"),
            6,
            R::Attribute("rtpmap"),
        ),
        (
            format!("{head}m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n"),
            6,
            R::Attribute("rtpmap"),
        ),
        (
            format!("{head}a=fingerprint:sha-256 zz:00\r\n"),
            5,
            R::Attribute("fingerprint"),
        ),
        (
            format!("{head}a=setup:sideways\r\n"),
            5,
            R::Attribute("setup"),
        ),
        (
            format!("{head}m=audio 9 RTP/AVP 0\r\na=extmap:0 urn:x\r\n"),
            6,
            R::Attribute("extmap"),
        ),
        (
            format!("{head}m=audio 9 RTP/AVP 0\r\na=ssrc:x cname:y\r\n"),
            6,
            R::Attribute("ssrc"),
        ),
        (
            format!("{head}m=audio 9 RTP/AVP 0\r\na=rid:1 sideways\r\n"),
            6,
            R::Attribute("rid"),
        ),
        (
            format!("{head}m=audio 9 RTP/AVP 0\r\na=simulcast:send\r\n"),
            6,
            R::Attribute("simulcast"),
        ),
        (
            format!("{head}m=application 9 UDP/DTLS/SCTP x\r\na=sctp-port:99999\r\n"),
            6,
            R::Attribute("sctp-port"),
        ),
        (format!("{head}c=IN IP4\r\n"), 5, R::Connection),
        (format!("{head}b=AS:x\r\n"), 5, R::Bandwidth),
        (
            format!("{head}m=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp 1 1.1.1.1 1 typ nope\r\n"),
            6,
            R::Candidate(CandidateParseError::Type),
        ),
    ];
    for (text, line, reason) in cases {
        assert_eq!(
            Sdp::parse(&text),
            Err(SdpParseError { line, reason }),
            "{text:?}"
        );
    }
}

#[test]
fn sdp_limits_are_enforced() {
    let head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
    let big = format!("{head}a={}\r\n", "x".repeat(parse::MAX_LINE_LEN));
    assert_eq!(
        Sdp::parse(&big).unwrap_err().reason,
        SdpErrorReason::LineTooLong
    );
    let many = format!("{head}{}", "a=x\r\n".repeat(parse::MAX_LINES));
    assert_eq!(
        Sdp::parse(&many).unwrap_err().reason,
        SdpErrorReason::TooManyLines
    );
    let media = format!(
        "{head}{}",
        "m=audio 0 RTP/AVP 0\r\n".repeat(parse::MAX_MEDIA_SECTIONS + 1)
    );
    assert_eq!(
        Sdp::parse(&media).unwrap_err(),
        SdpParseError {
            line: 5 + parse::MAX_MEDIA_SECTIONS,
            reason: SdpErrorReason::TooManyMediaSections
        }
    );
    let huge = "v=0\n".repeat(parse::MAX_SDP_LEN / 4 + 1);
    assert_eq!(
        Sdp::parse(&huge).unwrap_err().reason,
        SdpErrorReason::TooLong
    );
}

#[test]
fn sdp_truncation_at_every_byte_never_panics() {
    for (_, text) in CAPTURES {
        for cut in 0..text.len() {
            if let Some(prefix) = text.get(..cut) {
                let _ = Sdp::parse(prefix);
            }
        }
    }
}

#[cfg(feature = "serde")]
#[test]
fn sdp_session_description_json_shape() {
    let d = SessionDescription::offer("v=0\r\n");
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(json, r#"{"type":"offer","sdp":"v=0\r\n"}"#);
    assert_eq!(
        serde_json::from_str::<SessionDescription>(&json).unwrap(),
        d
    );
    let r: SessionDescription = serde_json::from_str(r#"{"type":"rollback"}"#).unwrap();
    assert_eq!(r, SessionDescription::rollback());
    for t in ["answer", "pranswer"] {
        let d: SessionDescription =
            serde_json::from_str(&format!(r#"{{"type":"{t}","sdp":""}}"#)).unwrap();
        assert_eq!(d.sdp_type.as_str(), t);
    }
    assert!(serde_json::from_str::<SessionDescription>(r#"{"type":"bogus","sdp":""}"#).is_err());
}

// ---- proptest: model -> text -> model ----

fn tok() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9+/._-]{1,12}"
}

fn text() -> impl Strategy<Value = String> {
    // Free text: no line breaks, no trailing whitespace.
    "[ -~]{0,20}[!-~]"
        .prop_map(|s| s.trim_start().to_owned())
        .prop_filter("non-empty", |s| !s.is_empty())
}

fn other_attr() -> impl Strategy<Value = Attribute> {
    ("x-[a-z0-9-]{1,8}", proptest::option::of(text()))
        .prop_map(|(name, value)| Attribute { name, value })
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive)
    ]
}

fn fingerprint() -> impl Strategy<Value = Fingerprint> {
    (
        "sha-(1|256|384|512)",
        proptest::collection::vec(any::<u8>(), 1..64),
    )
        .prop_map(|(hash, bytes)| Fingerprint { hash, bytes })
}

fn ice() -> impl Strategy<Value = IceAttributes> {
    (
        proptest::option::of(tok()),
        proptest::option::of(tok()),
        proptest::collection::vec(tok(), 0..3),
    )
        .prop_map(|(ufrag, pwd, options)| IceAttributes {
            ufrag,
            pwd,
            options,
        })
}

fn setup() -> impl Strategy<Value = Setup> {
    prop_oneof![
        Just(Setup::Active),
        Just(Setup::Passive),
        Just(Setup::ActPass),
        Just(Setup::HoldConn)
    ]
}

fn extmap() -> impl Strategy<Value = Extmap> {
    (
        1u16..=4351,
        proptest::option::of(direction()),
        tok(),
        proptest::option::of(tok()),
    )
        .prop_map(|(id, direction, uri, attributes)| Extmap {
            id,
            direction,
            uri,
            attributes,
        })
}

fn addr() -> impl Strategy<Value = CandidateAddress> {
    any::<std::net::SocketAddr>()
        .prop_map(|a| CandidateAddress::Ip(std::net::SocketAddr::new(a.ip(), a.port())))
}

fn candidate() -> impl Strategy<Value = SdpCandidate> {
    (
        "[a-zA-Z0-9+/]{1,32}",
        1u16..=256,
        any::<bool>(),
        any::<u32>(),
        prop_oneof![
            addr(),
            ("[a-z0-9-]{1,20}\\.local", any::<u16>())
                .prop_map(|(n, p)| CandidateAddress::Name(n, p)),
        ],
        0usize..4,
        proptest::option::of(addr()),
        proptest::collection::vec(("x[a-z-]{0,8}", tok()), 0..3),
    )
        .prop_map(
            |(foundation, component, tcp, priority, address, kind, related, extensions)| {
                let kinds = [
                    CandidateKind::Host,
                    CandidateKind::ServerReflexive,
                    CandidateKind::PeerReflexive,
                    CandidateKind::Relayed,
                ];
                SdpCandidate {
                    foundation,
                    component,
                    transport: if tcp {
                        CandidateTransport::Tcp
                    } else {
                        CandidateTransport::Udp
                    },
                    priority,
                    address,
                    kind: kinds[kind],
                    related_address: related,
                    tcp_type: tcp.then_some(TcpType::Passive),
                    extensions,
                }
            },
        )
}

fn simulcast() -> impl Strategy<Value = Simulcast> {
    let list = proptest::collection::vec(
        proptest::collection::vec(
            ("[a-z0-9]{1,4}", any::<bool>()).prop_map(|(id, paused)| SimulcastRid { id, paused }),
            1..3,
        ),
        0..3,
    );
    (list.clone(), list)
        .prop_filter("one side", |(s, r)| !s.is_empty() || !r.is_empty())
        .prop_map(|(send, recv)| Simulcast { send, recv })
}

fn media() -> impl Strategy<Value = MediaDescription> {
    let head = (
        prop_oneof![
            Just(MediaType::Audio),
            Just(MediaType::Video),
            Just(MediaType::Application),
            "x[a-z]{1,5}".prop_map(MediaType::Other)
        ],
        any::<u16>(),
        proptest::option::of(1u16..10),
        "[A-Z/]{3,20}",
        proptest::collection::vec(tok(), 0..5),
        proptest::option::of(text()),
        proptest::option::of(tok()),
        proptest::collection::vec(candidate(), 0..3),
        any::<bool>(),
    );
    let mid = (
        ice(),
        proptest::collection::vec(fingerprint(), 0..3),
        proptest::option::of(setup()),
        proptest::option::of(tok()),
        proptest::option::of(direction()),
        any::<(bool, bool)>(),
        proptest::collection::vec(
            (
                0u8..128,
                "[a-zA-Z0-9._-]{1,12}",
                any::<u32>(),
                proptest::option::of(any::<u16>()),
            )
                .prop_map(|(payload_type, encoding, clock_rate, channels)| RtpMap {
                    payload_type,
                    encoding,
                    clock_rate,
                    channels,
                }),
            0..4,
        ),
        proptest::collection::vec(
            (0u8..128, "[a-z0-9=;-]{0,20}").prop_map(|(payload_type, params)| Fmtp {
                payload_type,
                params,
            }),
            0..3,
        ),
        proptest::collection::vec(
            (
                proptest::option::of(0u8..128),
                tok(),
                proptest::option::of(tok()),
            )
                .prop_map(|(payload_type, fb_type, param)| RtcpFb {
                    payload_type,
                    fb_type,
                    param,
                }),
            0..3,
        ),
    );
    let tail = (
        proptest::collection::vec(extmap(), 0..3),
        proptest::collection::vec(
            (tok(), proptest::collection::vec(any::<u32>(), 0..3))
                .prop_map(|(semantics, ssrcs)| SsrcGroup { semantics, ssrcs }),
            0..2,
        ),
        proptest::collection::vec(
            (any::<u32>(), tok(), proptest::option::of(text())).prop_map(
                |(ssrc, attribute, value)| SsrcAttribute {
                    ssrc,
                    attribute,
                    value,
                },
            ),
            0..3,
        ),
        proptest::collection::vec(
            (tok(), proptest::option::of(tok())).prop_map(|(stream_id, track_id)| Msid {
                stream_id,
                track_id,
            }),
            0..2,
        ),
        proptest::collection::vec(
            (tok(), any::<bool>(), proptest::option::of(tok())).prop_map(|(id, send, params)| {
                Rid {
                    id,
                    direction: if send {
                        RidDirection::Send
                    } else {
                        RidDirection::Recv
                    },
                    params,
                }
            }),
            0..2,
        ),
        proptest::option::of(simulcast()),
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<u64>()),
        proptest::collection::vec(other_attr(), 0..3),
        proptest::collection::vec(
            ("[kx]", text()).prop_map(|(k, v)| (k.chars().next().unwrap_or('k'), v)),
            0..2,
        ),
    );
    (head, mid, tail).prop_map(
        |(
            (media_type, port, port_count, protocol, formats, info, mid, candidates, eoc),
            (
                ice,
                fingerprints,
                setup,
                tls_id,
                direction,
                (rtcp_mux, rtcp_rsize),
                rtpmaps,
                fmtps,
                rtcp_fbs,
            ),
            (
                extmaps,
                ssrc_groups,
                ssrcs,
                msids,
                rids,
                simulcast,
                sctp_port,
                max_message_size,
                other,
                extra_lines,
            ),
        )| {
            let mut m = MediaDescription::new(media_type, port, &protocol, formats);
            m.port_count = port_count;
            m.info = info;
            m.connection = Some(Connection {
                net_type: "IN".into(),
                addr_type: "IP4".into(),
                address: "0.0.0.0".into(),
            });
            m.bandwidths = vec![Bandwidth {
                bw_type: "AS".into(),
                bandwidth: u64::from(port),
            }];
            m.extra_lines = extra_lines;
            m.mid = mid;
            m.ice = ice;
            m.candidates = candidates;
            m.end_of_candidates = eoc;
            m.fingerprints = fingerprints;
            m.setup = setup;
            m.tls_id = tls_id;
            m.direction = direction;
            m.rtcp_mux = rtcp_mux;
            m.rtcp_rsize = rtcp_rsize;
            m.rtpmaps = rtpmaps;
            m.fmtps = fmtps;
            m.rtcp_fbs = rtcp_fbs;
            m.extmaps = extmaps;
            m.ssrc_groups = ssrc_groups;
            m.ssrcs = ssrcs;
            m.msids = msids;
            m.rids = rids;
            m.simulcast = simulcast;
            m.sctp_port = sctp_port;
            m.max_message_size = max_message_size;
            m.other = other;
            m
        },
    )
}

fn sdp() -> impl Strategy<Value = Sdp> {
    let session = (
        (tok(), "[0-9]{1,20}", any::<u64>(), tok()),
        proptest::option::of(text()),
        proptest::collection::vec(
            (tok(), proptest::collection::vec(tok(), 0..4))
                .prop_map(|(semantics, mids)| Group { semantics, mids }),
            0..2,
        ),
        proptest::option::of(
            (tok(), proptest::collection::vec(tok(), 0..2))
                .prop_map(|(semantic, ids)| MsidSemantic { semantic, ids }),
        ),
        any::<(bool, bool)>(),
        ice(),
        proptest::collection::vec(fingerprint(), 0..2),
        proptest::option::of(setup()),
        proptest::option::of(text()),
        proptest::option::of(direction()),
        proptest::collection::vec(extmap(), 0..2),
        proptest::collection::vec(other_attr(), 0..3),
    );
    (
        session,
        proptest::collection::vec(media(), 0..4),
        proptest::option::of(tok()),
    )
        .prop_map(
            |(
                (
                    (user, id, version, addr),
                    info,
                    groups,
                    msid_semantic,
                    (mixed, lite),
                    ice,
                    fingerprints,
                    setup,
                    identity,
                    direction,
                    extmaps,
                    other,
                ),
                media,
                tls_id,
            )| Sdp {
                origin: Origin {
                    username: user,
                    session_id: id,
                    session_version: version,
                    net_type: "IN".into(),
                    addr_type: "IP4".into(),
                    address: addr,
                },
                session_name: "-".into(),
                session_info: info,
                connection: None,
                bandwidths: Vec::new(),
                timing: vec![Timing { start: 0, stop: 0 }],
                extra_lines: vec![('u', "http://example.com".into()), ('z', "0 0".into())],
                attributes: SessionAttributes {
                    groups,
                    msid_semantic,
                    extmap_allow_mixed: mixed,
                    ice_lite: lite,
                    ice,
                    fingerprints,
                    setup,
                    tls_id,
                    identity,
                    direction,
                    extmaps,
                    other,
                },
                media,
            },
        )
}

proptest! {
    #![proptest_config(proptest_config!("sdp"))]

    #[test]
    fn sdp_model_text_model_identity(sdp in sdp()) {
        let text = sdp.to_string();
        let back = Sdp::parse(&text);
        prop_assert_eq!(back.as_ref(), Ok(&sdp), "{}", text);
    }

    #[test]
    fn sdp_parser_never_panics_on_mutations(idx in 0usize..8, pos in any::<prop::sample::Index>(), junk in "[ -~\r\n]{0,12}") {
        let text = CAPTURES[idx].1;
        let p = pos.index(text.len());
        if let (Some(a), Some(b)) = (text.get(..p), text.get(p..)) {
            let _ = Sdp::parse(&format!("{a}{junk}{b}"));
        }
    }
}

#[test]
fn sdp_extra_lines_keep_their_order() {
    // Found by fuzzing: a `p=` line after a `q=` line must come back after it.
    let text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nq=x\r\np=1 5\r\nt=0 0\r\n";
    let sdp = Sdp::parse(text).unwrap();
    assert_eq!(
        sdp.extra_lines,
        vec![('q', "x".into()), ('p', "1 5".into())]
    );
    assert_eq!(Sdp::parse(&sdp.to_string()).unwrap(), sdp);
}

/// `a=fingerprint` values are read as splitting on ':' and reading each
/// piece with `u8::from_str_radix(_, 16)` reads them (the parser's first
/// form): the same digests, the same refusals.
#[test]
fn sdp_fingerprint_values_read_as_split_pairs() {
    fn split_pairs(fp: &str) -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        for pair in fp.split(':') {
            if pair.len() != 2 || bytes.len() >= 64 {
                return None;
            }
            bytes.push(u8::from_str_radix(pair, 16).ok()?);
        }
        Some(bytes)
    }
    let pairs = |n: usize, pair: &str| vec![pair; n].join(":");
    let values = [
        "07:6D:B0:65".to_owned(),
        "0a:fF:Bc".to_owned(),
        "+F:+0:1+".to_owned(),
        "++:00".to_owned(),
        "-1:00".to_owned(),
        "AB".to_owned(),
        "AB:".to_owned(),
        ":AB".to_owned(),
        "A:BC".to_owned(),
        "AB::CD".to_owned(),
        "AB:C:D".to_owned(),
        "AB;CD".to_owned(),
        "ÀB".to_owned(),
        "zz:00".to_owned(),
        pairs(32, "9F"),
        pairs(63, "01"),
        pairs(64, "ff"),
        pairs(65, "ff"),
    ];
    for value in values {
        let text = format!(
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 {value}\r\n"
        );
        let parsed = Sdp::parse(&text)
            .ok()
            .map(|sdp| sdp.attributes.fingerprints[0].bytes.clone());
        assert_eq!(parsed, split_pairs(&value), "{value}");
    }
}
