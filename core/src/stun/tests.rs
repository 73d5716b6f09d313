//! STUN codec tests: RFC 5769 vectors, truncation, round trip.

use std::net::SocketAddr;

use proptest::prelude::*;

use super::*;

// RFC 5769 §2.1-2.4 test vectors.
const TID: [u8; 12] = [
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
];
const PASSWORD: &[u8] = b"VOkJxbRl1RmTxUk/WvJxBt";

#[rustfmt::skip]
const SAMPLE_REQUEST: [u8; 108] = [
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
    0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
    0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
    0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
    0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
    0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
];

#[rustfmt::skip]
const SAMPLE_RESPONSE_V4: [u8; 80] = [
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
    0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
    0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
];

#[rustfmt::skip]
const SAMPLE_RESPONSE_V6: [u8; 92] = [
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
    0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
    0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
    0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
];

#[rustfmt::skip]
const SAMPLE_LONG_TERM: [u8; 116] = [
    0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33,
    0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12,
    0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83,
    0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00, 0x15, 0x00, 0x1c,
    0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36,
    0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79,
    0x36, 0x34, 0x73, 0x41, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d,
    0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x08, 0x00, 0x14,
    0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02, 0xb8, 0xe0, 0x71,
    0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66,
];

#[test]
fn rfc5769_sample_request() {
    let msg = StunMessage::parse(&SAMPLE_REQUEST).unwrap();
    assert_eq!(msg.class(), Class::Request);
    assert_eq!(msg.method(), Method::BINDING);
    assert_eq!(msg.transaction_id(), TransactionId(TID));
    assert_eq!(msg.username(), Some("evtj:h6vY"));
    assert_eq!(msg.priority(), Some(0x6e0001ff));
    assert_eq!(msg.ice_controlled(), Some(0x932ff9b151263b36));
    assert_eq!(
        msg.get(attr_type::SOFTWARE),
        Some(Attribute::Software("STUN test client"))
    );
    assert!(msg.has_fingerprint());
    assert_eq!(msg.check_integrity(PASSWORD), Integrity::Valid);
    assert_eq!(msg.check_integrity(b"wrong"), Integrity::Invalid);
    assert!(!msg.has_unknown_required());
}

#[test]
fn rfc5769_sample_responses() {
    for (bytes, addr) in [
        (&SAMPLE_RESPONSE_V4[..], "192.0.2.1:32853"),
        (
            &SAMPLE_RESPONSE_V6[..],
            "[2001:db8:1234:5678:11:2233:4455:6677]:32853",
        ),
    ] {
        let msg = StunMessage::parse(bytes).unwrap();
        assert_eq!(msg.class(), Class::Success);
        assert_eq!(msg.method(), Method::BINDING);
        assert_eq!(msg.mapped_address(), Some(addr.parse().unwrap()));
        assert_eq!(msg.check_integrity(PASSWORD), Integrity::Valid);
        assert_eq!(
            msg.get(attr_type::SOFTWARE),
            Some(Attribute::Software("test vector"))
        );
    }
}

#[test]
fn rfc5769_long_term_credentials() {
    let msg = StunMessage::parse(&SAMPLE_LONG_TERM).unwrap();
    let user = "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}";
    assert_eq!(msg.username(), Some(user));
    assert_eq!(
        msg.get(attr_type::NONCE),
        Some(Attribute::Nonce("f//499k954d6OL34oL9FSTvy64sA"))
    );
    assert_eq!(
        msg.get(attr_type::REALM),
        Some(Attribute::Realm("example.org"))
    );
    assert!(!msg.has_fingerprint());
    // RFC 5769 §2.4: the password "TheMatrIX" after SASLprep.
    let key = long_term_key(user, "example.org", "TheMatrIX");
    assert_eq!(msg.check_integrity(&key), Integrity::Valid);
    let wrong = long_term_key(user, "example.org", "TheMatrix");
    assert_eq!(msg.check_integrity(&wrong), Integrity::Invalid);
}

/// The writer reproduces the RFC 5769 IPv4 response byte for byte, once
/// SOFTWARE's padding is the RFC's space instead of our zero.
#[test]
fn writer_integrity_and_fingerprint_match_rfc5769() {
    // Build the response's prefix with the RFC's space padding, then let the
    // writer append MESSAGE-INTEGRITY and FINGERPRINT to it.
    let mut buf = [0u8; 128];
    let mut w = MessageWriter::new(
        &mut buf,
        Class::Success,
        Method::BINDING,
        TransactionId(TID),
    )
    .unwrap();
    w.add(&Attribute::Software("test vector")).unwrap();
    w.add(&Attribute::XorMappedAddress(
        "192.0.2.1:32853".parse().unwrap(),
    ))
    .unwrap();
    w.pad_byte_for_test(35, 0x20);
    w.add_integrity(PASSWORD).unwrap();
    let n = w.finish(true).unwrap();
    assert_eq!(&buf[..n], &SAMPLE_RESPONSE_V4[..]);
}

/// RFC 8489 §14: the padding we send is zeros, whatever the buffer held
/// before (a reused one), for every value length's padding.
#[test]
fn padding_is_zero_in_a_dirty_buffer() {
    for len in 0..=12 {
        let name = "abcdefghijkl".get(..len).unwrap();
        let mut buf = [0xAAu8; 96];
        let mut w = MessageWriter::new(
            &mut buf,
            Class::Request,
            Method::BINDING,
            TransactionId(TID),
        )
        .unwrap();
        w.add(&Attribute::Username(name)).unwrap();
        w.add(&Attribute::Priority(7)).unwrap();
        let n = w.finish(true).unwrap();
        let padded = len.div_ceil(4) * 4;
        assert_eq!(&buf[24..24 + len], name.as_bytes(), "{len}");
        assert!(buf[24 + len..24 + padded].iter().all(|&b| b == 0), "{len}");
        let msg = StunMessage::parse(&buf[..n]).unwrap();
        assert_eq!(msg.username(), Some(name));
    }
}

#[test]
fn truncation_at_every_byte_fails_cleanly() {
    for vector in [
        &SAMPLE_REQUEST[..],
        &SAMPLE_RESPONSE_V4[..],
        &SAMPLE_RESPONSE_V6[..],
        &SAMPLE_LONG_TERM[..],
    ] {
        for cut in 0..vector.len() {
            assert!(StunMessage::parse(&vector[..cut]).is_err(), "cut at {cut}");
        }
        assert!(StunMessage::parse(vector).is_ok());
    }
}

#[test]
fn any_bit_flip_is_caught_by_fingerprint_or_integrity() {
    // Everything up to the end of MESSAGE-INTEGRITY is covered by the HMAC
    // (flips after it may turn FINGERPRINT into an ignored attribute).
    for byte in 0..SAMPLE_REQUEST.len() - 8 {
        for bit in 0..8 {
            let mut m = SAMPLE_REQUEST;
            m[byte] ^= 1 << bit;
            if let Ok(msg) = StunMessage::parse(&m) {
                assert_ne!(msg.check_integrity(PASSWORD), Integrity::Valid);
            }
        }
    }
}

#[test]
fn fingerprint_must_be_last_and_attributes_after_integrity_are_ignored() {
    let mut buf = [0u8; 128];
    let tid = TransactionId([1; 12]);
    let mut w = MessageWriter::new(&mut buf, Class::Request, Method::BINDING, tid).unwrap();
    w.add(&Attribute::Username("u:v")).unwrap();
    w.add_integrity(b"pw").unwrap();
    w.add(&Attribute::Priority(7)).unwrap();
    w.add(&Attribute::Username("x:y")).unwrap();
    let n = w.finish(false).unwrap();
    let msg = StunMessage::parse(&buf[..n]).unwrap();
    assert_eq!(msg.priority(), None, "PRIORITY after MESSAGE-INTEGRITY");
    assert!(!msg.has(attr_type::PRIORITY));
    assert_eq!(msg.username(), Some("u:v"), "USERNAME after it is ignored");
    assert_eq!(msg.check_integrity(b"pw"), Integrity::Valid);

    // Something after FINGERPRINT: not a valid message.
    let mut w = MessageWriter::new(&mut buf, Class::Request, Method::BINDING, tid).unwrap();
    w.add(&Attribute::Username("u:v")).unwrap();
    let n = w.finish(true).unwrap();
    let mut longer = buf[..n].to_vec();
    longer.extend_from_slice(&[0x00, 0x24, 0x00, 0x04, 0, 0, 0, 1]);
    longer[3] += 8;
    assert_eq!(
        StunMessage::parse(&longer).unwrap_err(),
        ParseError::BadFingerprint
    );
}

#[test]
fn unknown_comprehension_required_attributes_are_listed() {
    let mut buf = [0u8; 256];
    let tid = TransactionId([2; 12]);
    let mut w = MessageWriter::new(&mut buf, Class::Request, Method::BINDING, tid).unwrap();
    w.add(&Attribute::Other {
        typ: 0x7777,
        value: b"x",
    })
    .unwrap();
    w.add(&Attribute::Other {
        typ: 0xC001,
        value: b"optional",
    })
    .unwrap();
    for typ in 0x7000..0x7000 + MAX_UNKNOWN_LISTED as u16 + 2 {
        w.add(&Attribute::Other { typ, value: &[] }).unwrap();
    }
    let n = w.finish(true).unwrap();
    let msg = StunMessage::parse(&buf[..n]).unwrap();
    assert!(msg.has_unknown_required());
    assert_eq!(msg.unknown_required().len(), MAX_UNKNOWN_LISTED);
    assert_eq!(msg.unknown_required()[0], 0x7777);
    assert!(!msg.unknown_required().contains(&0xC001));

    // Only comprehension-optional unknowns: nothing to answer.
    let mut w = MessageWriter::new(&mut buf, Class::Request, Method::BINDING, tid).unwrap();
    w.add(&Attribute::Other {
        typ: 0xC001,
        value: b"optional",
    })
    .unwrap();
    let n = w.finish(false).unwrap();
    assert!(!StunMessage::parse(&buf[..n])
        .unwrap()
        .has_unknown_required());
}

#[test]
fn malformed_known_attributes_are_rejected() {
    let tid = TransactionId([3; 12]);
    for (typ, value) in [
        (attr_type::PRIORITY, &[0u8, 1, 2][..]),
        (attr_type::USE_CANDIDATE, &[0u8; 4][..]),
        (attr_type::XOR_MAPPED_ADDRESS, &[0u8, 1, 0, 0, 1, 2][..]),
        (
            attr_type::XOR_MAPPED_ADDRESS,
            &[0u8, 3, 0, 0, 1, 2, 3, 4][..],
        ),
        (attr_type::ERROR_CODE, &[0u8, 0, 7, 0][..]),
        (attr_type::ERROR_CODE, &[0u8, 0, 4, 100][..]),
        (attr_type::USERNAME, &[0xffu8, 0xfe][..]),
        (attr_type::MESSAGE_INTEGRITY, &[0u8; 16][..]),
        (attr_type::MESSAGE_INTEGRITY_SHA256, &[0u8; 12][..]),
        (attr_type::UNKNOWN_ATTRIBUTES, &[0u8; 3][..]),
    ] {
        let mut buf = [0u8; 64];
        let mut w = MessageWriter::new(&mut buf, Class::Request, Method::BINDING, tid).unwrap();
        w.add(&Attribute::Other { typ, value }).unwrap();
        let n = w.finish(false).unwrap();
        assert_eq!(
            StunMessage::parse(&buf[..n]).unwrap_err(),
            ParseError::BadAttribute(typ),
            "type {typ:#x}"
        );
    }
}

#[test]
fn header_checks() {
    assert_eq!(StunMessage::parse(&[]).unwrap_err(), ParseError::Truncated);
    let mut m = SAMPLE_RESPONSE_V4;
    m[0] |= 0x80;
    assert_eq!(StunMessage::parse(&m).unwrap_err(), ParseError::NotStun);
    let mut m = SAMPLE_RESPONSE_V4;
    m[5] ^= 1;
    assert_eq!(StunMessage::parse(&m).unwrap_err(), ParseError::NotStun);
    let mut m = SAMPLE_RESPONSE_V4.to_vec();
    m.extend_from_slice(&[0; 4]);
    assert_eq!(StunMessage::parse(&m).unwrap_err(), ParseError::BadLength);
    assert!(is_stun(&SAMPLE_REQUEST));
    assert!(!is_stun(&SAMPLE_REQUEST[..19]));
}

#[test]
fn writer_refuses_reserved_and_too_long_and_small_buffers() {
    let tid = TransactionId([4; 12]);
    let mut buf = [0u8; 40];
    let mut w = MessageWriter::new(&mut buf, Class::Request, Method::BINDING, tid).unwrap();
    assert_eq!(
        w.add(&Attribute::Fingerprint(1)),
        Err(EncodeError::Reserved(attr_type::FINGERPRINT))
    );
    assert_eq!(
        w.add(&Attribute::Data(&[0; 64])),
        Err(EncodeError::BufferTooSmall)
    );
    let long = "x".repeat(600);
    assert_eq!(
        w.add(&Attribute::Username(&long)),
        Err(EncodeError::TooLong(attr_type::USERNAME))
    );
    assert_eq!(
        w.add(&Attribute::ErrorCode(ErrorCode {
            code: 200,
            reason: ""
        })),
        Err(EncodeError::BadErrorCode(200))
    );
    // Nothing of the failed attempts is left behind.
    assert_eq!(w.len(), HEADER_LEN);
    let n = w.finish(true).unwrap();
    let msg = StunMessage::parse(&buf[..n]).unwrap();
    assert_eq!(msg.attributes().count(), 1);
    assert!(MessageWriter::new(&mut [0u8; 10], Class::Request, Method::BINDING, tid).is_err());
}

#[test]
fn message_type_bits_round_trip() {
    for m in 0..0x1000u16 {
        for class in [
            Class::Request,
            Class::Indication,
            Class::Success,
            Class::Error,
        ] {
            let t = message_type(class, Method(m));
            assert!(t < 0x4000);
            assert_eq!(split_message_type(t), (class, Method(m)));
        }
    }
    // RFC 8489 §6: Binding request 0x0001, success 0x0101, error 0x0111.
    assert_eq!(message_type(Class::Request, Method::BINDING), 0x0001);
    assert_eq!(message_type(Class::Success, Method::BINDING), 0x0101);
    assert_eq!(message_type(Class::Error, Method::BINDING), 0x0111);
    assert_eq!(message_type(Class::Indication, Method::BINDING), 0x0011);
}

fn arb_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::from((ip, p))),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::from((ip, p))),
    ]
}

/// Owned stand-in for an attribute, so proptest can generate borrowed ones.
#[derive(Debug, Clone)]
enum Owned {
    Mapped(SocketAddr),
    XorMapped(SocketAddr),
    Alternate(SocketAddr),
    Relayed(SocketAddr),
    Peer(SocketAddr),
    Username(String),
    Software(String),
    Realm(String),
    Nonce(String),
    Priority(u32),
    UseCandidate,
    Controlling(u64),
    Controlled(u64),
    Lifetime(u32),
    Transport(u8),
    Channel(u16),
    Data(Vec<u8>),
    Error(u16, String),
    Unknown(Vec<u16>),
    Other(u16, Vec<u8>),
}

impl Owned {
    fn attr(&self) -> Attribute<'_> {
        match self {
            Self::Mapped(a) => Attribute::MappedAddress(*a),
            Self::XorMapped(a) => Attribute::XorMappedAddress(*a),
            Self::Alternate(a) => Attribute::AlternateServer(*a),
            Self::Relayed(a) => Attribute::XorRelayedAddress(*a),
            Self::Peer(a) => Attribute::XorPeerAddress(*a),
            Self::Username(s) => Attribute::Username(s),
            Self::Software(s) => Attribute::Software(s),
            Self::Realm(s) => Attribute::Realm(s),
            Self::Nonce(s) => Attribute::Nonce(s),
            Self::Priority(p) => Attribute::Priority(*p),
            Self::UseCandidate => Attribute::UseCandidate,
            Self::Controlling(v) => Attribute::IceControlling(*v),
            Self::Controlled(v) => Attribute::IceControlled(*v),
            Self::Lifetime(v) => Attribute::Lifetime(*v),
            Self::Transport(v) => Attribute::RequestedTransport(*v),
            Self::Channel(v) => Attribute::ChannelNumber(*v),
            Self::Data(v) => Attribute::Data(v),
            Self::Error(code, r) => Attribute::ErrorCode(ErrorCode {
                code: *code,
                reason: r,
            }),
            Self::Unknown(l) => Attribute::UnknownAttributes(UnknownAttributes::new(l)),
            Self::Other(typ, v) => Attribute::Other {
                typ: *typ,
                value: v,
            },
        }
    }
}

fn arb_owned() -> impl Strategy<Value = Owned> {
    let text = "[a-zA-Z0-9:+/ \u{e9}\u{30DE}]{0,40}";
    prop_oneof![
        arb_addr().prop_map(Owned::Mapped),
        arb_addr().prop_map(Owned::XorMapped),
        arb_addr().prop_map(Owned::Alternate),
        arb_addr().prop_map(Owned::Relayed),
        arb_addr().prop_map(Owned::Peer),
        text.prop_map(Owned::Username),
        text.prop_map(Owned::Software),
        text.prop_map(Owned::Realm),
        text.prop_map(Owned::Nonce),
        any::<u32>().prop_map(Owned::Priority),
        Just(Owned::UseCandidate),
        any::<u64>().prop_map(Owned::Controlling),
        any::<u64>().prop_map(Owned::Controlled),
        any::<u32>().prop_map(Owned::Lifetime),
        any::<u8>().prop_map(Owned::Transport),
        any::<u16>().prop_map(Owned::Channel),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Owned::Data),
        (300u16..700, text).prop_map(|(c, r)| Owned::Error(c, r)),
        proptest::collection::vec(any::<u16>(), 0..6).prop_map(Owned::Unknown),
        // Unassigned comprehension-optional types in 0xC000..: undecoded.
        (
            0xC000u16..0xFFFF,
            proptest::collection::vec(any::<u8>(), 0..32)
        )
            .prop_map(|(t, v)| Owned::Other(t, v)),
    ]
}

proptest! {
    #![proptest_config(crate::testutil::proptest_config!("stun"))]

    #[test]
    fn round_trip(
        class in prop_oneof![Just(Class::Request), Just(Class::Indication), Just(Class::Success), Just(Class::Error)],
        method in 0u16..0x1000,
        tid in any::<[u8; 12]>(),
        attrs in proptest::collection::vec(arb_owned(), 0..8),
        key in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..40)),
        sha256 in any::<bool>(),
        fingerprint in any::<bool>(),
    ) {
        let mut buf = [0u8; 2048];
        let mut w = MessageWriter::new(&mut buf, class, Method(method), TransactionId(tid)).unwrap();
        for a in &attrs {
            w.add(&a.attr()).unwrap();
        }
        if let Some(key) = &key {
            if sha256 { w.add_integrity_sha256(key).unwrap() } else { w.add_integrity(key).unwrap() }
        }
        let n = w.finish(fingerprint).unwrap();
        let msg = StunMessage::parse(&buf[..n]).unwrap();
        prop_assert_eq!(msg.class(), class);
        prop_assert_eq!(msg.method(), Method(method));
        prop_assert_eq!(msg.transaction_id(), TransactionId(tid));
        prop_assert_eq!(msg.has_fingerprint(), fingerprint);
        let got: Vec<_> = msg
            .attributes()
            .filter(|a| !matches!(a, Attribute::MessageIntegrity(_) | Attribute::MessageIntegritySha256(_) | Attribute::Fingerprint(_)))
            .collect();
        let want: Vec<_> = attrs.iter().map(Owned::attr).collect();
        prop_assert_eq!(&got, &want);
        // `get` and the typed accessors read what the general decode
        // reads: the first attribute of each type.
        for a in &want {
            let first = want.iter().find(|b| b.typ() == a.typ()).copied();
            prop_assert!(msg.has(a.typ()));
            prop_assert_eq!(msg.get(a.typ()), first);
            match first {
                Some(Attribute::Username(u)) => prop_assert_eq!(msg.username(), Some(u)),
                Some(Attribute::Priority(p)) => prop_assert_eq!(msg.priority(), Some(p)),
                Some(Attribute::IceControlling(v)) => prop_assert_eq!(msg.ice_controlling(), Some(v)),
                Some(Attribute::IceControlled(v)) => prop_assert_eq!(msg.ice_controlled(), Some(v)),
                _ => {}
            }
        }
        // And nothing where there is none.
        let absent = |typ| !want.iter().any(|a| a.typ() == typ);
        prop_assert_eq!(msg.username().is_none(), absent(attr_type::USERNAME));
        prop_assert_eq!(msg.priority().is_none(), absent(attr_type::PRIORITY));
        prop_assert_eq!(msg.ice_controlling().is_none(), absent(attr_type::ICE_CONTROLLING));
        prop_assert_eq!(msg.ice_controlled().is_none(), absent(attr_type::ICE_CONTROLLED));
        match &key {
            Some(key) => {
                prop_assert_eq!(msg.check_integrity(key), Integrity::Valid);
                let mut other = key.clone();
                other[0] ^= 1;
                prop_assert_eq!(msg.check_integrity(&other), Integrity::Invalid);
            }
            None => prop_assert_eq!(msg.check_integrity(b"k"), Integrity::Missing),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(msg) = StunMessage::parse(&bytes) {
            let _ = msg.attributes().count();
            let _ = msg.check_integrity(b"key");
        }
    }
}

#[test]
fn attributes_past_the_index_are_found_by_walking() {
    // More attributes than `parse` indexes: `get` falls back to walking
    // them, and finds the first of a type either way.
    for before in [0usize, 7, 12] {
        let mut buf = [0u8; 512];
        let tid = TransactionId(TID);
        let mut w = MessageWriter::new(&mut buf, Class::Request, Method::BINDING, tid).unwrap();
        for i in 0..before {
            w.add(&Attribute::Other {
                typ: 0x8100 + i as u16,
                value: b"x",
            })
            .unwrap();
        }
        w.add(&Attribute::Priority(7)).unwrap();
        w.add(&Attribute::Priority(8)).unwrap();
        w.add(&Attribute::Username("a:b")).unwrap();
        let n = w.finish(true).unwrap();
        let msg = StunMessage::parse(&buf[..n]).unwrap();
        assert_eq!(msg.priority(), Some(7), "{before}");
        assert_eq!(msg.username(), Some("a:b"), "{before}");
        assert!(msg.get(attr_type::USE_CANDIDATE).is_none(), "{before}");
    }
}
