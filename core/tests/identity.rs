//! The identity hook between two eddys (W3C webrtc-identity, RFC 8827 §7):
//! each side's provider signs its DTLS fingerprints into `a=identity`, the
//! other validates it and learns `peerIdentity`, and the DTLS handshake then
//! checks the very certificate the assertion named. A signaling-path
//! attacker who swaps the fingerprint, an IdP that names another domain, a
//! peer that is not the expected one, a provider that needs a login and
//! garbage in `a=identity` are all refused with the W3C error details.
#![cfg(feature = "sim")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::sim::{Link, LinkConfig, Sim};
use eddy::{
    Configuration, DtlsTransportState, Event, IdentityAssertion, IdentityAssertionResult,
    IdentityProvider, IdentityProviderDetails, IdentityProviderOptions, IdentityValidationResult,
    IdpError, IdpErrorDetail, JsepError, Output, PeerConnection, Protocol, SessionDescription,
};
use openssl::hash::{hash, MessageDigest};

/// A toy IdP: an assertion is `identity|contents|tag` with a tag keyed by a
/// secret the IdP's domain shares with its relying parties.
struct ToyIdp {
    domain: String,
    identity: String,
    secret: Vec<u8>,
    /// Refuse to sign until "logged in".
    needs_login: bool,
}

fn tag(secret: &[u8], identity: &str, contents: &str) -> String {
    let mut m = secret.to_vec();
    m.extend_from_slice(identity.as_bytes());
    m.push(0);
    m.extend_from_slice(contents.as_bytes());
    let d = hash(MessageDigest::sha256(), &m).unwrap();
    d.iter().map(|b| format!("{b:02x}")).collect()
}

impl IdentityProvider for ToyIdp {
    fn generate_assertion(
        &mut self,
        contents: &str,
        _origin: &str,
        options: &IdentityProviderOptions,
    ) -> Result<IdentityAssertionResult, IdpError> {
        if self.needs_login {
            return Err(IdpError {
                login_url: Some(format!("https://{}/login", self.domain)),
                ..IdpError::new(IdpErrorDetail::NeedLogin, "log in first")
            });
        }
        Ok(IdentityAssertionResult {
            idp: IdentityProviderDetails {
                domain: self.domain.clone(),
                protocol: options.protocol.clone(),
            },
            assertion: format!(
                "{}|{}|{}",
                self.identity,
                contents,
                tag(&self.secret, &self.identity, contents)
            ),
        })
    }

    fn validate_assertion(
        &mut self,
        idp: &IdentityProviderDetails,
        assertion: &str,
        _origin: &str,
    ) -> Result<IdentityValidationResult, IdpError> {
        let invalid = || IdpError::new(IdpErrorDetail::TokenInvalid, "bad assertion");
        if idp.domain != self.domain {
            return Err(IdpError::new(
                IdpErrorDetail::LoadFailure,
                format!("{} is not an IdP we trust", idp.domain),
            ));
        }
        let (identity, rest) = assertion.split_once('|').ok_or_else(invalid)?;
        let (contents, t) = rest.rsplit_once('|').ok_or_else(invalid)?;
        if tag(&self.secret, identity, contents) != t {
            return Err(invalid());
        }
        Ok(IdentityValidationResult {
            identity: identity.into(),
            contents: contents.into(),
        })
    }
}

fn idp(identity: &str) -> Box<ToyIdp> {
    Box::new(ToyIdp {
        domain: "example.org".into(),
        identity: identity.into(),
        secret: b"shared by example.org".to_vec(),
        needs_login: false,
    })
}

#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

fn peer(seed: u64, config: Configuration, who: Option<&str>) -> PeerConnection {
    peer_at(now(), seed, config, who)
}

fn peer_at(at: Instant, seed: u64, config: Configuration, who: Option<&str>) -> PeerConnection {
    let mut pc = PeerConnection::new(config.with_seed(seed), at).unwrap();
    if let Some(who) = who {
        pc.set_identity_provider("example.org", IdentityProviderOptions::default(), idp(who));
    }
    pc.create_data_channel("chat", &Default::default()).unwrap();
    pc
}

fn events(pc: &mut PeerConnection) -> Vec<Event> {
    let mut out = Vec::new();
    loop {
        match pc.poll_output() {
            Output::Event(e) => out.push(e),
            Output::Transmit(_) => {}
            Output::Timeout(_) => return out,
        }
    }
}

fn identity_attr(d: &SessionDescription) -> Option<&str> {
    d.sdp.lines().find_map(|l| l.strip_prefix("a=identity:"))
}

fn expecting(name: &str) -> Configuration {
    let mut c = Configuration::default();
    c.peer_identity = Some(name.into());
    c
}

fn validation_error(pc: &mut PeerConnection) -> Option<IdpErrorDetail> {
    events(pc).into_iter().find_map(|e| match e {
        Event::IdpValidationError(e) => Some(e.error.detail),
        _ => None,
    })
}

#[test]
fn both_sides_learn_the_peer_identity_and_dtls_checks_the_signed_certificate() {
    let mut sim = Sim::new(11, now());
    let internet = sim.internet();
    let (a_addr, b_addr): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:5000".parse().unwrap(),
    );
    let t0 = sim.now();
    let mut a = peer_at(t0, 1, Configuration::default(), Some("alice@example.org"));
    // B accepts only Alice.
    let mut b = peer_at(
        t0,
        2,
        expecting("alice@example.org"),
        Some("bob@example.org"),
    );
    for (pc, addr) in [(&mut a, a_addr), (&mut b, b_addr)] {
        pc.add_local_candidate(addr, Protocol::Udp).unwrap();
        pc.end_of_local_candidates();
    }
    let offer = a.create_offer().unwrap();
    assert!(
        identity_attr(&offer).is_some(),
        "the offer carries a=identity"
    );
    a.set_local_description(offer).unwrap();
    // With the candidates gathered since (and the same a=identity).
    b.set_remote_description(a.local_description().cloned().unwrap())
        .unwrap();
    let alice = IdentityAssertion {
        idp: "example.org".into(),
        name: "alice@example.org".into(),
    };
    assert_eq!(b.peer_identity(), Some(&alice));
    assert!(events(&mut b).contains(&Event::PeerIdentity(alice)));
    let answer = b.create_answer().unwrap();
    assert!(
        identity_attr(&answer).is_some(),
        "the answer carries a=identity"
    );
    b.set_local_description(answer).unwrap();
    a.set_remote_description(b.local_description().cloned().unwrap())
        .unwrap();
    assert_eq!(
        a.peer_identity().map(|p| p.name.as_str()),
        Some("bob@example.org")
    );
    let link = Link::symmetric(LinkConfig {
        delay: Duration::from_millis(10),
        ..LinkConfig::default()
    });
    let (a, b) = (
        sim.add_node(internet, a_addr.ip(), a, link),
        sim.add_node(internet, b_addr.ip(), b, link),
    );
    let connected = |s: &Sim| {
        [a, b].iter().all(|&n| {
            s.events(n)
                .any(|(_, e)| *e == Event::DtlsStateChange(DtlsTransportState::Connected))
        })
    };
    sim.run_until(connected, Duration::from_secs(10));
    assert!(
        connected(&sim),
        "DTLS with the signed certificates connects"
    );
}

#[test]
fn a_swapped_fingerprint_is_refused_as_an_invalid_token() {
    let mut a = peer(1, Configuration::default(), Some("alice@example.org"));
    let mut mallory = peer(3, Configuration::default(), None);
    let mut b = peer(2, Configuration::default(), Some("bob@example.org"));
    let offer = a.create_offer().unwrap();
    // The signaling path replaces Alice's fingerprint with Mallory's and
    // keeps her assertion.
    let mallory_offer = mallory.create_offer().unwrap();
    let mallory_fp = mallory_offer
        .sdp
        .lines()
        .find(|l| l.starts_with("a=fingerprint:"))
        .unwrap()
        .to_owned();
    let tampered: String = offer
        .sdp
        .lines()
        .map(|l| {
            if l.starts_with("a=fingerprint:") {
                mallory_fp.clone()
            } else {
                l.to_owned()
            }
        })
        .map(|l| l + "\r\n")
        .collect();
    assert_ne!(tampered, offer.sdp);
    let err = b
        .set_remote_description(SessionDescription::offer(tampered))
        .unwrap_err();
    assert!(
        matches!(err, JsepError::Operation(ref m) if m.starts_with("idp-token-invalid")),
        "{err}"
    );
    assert_eq!(validation_error(&mut b), Some(IdpErrorDetail::TokenInvalid));
    assert_eq!(b.peer_identity(), None);
    // Refused means unchanged: the untampered offer still applies.
    b.set_remote_description(offer).unwrap();
    assert!(b.peer_identity().is_some());
}

#[test]
fn the_wrong_peer_or_a_missing_identity_is_refused_when_one_is_expected() {
    let mut eve = peer(1, Configuration::default(), Some("eve@example.org"));
    let mut b = peer(2, expecting("alice@example.org"), Some("bob@example.org"));
    let offer = eve.create_offer().unwrap();
    assert!(b.set_remote_description(offer).is_err());
    assert_eq!(validation_error(&mut b), Some(IdpErrorDetail::TokenInvalid));
    let mut anonymous = peer(3, Configuration::default(), None);
    let offer = anonymous.create_offer().unwrap();
    assert_eq!(identity_attr(&offer), None);
    let err = b.set_remote_description(offer).unwrap_err();
    assert!(matches!(err, JsepError::InvalidAccess(_)), "{err}");
    assert_eq!(b.peer_identity(), None);
}

#[test]
fn an_idp_may_only_vouch_for_its_own_domain() {
    // An example.org IdP that signs a name at example.com.
    let mut a = PeerConnection::new(Configuration::default().with_seed(1), now()).unwrap();
    a.set_identity_provider(
        "example.org",
        IdentityProviderOptions::default(),
        idp("alice@example.com"),
    );
    a.create_data_channel("chat", &Default::default()).unwrap();
    let mut b = peer(2, Configuration::default(), Some("bob@example.org"));
    let offer = a.create_offer().unwrap();
    assert!(b.set_remote_description(offer).is_err());
    assert_eq!(validation_error(&mut b), Some(IdpErrorDetail::TokenInvalid));
    assert!(b
        .idp_error_info()
        .unwrap()
        .contains("not an identity of example.org"));
}

#[test]
fn a_provider_that_needs_a_login_refuses_the_offer_with_its_url() {
    let mut a = PeerConnection::new(Configuration::default().with_seed(1), now()).unwrap();
    let mut p = idp("alice@example.org");
    p.needs_login = true;
    a.set_identity_provider("example.org", IdentityProviderOptions::default(), p);
    let err = a.create_offer().unwrap_err();
    assert!(
        matches!(err, JsepError::Operation(ref m) if m.starts_with("idp-need-login")),
        "{err}"
    );
    assert_eq!(a.idp_login_url(), Some("https://example.org/login"));
    let e = events(&mut a).into_iter().find_map(|e| match e {
        Event::IdpAssertionError(e) => Some(e),
        _ => None,
    });
    let e = e.expect("idpassertionerror");
    assert_eq!(
        (e.idp.as_str(), e.protocol.as_str()),
        ("example.org", "default")
    );
    assert!(a.get_identity_assertion().is_err());
}

#[test]
fn get_identity_assertion_returns_what_the_offer_carries() {
    let mut a = peer(1, Configuration::default(), Some("alice@example.org"));
    let value = a.get_identity_assertion().unwrap();
    let offer = a.create_offer().unwrap();
    assert_eq!(identity_attr(&offer), Some(value.as_str()));
    let mut plain = peer(2, Configuration::default(), None);
    assert!(matches!(
        plain.get_identity_assertion(),
        Err(JsepError::InvalidState(_))
    ));
}

#[test]
fn garbage_identity_attributes_are_refused_and_ignored_without_a_provider() {
    let mut a = peer(1, Configuration::default(), None);
    let offer = a.create_offer().unwrap().sdp;
    let with = |value: &str| {
        let mut s = String::new();
        for l in offer.lines() {
            s.push_str(l);
            s.push_str("\r\n");
            if l.starts_with("t=") {
                s.push_str(&format!("a=identity:{value}\r\n"));
            }
        }
        SessionDescription::offer(s)
    };
    let b64 = |s: &str| openssl::base64::encode_block(s.as_bytes());
    let deep = format!("{}{}", "[".repeat(64), "]".repeat(64));
    let long = "A".repeat(10_000);
    let cases = [
        "not base64 !!".to_owned(),
        b64("not json"),
        b64(&deep),
        b64(r#"{"idp":{"domain":"example.org"},"assertion":"x"}"#),
        b64(r#"{"idp":{"domain":"example.org","protocol":"../x"},"assertion":"x"}"#),
        b64(r#"{"idp":{"domain":"example.org","protocol":"default"},"assertion":"x"}"#),
        long,
    ];
    for v in &cases {
        let mut b = peer(2, Configuration::default(), Some("bob@example.org"));
        let err = b.set_remote_description(with(v)).unwrap_err();
        assert!(matches!(err, JsepError::Operation(_)), "{v:.40}: {err}");
        assert!(validation_error(&mut b).is_some());
        // Without a provider (and no expected peer) eddy ignores it, as
        // Chromium does.
        let mut c = peer(3, Configuration::default(), None);
        c.set_remote_description(with(v)).unwrap();
        assert_eq!(c.peer_identity(), None);
    }
}
