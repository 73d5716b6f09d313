use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use proptest::prelude::*;

use super::message::{self, Message, ParseError, Question, TYPE_A};
use super::*;
use crate::testutil::epoch;

const NAME: &str = "1f2e3d4c-aaaa-4bbb-8ccc-0123456789ab.local";

fn querier() -> SocketAddr {
    "192.168.1.20:40000".parse().unwrap()
}

#[test]
fn a_one_shot_query_is_answered_by_unicast_and_resolves() {
    let now = epoch();
    let mut resolver = MdnsResolver::new();
    let mut responder = MdnsResponder::new();
    let ip: IpAddr = "192.168.1.10".parse().unwrap();
    assert!(responder.publish(NAME, ip));
    assert!(resolver.resolve(now, NAME));
    let query = resolver.poll_transmit().expect("a query at once");
    assert_eq!(resolver.poll_transmit(), None);
    // Another name's query gets no answer.
    let mut other = MdnsResolver::new();
    other.resolve(now, "other.local");
    assert_eq!(
        responder.handle_query(&other.poll_transmit().unwrap(), querier()),
        None
    );
    let (reply, to) = responder.handle_query(&query, querier()).expect("answered");
    // RFC 6762 §6.7: back to the querier's port, the query's ID and
    // question repeated, TTL at most 10 s.
    assert_eq!(to, querier());
    let parsed = Message::parse(&reply).unwrap();
    assert_eq!(parsed.id, Message::parse(&query).unwrap().id);
    assert!(parsed.is_response);
    assert_eq!(parsed.questions.len(), 1);
    assert_eq!(parsed.addresses[0].ttl, 10);
    resolver.handle_receive(&reply);
    assert_eq!(
        resolver.poll_result(),
        Some(MdnsResolution::Resolved {
            name: NAME.into(),
            ip
        })
    );
    assert_eq!(resolver.poll_timeout(), None);
    assert_eq!(responder.answered, 1);
}

#[test]
fn an_unanswered_name_is_asked_three_times_then_fails() {
    let t0 = epoch();
    let mut r = MdnsResolver::new();
    r.resolve(t0, NAME);
    // Asking again while pending sends nothing more.
    r.resolve(t0, &NAME.to_uppercase().replace(".LOCAL", ".local"));
    let mut sent = vec![];
    while r.poll_transmit().is_some() {
        sent.push(Duration::ZERO);
    }
    let mut now = t0;
    while let Some(at) = r.poll_timeout() {
        now = at;
        r.handle_timeout(now);
        while r.poll_transmit().is_some() {
            sent.push(now - t0);
        }
        if let Some(res) = r.poll_result() {
            assert_eq!(res, MdnsResolution::Failed { name: NAME.into() });
            break;
        }
    }
    assert_eq!(
        sent,
        vec![
            Duration::ZERO,
            Duration::from_secs(1),
            Duration::from_secs(3)
        ]
    );
    assert_eq!(now - t0, Duration::from_secs(7));
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn multicast_queries_get_multicast_answers_and_qu_gets_unicast() {
    let mut responder = MdnsResponder::new();
    let v6: IpAddr = "fd00::5".parse().unwrap();
    responder.publish(NAME, v6);
    let from_5353: SocketAddr = "192.168.1.20:5353".parse().unwrap();
    let q = message::query(0, NAME);
    let (reply, to) = responder.handle_query(&q, from_5353).unwrap();
    assert_eq!(to, MDNS_V4);
    let m = Message::parse(&reply).unwrap();
    assert_eq!((m.id, m.questions.len()), (0, 0));
    assert_eq!(m.addresses[0].ip, v6);
    assert_eq!(m.addresses[0].ttl, 120);
    // Cache-flush set: byte after TYPE in the record's class.
    let class_at = reply.len() - 16 - 2 - 4 - 2;
    assert_eq!(reply[class_at] & 0x80, 0x80);
    // QU: the top bit of the question class.
    let mut qu = q.clone();
    let first_class = 12 + NAME.len() + 2 + 2;
    qu[first_class] |= 0x80;
    let qu_class = 12 + 2 * (NAME.len() + 2) + 2 + 2 + 2;
    qu[qu_class] |= 0x80;
    assert_eq!(responder.handle_query(&qu, from_5353).unwrap().1, from_5353);
    // An A question for an IPv6-only name: nothing.
    let mut a_only = Vec::new();
    a_only.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for l in NAME.split('.') {
        a_only.push(l.len() as u8);
        a_only.extend_from_slice(l.as_bytes());
    }
    a_only.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(responder.handle_query(&a_only, from_5353), None);
    // Responses are not queries.
    assert_eq!(responder.handle_query(&reply, from_5353), None);
}

#[test]
fn a_compressed_answer_as_responders_write_it_resolves() {
    // Legacy unicast answer whose record name points at the question's
    // (RFC 1035 §4.1.4): c0 0c.
    let mut r = MdnsResolver::new();
    r.resolve(epoch(), "abc.local");
    let id = Message::parse(&r.poll_transmit().unwrap()).unwrap().id;
    let mut m = vec![(id >> 8) as u8, id as u8, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0];
    m.extend_from_slice(b"\x03abc\x05local\x00\x00\x01\x00\x01");
    m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 10, 0, 4, 10, 0, 0, 7]);
    r.handle_receive(&m);
    assert_eq!(
        r.poll_result(),
        Some(MdnsResolution::Resolved {
            name: "abc.local".into(),
            ip: "10.0.0.7".parse().unwrap()
        })
    );
}

#[test]
fn hostile_names_and_messages_are_refused() {
    let head = [0u8, 0, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    let with = |tail: &[u8]| [&head[..], tail].concat();
    // A pointer to itself, a forward pointer, a label past the end, a
    // 64-byte label, a name over 255 bytes, an opcode, truncation.
    assert_eq!(
        Message::parse(&with(&[0xc0, 12, 0, 1, 0, 1])),
        Err(ParseError::BadName)
    );
    assert_eq!(
        Message::parse(&with(&[0xc0, 40, 0, 1, 0, 1])),
        Err(ParseError::BadName)
    );
    assert_eq!(
        Message::parse(&with(&[9, b'a'])),
        Err(ParseError::Truncated)
    );
    let mut long_label = vec![64];
    long_label.extend_from_slice(&[b'a'; 64]);
    long_label.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(Message::parse(&with(&long_label)), Err(ParseError::BadName));
    let mut long_name = Vec::new();
    for _ in 0..5 {
        long_name.push(60);
        long_name.extend_from_slice(&[b'a'; 60]);
    }
    long_name.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(Message::parse(&with(&long_name)), Err(ParseError::BadName));
    let mut op = with(&[0, 0, 1, 0, 1]);
    op[2] |= 0x08;
    assert_eq!(Message::parse(&op), Err(ParseError::NotStandard));
    assert_eq!(Message::parse(&head[..5]), Err(ParseError::Truncated));
    let mut r = MdnsResolver::new();
    r.handle_receive(&head[..3]);
    assert_eq!(r.ignored, 1);
    for bad in [
        "",
        "local",
        ".local",
        "a..b.local",
        "a b.local",
        "x.com",
        "a.local.",
    ] {
        assert!(!valid_local_name(bad), "{bad:?}");
        assert!(!r.resolve(epoch(), bad));
    }
    assert!(valid_local_name("Host-1.local"));
}

#[test]
fn pending_names_are_bounded() {
    let mut r = MdnsResolver::new();
    for i in 0..MAX_PENDING_QUERIES {
        assert!(r.resolve(epoch(), &format!("h{i}.local")));
    }
    assert!(!r.resolve(epoch(), "one-more.local"));
    let mut p = MdnsResponder::new();
    for i in 0..MAX_PUBLISHED_NAMES {
        assert!(p.publish(&format!("h{i}.local"), "10.0.0.1".parse().unwrap()));
    }
    assert!(!p.publish("one-more.local", "10.0.0.1".parse().unwrap()));
}

#[test]
fn the_question_of_a_query_reads_back() {
    let q = Message::parse(&message::query(7, NAME)).unwrap();
    assert_eq!(
        q.questions[0],
        Question {
            name: NAME.into(),
            qtype: TYPE_A,
            unicast_response: false
        }
    );
}

proptest! {
    #[test]
    fn arbitrary_datagrams_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut r = MdnsResolver::new();
        r.resolve(epoch(), NAME);
        r.handle_receive(&data);
        let mut p = MdnsResponder::new();
        p.publish(NAME, "10.0.0.1".parse().unwrap());
        let _ = p.handle_query(&data, querier());
    }
}
