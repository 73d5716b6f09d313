//! ECDHE key exchange: X25519 on AWS-LC, P-256 and P-384 on ring and
//! OpenSSL.

use dimpl::crypto::{ActiveKeyExchange, Buf, NamedGroup, SupportedKxGroup};
use dimpl::{CryptoError, CryptoOperation};
use openssl::bn::{BigNum, BigNumContext};
use std::sync::OnceLock;

use openssl::ec::{EcGroup, EcGroupRef, EcKey, EcPoint, PointConversionForm};
use openssl::nid::Nid;
use openssl::pkey::Private;

use super::scope;

struct Exchange {
    group: NamedGroup,
    private: PrivateKey,
    public: Buf,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("group", &self.group)
            .finish()
    }
}

pub(crate) fn curve_nid(group: NamedGroup) -> Option<Nid> {
    if group == NamedGroup::Secp256r1 {
        Some(Nid::X9_62_PRIME256V1)
    } else if group == NamedGroup::Secp384r1 {
        Some(Nid::SECP384R1)
    } else {
        None
    }
}

/// The group of P-256 or P-384, made once per process: building one from
/// the curve's name costs OpenSSL two Montgomery setups and a modular
/// inverse (~135,000 instructions, half an ECDSA signature), and a
/// key or point needs its group each time it is generated, loaded or
/// decoded. `None` for another curve.
pub(crate) fn named_group(nid: Nid) -> Option<&'static EcGroupRef> {
    static P256: OnceLock<Option<EcGroup>> = OnceLock::new();
    static P384: OnceLock<Option<EcGroup>> = OnceLock::new();
    let slot = match nid {
        Nid::X9_62_PRIME256V1 => &P256,
        Nid::SECP384R1 => &P384,
        _ => return None,
    };
    slot.get_or_init(|| EcGroup::from_curve_name(nid).ok())
        .as_deref()
}

/// A private scalar in `1..n` from the lent seeded generator (deterministic
/// mode), or a key from OpenSSL's generator.
pub(crate) fn ec_private_key(nid: Nid) -> Result<EcKey<Private>, openssl::error::ErrorStack> {
    let owned;
    let group = match named_group(nid) {
        Some(group) => group,
        None => {
            owned = EcGroup::from_curve_name(nid)?;
            &owned
        }
    };
    if !scope::is_deterministic() {
        return EcKey::generate(group);
    }
    let mut ctx = BigNumContext::new()?;
    let d = seeded_scalar(group, &mut ctx)?;
    let mut public = EcPoint::new(group)?;
    public.mul_generator2(group, &d, &mut ctx)?;
    EcKey::from_private_components(group, &d, &public)
}

/// A private scalar in `1..n` from the lent seeded generator: the order's
/// length and 64 bits more (which make the reduction's bias negligible,
/// FIPS 186-4 B.4.1), reduced mod `n - 1`, plus one.
fn seeded_scalar(
    group: &EcGroupRef,
    ctx: &mut BigNumContext,
) -> Result<BigNum, openssl::error::ErrorStack> {
    let mut order = BigNum::new()?;
    group.order(&mut order, ctx)?;
    let mut bytes = vec![0u8; order.num_bytes() as usize + 8];
    scope::fill(&mut bytes)?;
    let wide = BigNum::from_slice(&bytes)?;
    let mut n_minus_1 = BigNum::new()?;
    let one = BigNum::from_u32(1)?;
    n_minus_1.checked_sub(&order, &one)?;
    let mut d = BigNum::new()?;
    d.nnmod(&wide, &n_minus_1, ctx)?;
    d.add_word(1)?;
    Ok(d)
}

/// An ephemeral ECDHE key on a curve eddy keeps the group of: the scalar
/// and the public point alone. An exchange uses the scalar once, in
/// [`Exchange::derive`], with the group's point arithmetic; an `EC_KEY`
/// around it (what `EcKey::generate` makes) would copy the curve's group
/// into the key (a Montgomery context, the generator, the order: ~25
/// allocations) and be freed unused, ~0.8 µs of a ~13 µs key.
///
/// Deterministic mode draws [`seeded_scalar`], as [`ec_private_key`] does.
/// Otherwise the scalar is what OpenSSL's `EC_KEY_generate_key` draws
/// (`BN_priv_rand_range`): uniform in `1..n` by rejection, from the
/// private generator (`RAND_priv_bytes`), in a secure big number that is
/// cleared when freed and flagged for constant-time use, as `EC_KEY`
/// keeps its private key.
fn ephemeral_scalar(
    group: &EcGroupRef,
    ctx: &mut BigNumContext,
) -> Result<BigNum, openssl::error::ErrorStack> {
    if scope::is_deterministic() {
        return seeded_scalar(group, ctx);
    }
    let mut order = BigNum::new()?;
    group.order(&mut order, ctx)?;
    // P-256's and P-384's orders fill their bytes: a draw is out of range
    // with probability under 2^-32.
    let len = order.num_bytes() as usize;
    let mut raw = [0u8; 66];
    let raw = raw
        .get_mut(..len)
        .ok_or_else(openssl::error::ErrorStack::get)?;
    let mut d = BigNum::new_secure()?;
    d.set_const_time();
    let mut in_range = false;
    for _ in 0..MAX_SCALAR_DRAWS {
        openssl::rand::rand_priv_bytes(raw)?;
        d.copy_from_slice(raw)?;
        in_range = d.num_bits() > 0 && d.ucmp(&order) == std::cmp::Ordering::Less;
        if in_range {
            break;
        }
    }
    // The draw is the key: not left on the stack (as OpenSSL clears its
    // own, `OPENSSL_clear_free`).
    raw.fill(0);
    std::hint::black_box(&raw);
    if in_range {
        Ok(d)
    } else {
        Err(openssl::error::ErrorStack::get())
    }
}

/// Draws before giving up on an in-range scalar (each is out of range
/// with probability under 2^-32).
const MAX_SCALAR_DRAWS: usize = 16;

/// The private half of an exchange.
enum PrivateKey {
    /// An X25519 key on AWS-LC, in both modes (see [`Exchange::start_x25519`]).
    X25519(aws_lc_rs::agreement::PrivateKey),
    /// The scalar, on the exchange's group (see [`named_group`]).
    Ec(BigNum),
    /// ring's ephemeral key, outside deterministic mode (see
    /// [`ring_algorithm`]).
    Ring(ring::agreement::EphemeralPrivateKey),
}

/// ring's algorithm for a NIST group. ring draws the key from the
/// operating system's generator and cannot take the lent seeded one, so
/// it serves outside deterministic mode only. Where it does, a P-256
/// exchange (a key, its public point, the shared secret) costs ~57 µs
/// here against ~64 µs on OpenSSL: its key and point are plain values
/// where OpenSSL builds big numbers and points (~40 allocations an
/// exchange).
fn ring_algorithm(group: NamedGroup) -> Option<&'static ring::agreement::Algorithm> {
    if scope::is_deterministic() {
        return None;
    }
    if group == NamedGroup::Secp256r1 {
        Some(&ring::agreement::ECDH_P256)
    } else if group == NamedGroup::Secp384r1 {
        Some(&ring::agreement::ECDH_P384)
    } else {
        None
    }
}

impl Exchange {
    fn start(group: NamedGroup, mut public: Buf) -> Result<Self, openssl::error::ErrorStack> {
        public.clear();
        if group == NamedGroup::X25519 {
            return Self::start_x25519(public);
        }
        if let Some(alg) = ring_algorithm(group) {
            let rng = ring::rand::SystemRandom::new();
            let key = ring::agreement::EphemeralPrivateKey::generate(alg, &rng)
                .map_err(|_| openssl::error::ErrorStack::get())?;
            // RFC 8422 §5.4.1: the uncompressed point form (ring's only
            // form); RFC 7748 §6.1: X25519's 32 bytes.
            let point = key
                .compute_public_key()
                .map_err(|_| openssl::error::ErrorStack::get())?;
            public.extend_from_slice(point.as_ref());
            return Ok(Self {
                group,
                private: PrivateKey::Ring(key),
                public,
            });
        }
        Self::start_openssl(group, public)
    }

    /// An X25519 exchange on AWS-LC, whose field arithmetic (s2n-bignum's)
    /// makes a whole exchange ~32 µs here, against ~61 µs on ring and ~76
    /// µs on OpenSSL (`bench -- --crypto-floor`; issue 13: one exchange a
    /// side per connection). The key is 32 random bytes, as RFC 7748 §6.1
    /// draws it (AWS-LC clamps them), from the lent generator in
    /// deterministic mode and the operating system's otherwise
    /// ([`scope::fill`]), so both modes take this one path.
    fn start_x25519(mut public: Buf) -> Result<Self, openssl::error::ErrorStack> {
        use aws_lc_rs::agreement::{PrivateKey as Key, X25519};
        let mut raw = [0u8; 32];
        scope::fill(&mut raw)?;
        let key = Key::from_private_key(&X25519, &raw);
        // The draw is the key: not left on the stack.
        raw.fill(0);
        std::hint::black_box(&raw);
        let key = key.map_err(|_| openssl::error::ErrorStack::get())?;
        let point = key
            .compute_public_key()
            .map_err(|_| openssl::error::ErrorStack::get())?;
        public.extend_from_slice(point.as_ref());
        Ok(Self {
            group: NamedGroup::X25519,
            private: PrivateKey::X25519(key),
            public,
        })
    }

    /// An exchange on P-256 or P-384 on OpenSSL (deterministic mode draws
    /// its key from the lent generator).
    fn start_openssl(
        group: NamedGroup,
        mut public: Buf,
    ) -> Result<Self, openssl::error::ErrorStack> {
        let Some(curve) = curve_nid(group).and_then(named_group) else {
            return Err(openssl::error::ErrorStack::get());
        };
        let mut ctx = BigNumContext::new()?;
        let d = ephemeral_scalar(curve, &mut ctx)?;
        let mut point = EcPoint::new(curve)?;
        point.mul_generator2(curve, &d, &mut ctx)?;
        // RFC 8422 §5.4.1: the uncompressed point form.
        let bytes = point.to_bytes(curve, PointConversionForm::UNCOMPRESSED, &mut ctx)?;
        public.extend_from_slice(&bytes);
        Ok(Self {
            group,
            private: PrivateKey::Ec(d),
            public,
        })
    }

    fn derive(self, peer: &[u8], out: &mut Buf) -> Result<(), openssl::error::ErrorStack> {
        let secret = match self.private {
            // ring checks the peer's point: on the curve (P-256, P-384) or,
            // for X25519, not one whose shared secret is all zeros (RFC
            // 7748 §6.1).
            PrivateKey::Ring(key) => {
                let peer = ring::agreement::UnparsedPublicKey::new(key.algorithm(), peer);
                return ring::agreement::agree_ephemeral(key, &peer, |secret| {
                    out.clear();
                    out.extend_from_slice(secret);
                })
                .map_err(|_| openssl::error::ErrorStack::get());
            }
            // AWS-LC refuses a peer key that is not 32 bytes, and one
            // whose shared secret is all zeros (RFC 7748 §6.1).
            PrivateKey::X25519(key) => {
                use aws_lc_rs::agreement::{agree, UnparsedPublicKey, X25519};
                return agree(&key, UnparsedPublicKey::new(&X25519, peer), (), |secret| {
                    out.clear();
                    out.extend_from_slice(secret);
                    Ok(())
                })
                .map_err(|()| openssl::error::ErrorStack::get());
            }
            // ECDH as OpenSSL's `ECDH_compute_key` does it (RFC 8422 §5.10:
            // the x-coordinate of d·Q, as long as the field), without the
            // EVP wrapper: `EVP_PKEY_derive_set_peer` checks the peer's key
            // with a full scalar multiplication by the group order, which
            // the curves' cofactor of 1 makes redundant with the on-curve
            // check of decoding.
            PrivateKey::Ec(d) => {
                let group = curve_nid(self.group)
                    .and_then(named_group)
                    .ok_or_else(openssl::error::ErrorStack::get)?;
                let mut ctx = BigNumContext::new()?;
                let point = EcPoint::from_bytes(group, peer, &mut ctx)?;
                let mut shared = EcPoint::new(group)?;
                shared.mul2(group, &point, &d, &mut ctx)?;
                let (mut x, mut y) = (BigNum::new()?, BigNum::new()?);
                // Fails for the point at infinity (a peer sending it).
                shared.affine_coordinates(group, &mut x, &mut y, &mut ctx)?;
                x.to_vec_padded((group.degree() as i32 + 7) / 8)?
            }
        };
        out.clear();
        out.extend_from_slice(&secret);
        Ok(())
    }
}

impl ActiveKeyExchange for Exchange {
    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn complete(self: Box<Self>, peer_pub: &[u8], out: &mut Buf) -> Result<(), CryptoError> {
        let group = self.group;
        self.derive(peer_pub, out)
            .map_err(|_| CryptoError::InvalidPublicKey(group))
    }

    fn group(&self) -> NamedGroup {
        self.group
    }
}

#[derive(Debug)]
pub(super) struct Group(NamedGroup);

impl SupportedKxGroup for Group {
    fn name(&self) -> NamedGroup {
        self.0
    }

    fn start_exchange(&self, buf: Buf) -> Result<Box<dyn ActiveKeyExchange>, CryptoError> {
        Exchange::start(self.0, buf)
            .map(|e| Box::new(e) as Box<dyn ActiveKeyExchange>)
            .map_err(|_| CryptoError::OperationFailed(CryptoOperation::StartKeyExchange))
    }
}

static X25519: Group = Group(NamedGroup::X25519);
static P256: Group = Group(NamedGroup::Secp256r1);
static P384: Group = Group(NamedGroup::Secp384r1);

/// In order of preference: what a DTLS 1.2 server picks from the client's
/// `supported_groups` and a client lists first. X25519 first for CPU: an
/// exchange costs ~32 µs on AWS-LC where P-256 costs ~57 µs on ring
/// (~64 µs on OpenSSL, deterministic mode), so a connection's two
/// exchanges take ~50 µs less. Both are 128-bit groups; RFC 8422 §5.1.1
/// leaves the choice to the endpoints, every browser offers both (RFC
/// 8827 §6.5 needs only ECDHE) and lists X25519 first itself.
pub(super) static GROUPS: &[&dyn SupportedKxGroup] = &[&X25519, &P256, &P384];

#[cfg(test)]
mod tests {
    use super::*;

    /// An exchange on OpenSSL (what deterministic mode uses).
    fn exchange_of(group: NamedGroup) -> Exchange {
        Exchange::start_openssl(group, Buf::new()).unwrap()
    }

    #[test]
    fn an_ephemeral_key_is_its_scalar_times_the_generator() {
        for group in [NamedGroup::Secp256r1, NamedGroup::Secp384r1] {
            let e = exchange_of(group);
            let PrivateKey::Ec(d) = &e.private else {
                panic!("an EC group")
            };
            let curve = curve_nid(group).and_then(named_group).unwrap();
            let mut ctx = BigNumContext::new().unwrap();
            let public = EcPoint::from_bytes(curve, e.pub_key(), &mut ctx).unwrap();
            let key = EcKey::from_private_components(curve, d, &public).unwrap();
            key.check_key().unwrap();
        }
    }

    fn exchange(group: NamedGroup) -> Box<dyn ActiveKeyExchange> {
        let g = GROUPS.iter().find(|g| g.name() == group).unwrap();
        g.start_exchange(Buf::new()).unwrap()
    }

    #[test]
    fn both_sides_agree_and_ecdh_is_openssls() {
        use openssl::derive::Deriver;
        use openssl::pkey::{Id, PKey};
        for group in [
            NamedGroup::X25519,
            NamedGroup::Secp256r1,
            NamedGroup::Secp384r1,
        ] {
            let (a, b) = (exchange(group), exchange(group));
            let (a_pub, b_pub) = (a.pub_key().to_vec(), b.pub_key().to_vec());
            let (mut sa, mut sb) = (Buf::new(), Buf::new());
            a.complete(&b_pub, &mut sa).unwrap();
            b.complete(&a_pub, &mut sb).unwrap();
            assert_eq!(sa.as_ref(), sb.as_ref(), "{group:?}");
            assert_eq!(
                sa.len(),
                if group == NamedGroup::Secp384r1 {
                    48
                } else {
                    32
                }
            );
            if group == NamedGroup::X25519 {
                // AWS-LC's exchange (both modes) against OpenSSL's X25519:
                // the same secret from a raw OpenSSL key and our point.
                let ours = exchange(group);
                assert!(matches!(
                    Exchange::start(group, Buf::new()).unwrap().private,
                    PrivateKey::X25519(_)
                ));
                let theirs = PKey::private_key_from_raw_bytes(&[0x5a; 32], Id::X25519).unwrap();
                let their_pub = theirs.raw_public_key().unwrap();
                let peer = PKey::public_key_from_raw_bytes(ours.pub_key(), Id::X25519).unwrap();
                let mut deriver = Deriver::new(&theirs).unwrap();
                deriver.set_peer(&peer).unwrap();
                let mut secret = Buf::new();
                ours.complete(&their_pub, &mut secret).unwrap();
                assert_eq!(secret.as_ref(), &deriver.derive_to_vec().unwrap()[..]);
                // RFC 7748 §6.1: a low-order point (zero) gives an all-zero
                // secret, refused; so is a key of the wrong length.
                for bad in [&[0u8; 32][..], &their_pub[..31], &[]] {
                    let e = exchange(group);
                    assert!(e.complete(bad, &mut Buf::new()).is_err());
                }
                continue;
            }
            // ring's side (outside deterministic mode) and OpenSSL's
            // (inside it) agree with each other, both ways.
            let (r, o) = (exchange(group), Box::new(exchange_of(group)));
            assert!(matches!(
                Exchange::start(group, Buf::new()).unwrap().private,
                PrivateKey::Ring(_)
            ));
            assert!(matches!(exchange_of(group).private, PrivateKey::Ec(_)));
            let (r_pub, o_pub) = (r.pub_key().to_vec(), o.pub_key().to_vec());
            let (mut sr, mut so) = (Buf::new(), Buf::new());
            r.complete(&o_pub, &mut sr).unwrap();
            o.complete(&r_pub, &mut so).unwrap();
            assert_eq!(sr.as_ref(), so.as_ref(), "{group:?}");
            let Some(nid) = curve_nid(group) else {
                continue;
            };
            // The same secret as OpenSSL's EVP derivation gives.
            let ec = ec_private_key(nid).unwrap();
            let mut ctx = BigNumContext::new().unwrap();
            let mine = ec
                .public_key()
                .to_bytes(ec.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)
                .unwrap();
            let peer = exchange(group);
            let peer_pub = peer.pub_key().to_vec();
            let mut ours = Buf::new();
            peer.complete(&mine, &mut ours).unwrap();
            let point = EcPoint::from_bytes(ec.group(), &peer_pub, &mut ctx).unwrap();
            let peer_key =
                PKey::from_ec_key(EcKey::from_public_key(ec.group(), &point).unwrap()).unwrap();
            let own = PKey::from_ec_key(ec.clone()).unwrap();
            let mut deriver = Deriver::new(&own).unwrap();
            deriver.set_peer(&peer_key).unwrap();
            assert_eq!(ours.as_ref(), &deriver.derive_to_vec().unwrap()[..]);
            // Our own public key is the scalar's: an `EC_KEY` made of the
            // two passes OpenSSL's key check (the point on the curve and
            // d·G).
            let PrivateKey::Ec(d) = &exchange_of(group).private else {
                unreachable!("an EC group")
            };
            let curve = curve_nid(group).and_then(named_group).unwrap();
            let mut ctx2 = BigNumContext::new().unwrap();
            let mut order = BigNum::new().unwrap();
            curve.order(&mut order, &mut ctx2).unwrap();
            assert!(d.num_bits() > 0 && d.ucmp(&order).is_lt());
            assert!(d.is_secure() && d.is_const_time());
            // The point at infinity and a point off the curve are refused.
            let mut off = mine.clone();
            let last = off.len() - 1;
            off[last] ^= 1;
            for bad in [&[0u8][..], &off, &mine[..10]] {
                let e = exchange(group);
                assert!(e.complete(bad, &mut Buf::new()).is_err(), "{group:?}");
            }
        }
    }
}
