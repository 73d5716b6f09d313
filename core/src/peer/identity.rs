//! The identity hook (W3C webrtc-identity, RFC 8827 §7): an
//! application-supplied identity provider signs our DTLS fingerprints into
//! `a=identity`, and validates the peer's, so a connection can be bound to a
//! named person rather than to whoever holds the signaling channel.
//!
//! Browsers never shipped this (Firefox removed it; Chromium ignores
//! `a=identity`), so it is an eddy-to-eddy feature. Where the browser loads
//! an IdP proxy script from `https://<domain>/.well-known/idp-proxy/<protocol>`
//! and talks to it asynchronously, eddy calls the application's
//! [`IdentityProvider`] synchronously from `create_offer`, `create_answer`,
//! `get_identity_assertion` and `set_remote_description`: a provider that
//! must ask a server does so before (tokens obtained ahead, as a login
//! would), keeping the core deterministic and free of I/O.

use std::fmt;

use crate::error::JsepError;
use crate::event::Event;
use crate::fingerprint::Fingerprint;
use crate::json::{write_string, Json};
use crate::sdp::Sdp;

use super::PeerConnection;

/// The longest `a=identity` value read (base64 of the assertion); longer
/// ones are refused without decoding.
pub const MAX_IDENTITY_ATTRIBUTE_LEN: usize = 8 * 1024;

/// What [`PeerConnection::set_identity_provider`] is given besides the IdP's
/// domain (W3C RTCIdentityProviderOptions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProviderOptions {
    /// The IdP protocol (the last path segment of the browser's IdP proxy
    /// URL). Defaults to `"default"`.
    pub protocol: String,
    /// A hint of the identity to assert, for an IdP with several.
    pub username_hint: Option<String>,
    /// For IdPs that bind assertions to both ends: the peer's identity.
    pub peer_identity: Option<String>,
    /// The origin the application speaks for (what a browser passes as the
    /// calling page's origin), given to the provider with every call.
    /// Defaults to empty.
    pub origin: String,
}

impl Default for IdentityProviderOptions {
    fn default() -> Self {
        Self {
            protocol: "default".into(),
            username_hint: None,
            peer_identity: None,
            origin: String::new(),
        }
    }
}

/// Which identity provider made an assertion (W3C RTCIdentityProviderDetails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProviderDetails {
    /// The IdP's domain.
    pub domain: String,
    /// The IdP protocol.
    pub protocol: String,
}

/// What [`IdentityProvider::generate_assertion`] returns (W3C
/// RTCIdentityAssertionResult).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityAssertionResult {
    /// The IdP that will validate it.
    pub idp: IdentityProviderDetails,
    /// The assertion, opaque to eddy.
    pub assertion: String,
}

/// What [`IdentityProvider::validate_assertion`] returns (W3C
/// RTCIdentityValidationResult).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityValidationResult {
    /// The asserted identity, `user@domain`.
    pub identity: String,
    /// The contents the assertion signs: eddy checks they are the
    /// fingerprints of the remote description.
    pub contents: String,
}

/// The peer's validated identity (W3C RTCIdentityAssertion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityAssertion {
    /// The domain of the IdP that validated it.
    pub idp: String,
    /// The identity, `user@domain`.
    pub name: String,
}

/// Why an IdP failed (the W3C RTCErrorDetailType `idp-*` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdpErrorDetail {
    /// `idp-load-failure`: no provider could be used.
    LoadFailure,
    /// `idp-need-login`: the user must log in at [`IdpError::login_url`].
    NeedLogin,
    /// `idp-execution-failure`: the provider failed.
    ExecutionFailure,
    /// `idp-token-expired`.
    TokenExpired,
    /// `idp-token-invalid`: the assertion is not valid (or does not cover
    /// the description's fingerprints, or names another domain).
    TokenInvalid,
    /// `idp-timeout`.
    Timeout,
}

impl IdpErrorDetail {
    /// The W3C name (`idp-need-login`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoadFailure => "idp-load-failure",
            Self::NeedLogin => "idp-need-login",
            Self::ExecutionFailure => "idp-execution-failure",
            Self::TokenExpired => "idp-token-expired",
            Self::TokenInvalid => "idp-token-invalid",
            Self::Timeout => "idp-timeout",
        }
    }
}

/// An IdP's failure (W3C RTCError with an `idp-*` errorDetail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpError {
    /// Which failure.
    pub detail: IdpErrorDetail,
    /// What went wrong, for people.
    pub message: String,
    /// With [`IdpErrorDetail::NeedLogin`]: where to log in (W3C
    /// `idpLoginUrl`).
    pub login_url: Option<String>,
}

impl IdpError {
    /// An error without a login URL.
    pub fn new(detail: IdpErrorDetail, message: impl Into<String>) -> Self {
        Self {
            detail,
            message: message.into(),
            login_url: None,
        }
    }
}

impl fmt::Display for IdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.detail.as_str(), self.message)
    }
}

/// The application's identity provider (W3C RTCIdentityProvider), called
/// synchronously by the connection.
pub trait IdentityProvider: Send {
    /// Signs `contents` (RFC 8827 §7.4: a JSON object with our
    /// certificate fingerprints) for `origin`.
    fn generate_assertion(
        &mut self,
        contents: &str,
        origin: &str,
        options: &IdentityProviderOptions,
    ) -> Result<IdentityAssertionResult, IdpError>;

    /// Checks an assertion made by the IdP `idp` (named by the peer) and
    /// returns the identity and the contents it signed. Refuse an `idp`
    /// you do not trust.
    fn validate_assertion(
        &mut self,
        idp: &IdentityProviderDetails,
        assertion: &str,
        origin: &str,
    ) -> Result<IdentityValidationResult, IdpError>;
}

/// The outcome an identity error event reports (the W3C
/// `idpassertionerror` / `idpvalidationerror` events' RTCIdentityErrorEvent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityErrorEvent {
    /// The IdP's domain (ours for an assertion error, the one the peer
    /// named for a validation error; empty if it could not be read).
    pub idp: String,
    /// The IdP protocol.
    pub protocol: String,
    /// What failed.
    pub error: IdpError,
}

/// Certificate fingerprints as (lower-case hash name, digest).
type Fingerprints = Vec<(String, Vec<u8>)>;

/// The provider and what it produced, held by the connection.
pub(crate) struct Identity {
    domain: String,
    options: IdentityProviderOptions,
    provider: Box<dyn IdentityProvider>,
    /// The `a=identity` value for the fingerprints it was made for.
    cached: Option<(Fingerprints, String)>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("domain", &self.domain)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Identity state of a connection.
#[derive(Debug, Default)]
pub(crate) struct IdentityState {
    /// Boxed: most connections set no provider, and carried its ~200
    /// bytes inline for nothing (issue 13).
    pub(crate) provider: Option<Box<Identity>>,
    /// W3C [[PeerIdentity]]: once set, it never changes.
    pub(crate) peer: Option<IdentityAssertion>,
    /// W3C `idpLoginUrl` / `idpErrorInfo` of the latest failure.
    pub(crate) login_url: Option<String>,
    pub(crate) error_info: Option<String>,
}

impl IdentityState {
    /// The `a=identity` value last made, for the description being built.
    pub(crate) fn cached_value(&self) -> Option<String> {
        let p = self.provider.as_ref()?;
        p.cached.as_ref().map(|(_, v)| v.clone())
    }
}

/// `XX:XX:..` upper-case hex (RFC 8122 §5, RFC 8827 §7.4's "digest").
fn hex_colons(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02X}"));
    }
    s
}

fn parse_hex_colons(s: &str) -> Option<Vec<u8>> {
    s.split(':')
        .map(|h| {
            if h.len() == 2 {
                u8::from_str_radix(h, 16).ok()
            } else {
                None
            }
        })
        .collect()
}

/// RFC 8827 §7.4: "the contents of the assertion ... {"fingerprint": [
/// {"algorithm": "sha-256", "digest": "4A:AD:B9:..."}, ... ]}".
fn fingerprint_contents(fps: &[(String, Vec<u8>)]) -> String {
    let mut out = String::from("{\"fingerprint\":[");
    for (i, (alg, digest)) in fps.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"algorithm\":");
        write_string(&mut out, &alg.to_ascii_lowercase());
        out.push_str(",\"digest\":");
        write_string(&mut out, &hex_colons(digest));
        out.push('}');
    }
    out.push_str("]}");
    out
}

/// RFC 8827 §7.4: the `a=identity` value is the base64 of
/// `{"idp":{"domain":..,"protocol":..},"assertion":..}`.
fn encode_attribute(r: &IdentityAssertionResult) -> String {
    let mut out = String::from("{\"idp\":{\"domain\":");
    write_string(&mut out, &r.idp.domain);
    out.push_str(",\"protocol\":");
    write_string(&mut out, &r.idp.protocol);
    out.push_str("},\"assertion\":");
    write_string(&mut out, &r.assertion);
    out.push('}');
    openssl::base64::encode_block(out.as_bytes())
}

fn token_invalid(message: impl Into<String>) -> IdpError {
    IdpError::new(IdpErrorDetail::TokenInvalid, message)
}

/// Decodes an `a=identity` value into the IdP it names and the assertion.
fn decode_attribute(value: &str) -> Result<(IdentityProviderDetails, String), IdpError> {
    if value.len() > MAX_IDENTITY_ATTRIBUTE_LEN {
        return Err(token_invalid("a=identity is too long"));
    }
    let bytes = openssl::base64::decode_block(value.trim())
        .map_err(|_| token_invalid("a=identity is not base64"))?;
    let text =
        std::str::from_utf8(&bytes).map_err(|_| token_invalid("a=identity is not UTF-8 JSON"))?;
    let json = Json::parse(text).map_err(|e| token_invalid(format!("a=identity: {e}")))?;
    let field = |v: Option<&Json>, name: &str| -> Result<String, IdpError> {
        v.and_then(Json::as_str)
            .map(str::to_owned)
            .ok_or_else(|| token_invalid(format!("a=identity lacks the string {name}")))
    };
    let idp = json.get("idp");
    let details = IdentityProviderDetails {
        domain: field(idp.and_then(|i| i.get("domain")), "idp.domain")?,
        protocol: field(idp.and_then(|i| i.get("protocol")), "idp.protocol")?,
    };
    // W3C webrtc-identity §: "the protocol ... MUST NOT include '/' (U+002F)
    // or '\' (U+005C) characters", and the domain is a host name.
    if details.protocol.contains(['/', '\\']) || details.domain.contains(['/', '\\', '@']) {
        return Err(token_invalid("a=identity names an invalid IdP"));
    }
    Ok((details, field(json.get("assertion"), "assertion")?))
}

/// Every `a=fingerprint` of a description, session and media level, as
/// (lower-case algorithm, digest) pairs, sorted and without repeats.
fn description_fingerprints(sdp: &Sdp) -> Fingerprints {
    let all = sdp
        .attributes
        .fingerprints
        .iter()
        .chain(sdp.media.iter().flat_map(|m| m.fingerprints.iter()));
    let mut v: Fingerprints = all
        .map(|f: &Fingerprint| (f.hash.to_ascii_lowercase(), f.bytes.clone()))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The fingerprints an assertion's contents sign, in the same form.
fn contents_fingerprints(contents: &str) -> Result<Fingerprints, IdpError> {
    let json = Json::parse(contents).map_err(|e| token_invalid(format!("contents: {e}")))?;
    let list = json
        .get("fingerprint")
        .and_then(Json::as_array)
        .ok_or_else(|| token_invalid("the assertion's contents carry no fingerprint list"))?;
    let mut v = Vec::with_capacity(list.len());
    for f in list {
        let alg = f.get("algorithm").and_then(Json::as_str);
        let digest = f
            .get("digest")
            .and_then(Json::as_str)
            .and_then(parse_hex_colons);
        match (alg, digest) {
            (Some(a), Some(d)) => v.push((a.to_ascii_lowercase(), d)),
            _ => return Err(token_invalid("a malformed fingerprint in the assertion")),
        }
    }
    v.sort();
    v.dedup();
    Ok(v)
}

impl PeerConnection {
    /// Sets the identity provider (W3C `setIdentityProvider`): `domain` is
    /// the IdP's domain, written into assertions for the peer to know whom
    /// to ask. Offers and answers created from now on carry `a=identity`.
    pub fn set_identity_provider(
        &mut self,
        domain: &str,
        options: IdentityProviderOptions,
        provider: Box<dyn IdentityProvider>,
    ) {
        self.identity.provider = Some(Box::new(Identity {
            domain: domain.to_owned(),
            options,
            provider,
            cached: None,
        }));
    }

    /// Asks the provider for a fresh assertion over our fingerprints and
    /// returns the `a=identity` value (W3C `getIdentityAssertion`).
    pub fn get_identity_assertion(&mut self) -> Result<String, JsepError> {
        self.check_open()?;
        if let Some(p) = self.identity.provider.as_mut() {
            p.cached = None;
        }
        self.identity_attribute()?.ok_or(JsepError::InvalidState(
            "getIdentityAssertion needs an identity provider",
        ))
    }

    /// The peer's identity once an `a=identity` of a remote description was
    /// validated (W3C `peerIdentity`, resolved); `None` before.
    pub fn peer_identity(&self) -> Option<&IdentityAssertion> {
        self.identity.peer.as_ref()
    }

    /// Where to log in after an `idp-need-login` failure (W3C `idpLoginUrl`).
    pub fn idp_login_url(&self) -> Option<&str> {
        self.identity.login_url.as_deref()
    }

    /// The latest IdP failure's message (W3C `idpErrorInfo`).
    pub fn idp_error_info(&self) -> Option<&str> {
        self.identity.error_info.as_deref()
    }

    fn idp_failed(&mut self, idp: String, protocol: String, error: IdpError, assertion: bool) {
        self.identity.login_url = error.login_url.clone();
        self.identity.error_info = Some(error.message.clone());
        let e = IdentityErrorEvent {
            idp,
            protocol,
            error,
        };
        self.events.push(if assertion {
            Event::IdpAssertionError(e)
        } else {
            Event::IdpValidationError(e)
        });
    }

    /// The `a=identity` value for our current fingerprints, asking the
    /// provider when they changed; `None` without a provider. A failure is
    /// reported as `Event::IdpAssertionError` and refuses the call (W3C:
    /// createOffer "rejected with an RTCError" of the IdP's errorDetail).
    pub(crate) fn identity_attribute(&mut self) -> Result<Option<String>, JsepError> {
        let Some(p) = self.identity.provider.as_mut() else {
            return Ok(None);
        };
        if let Some((fps, value)) = &p.cached {
            if *fps == self.local_fingerprints {
                return Ok(Some(value.clone()));
            }
        }
        let contents = fingerprint_contents(&self.local_fingerprints);
        let origin = p.options.origin.clone();
        match p
            .provider
            .generate_assertion(&contents, &origin, &p.options)
        {
            Ok(r) => {
                let value = encode_attribute(&r);
                p.cached = Some((self.local_fingerprints.clone(), value.clone()));
                Ok(Some(value))
            }
            Err(e) => {
                let (idp, protocol) = (p.domain.clone(), p.options.protocol.clone());
                let msg = e.to_string();
                self.idp_failed(idp, protocol, e, true);
                Err(JsepError::Operation(msg))
            }
        }
    }

    /// Validates the identity of a remote description (webrtc-identity
    /// §setRemoteDescription, RFC 8827 §7.4) without changing anything: the
    /// identity to adopt once the description is applied, if any.
    ///
    /// Without a provider, `a=identity` is ignored (as Chromium does)
    /// unless [`Configuration::peer_identity`](crate::Configuration::peer_identity)
    /// asks for one.
    pub(crate) fn check_remote_identity(
        &mut self,
        sdp: &Sdp,
    ) -> Result<Option<IdentityAssertion>, JsepError> {
        let target = self.config.peer_identity.clone();
        let Some(value) = sdp.attributes.identity.as_deref() else {
            // W3C: with a target peerIdentity, a description without an
            // identity cannot be accepted.
            return match target {
                Some(t) => Err(JsepError::InvalidAccess(format!(
                    "peerIdentity is {t} but the remote description has no a=identity"
                ))),
                None => Ok(None),
            };
        };
        if self.identity.provider.is_none() && target.is_none() {
            return Ok(None);
        }
        let result = self.validate_identity(sdp, value);
        let checked = result.and_then(|(details, name)| {
            // W3C: "If the peerIdentity ... is set and it does not match the
            // validated identity, reject ... with InvalidModificationError".
            if let Some(t) = target.as_deref().filter(|t| *t != name) {
                return Err((
                    details,
                    token_invalid(format!("the peer is {name}, not the expected {t}")),
                ));
            }
            // Once set, [[PeerIdentity]] cannot change.
            if let Some(p) = self.identity.peer.as_ref().filter(|p| p.name != name) {
                return Err((
                    details,
                    token_invalid(format!("the peer was {}, now claims {name}", p.name)),
                ));
            }
            Ok(IdentityAssertion {
                idp: details.domain,
                name,
            })
        });
        match checked {
            Ok(a) => Ok(Some(a)),
            Err((details, e)) => {
                let msg = e.to_string();
                self.idp_failed(details.domain, details.protocol, e, false);
                Err(JsepError::Operation(msg))
            }
        }
    }

    /// Decodes, has the provider validate, and checks fingerprints and
    /// domain: the IdP and the identity.
    fn validate_identity(
        &mut self,
        sdp: &Sdp,
        value: &str,
    ) -> Result<(IdentityProviderDetails, String), (IdentityProviderDetails, IdpError)> {
        let unknown = || IdentityProviderDetails {
            domain: String::new(),
            protocol: String::new(),
        };
        let (details, assertion) = decode_attribute(value).map_err(|e| (unknown(), e))?;
        let Some(p) = self.identity.provider.as_mut() else {
            return Err((
                details,
                IdpError::new(IdpErrorDetail::LoadFailure, "no identity provider is set"),
            ));
        };
        let origin = p.options.origin.clone();
        let v = match p.provider.validate_assertion(&details, &assertion, &origin) {
            Ok(v) => v,
            Err(e) => return Err((details, e)),
        };
        // RFC 8827 §7.4.2: the RP "MUST verify that ... the fingerprint(s)
        // in the assertion match those in the SDP": the same set.
        let signed = match contents_fingerprints(&v.contents) {
            Ok(s) => s,
            Err(e) => return Err((details, e)),
        };
        if signed != description_fingerprints(sdp) {
            let e = token_invalid("the assertion does not sign the description's fingerprints");
            return Err((details, e));
        }
        // W3C webrtc-identity: the domain portion of the identity must be
        // the IdP's domain (eddy trusts no third-party IdP).
        let domain = v.identity.rsplit_once('@').map(|(_, d)| d);
        if !domain.is_some_and(|d| d.eq_ignore_ascii_case(&details.domain)) {
            let e = token_invalid(format!(
                "{} is not an identity of {}",
                v.identity, details.domain
            ));
            return Err((details, e));
        }
        Ok((details, v.identity))
    }

    /// Adopts an identity validated by [`check_remote_identity`](Self::check_remote_identity)
    /// once its description was applied.
    pub(crate) fn adopt_peer_identity(&mut self, a: Option<IdentityAssertion>) {
        if let Some(a) = a {
            if self.identity.peer.is_none() {
                self.events.push(Event::PeerIdentity(a.clone()));
                self.identity.peer = Some(a);
            }
        }
    }
}
