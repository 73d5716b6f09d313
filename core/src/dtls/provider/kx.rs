//! ECDHE key exchange (X25519, P-256, P-384) on OpenSSL.

use dimpl::crypto::{ActiveKeyExchange, Buf, NamedGroup, SupportedKxGroup};
use dimpl::{CryptoError, CryptoOperation};
use openssl::bn::{BigNum, BigNumContext};
use openssl::derive::Deriver;
use std::sync::OnceLock;

use openssl::ec::{EcGroup, EcGroupRef, EcKey, EcPoint, PointConversionForm};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};

use super::scope;

struct Exchange {
    group: NamedGroup,
    private: PKey<Private>,
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
    let mut order = BigNum::new()?;
    group.order(&mut order, &mut ctx)?;
    // 64 extra bits make the bias of the reduction negligible.
    let mut bytes = vec![0u8; order.num_bytes() as usize + 8];
    scope::fill(&mut bytes)?;
    let wide = BigNum::from_slice(&bytes)?;
    let mut n_minus_1 = BigNum::new()?;
    let one = BigNum::from_u32(1)?;
    n_minus_1.checked_sub(&order, &one)?;
    let mut d = BigNum::new()?;
    d.nnmod(&wide, &n_minus_1, &mut ctx)?;
    d.add_word(1)?;
    let mut public = EcPoint::new(group)?;
    public.mul_generator2(group, &d, &mut ctx)?;
    EcKey::from_private_components(group, &d, &public)
}

impl Exchange {
    fn start(group: NamedGroup, mut public: Buf) -> Result<Self, openssl::error::ErrorStack> {
        let private = if group == NamedGroup::X25519 {
            if scope::is_deterministic() {
                let mut raw = [0u8; 32];
                scope::fill(&mut raw)?;
                PKey::private_key_from_raw_bytes(&raw, Id::X25519)?
            } else {
                PKey::generate_x25519()?
            }
        } else {
            let Some(nid) = curve_nid(group) else {
                return Err(openssl::error::ErrorStack::get());
            };
            PKey::from_ec_key(ec_private_key(nid)?)?
        };
        public.clear();
        if group == NamedGroup::X25519 {
            public.extend_from_slice(&private.raw_public_key()?);
        } else {
            let ec = private.ec_key()?;
            let mut ctx = BigNumContext::new()?;
            // RFC 8422 §5.4.1: the uncompressed point form.
            let bytes = ec.public_key().to_bytes(
                ec.group(),
                PointConversionForm::UNCOMPRESSED,
                &mut ctx,
            )?;
            public.extend_from_slice(&bytes);
        }
        Ok(Self {
            group,
            private,
            public,
        })
    }

    fn derive(&self, peer: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let peer_key = if self.group == NamedGroup::X25519 {
            PKey::public_key_from_raw_bytes(peer, Id::X25519)?
        } else {
            let ec = self.private.ec_key()?;
            let mut ctx = BigNumContext::new()?;
            // Decoding checks that the point is on the curve.
            let point = EcPoint::from_bytes(ec.group(), peer, &mut ctx)?;
            PKey::from_ec_key(EcKey::from_public_key(ec.group(), &point)?)?
        };
        let mut deriver = Deriver::new(&self.private)?;
        deriver.set_peer(&peer_key)?;
        // OpenSSL refuses an all-zero X25519 result (RFC 7748 §6.1).
        deriver.derive_to_vec()
    }
}

impl ActiveKeyExchange for Exchange {
    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn complete(self: Box<Self>, peer_pub: &[u8], out: &mut Buf) -> Result<(), CryptoError> {
        let secret = self
            .derive(peer_pub)
            .map_err(|_| CryptoError::InvalidPublicKey(self.group))?;
        out.clear();
        out.extend_from_slice(&secret);
        Ok(())
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

pub(super) static GROUPS: &[&dyn SupportedKxGroup] = &[&X25519, &P256, &P384];
