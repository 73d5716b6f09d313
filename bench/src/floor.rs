//! The public-key operations a connection needs, each alone on OpenSSL (and
//! on ring and AWS-LC, which eddy uses for them), to compare a connection's CPU
//! with: `--crypto-floor N`, and the sum for a pair that the side-by-side
//! table prints under its connect rows ([`pair`]).

use cpu_time::ProcessTime;
use openssl::bn::BigNumContext;
use openssl::derive::Deriver;
use openssl::ec::{EcGroup, EcKey, EcPoint, PointConversionForm};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey};

/// µs of CPU per call of `f`, over `n` calls after one to warm up.
fn measure(n: u32, mut f: impl FnMut()) -> f64 {
    f();
    let t0 = ProcessTime::now();
    for _ in 0..n {
        f();
    }
    t0.elapsed().as_secs_f64() * 1e6 / f64::from(n.max(1))
}

fn time(name: &str, n: u32, f: impl FnMut()) -> f64 {
    let us = measure(n, f);
    println!("{name:<44} {us:7.1} µs");
    us
}

/// The public-key work of one connected pair on the libraries eddy uses
/// for it, each operation timed alone (`n` times) on this machine now, in
/// ms: two P-256 keys and two signatures for the peers' certificates and
/// two for their handshakes (AWS-LC), two ECDSA verifications (ring), two
/// X25519 exchanges (AWS-LC). What a connection costs beyond it is eddy's
/// own work (and the crypto's cache misses in place): the machine's speed
/// drifts between sessions, this difference much less.
pub(crate) fn pair(n: u32) -> f64 {
    let ops = Ops::new();
    let keygen = measure(n, || ops.keygen_aws_lc());
    let sign = measure(n, || ops.sign_aws_lc());
    let verify = measure(n, || ops.verify_ring());
    let x25519 = measure(n, || ops.x25519_aws_lc());
    pair_ms(keygen, sign, verify, x25519)
}

/// A pair's public-key work in ms from each operation's µs: two keys, four
/// signatures, two verifications, two X25519 exchanges.
fn pair_ms(keygen: f64, sign: f64, verify: f64, x25519: f64) -> f64 {
    (2.0 * keygen + 4.0 * sign + 2.0 * verify + 2.0 * x25519) / 1000.0
}

/// A key, a signature and an X25519 peer to time operations with.
struct Ops {
    group: EcGroup,
    key: EcKey<openssl::pkey::Private>,
    point: Vec<u8>,
    raw: [u8; 32],
    x_pub: Vec<u8>,
    der: Vec<u8>,
    pair: aws_lc_rs::signature::EcdsaKeyPair,
}

/// What the handshake's signature covers (RFC 5246 §7.4.3: the randoms and
/// the ECDH parameters), near enough in length.
const SIGNED: &[u8] = b"client random, server random, ECDH parameters";

impl Ops {
    fn new() -> Self {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = EcKey::generate(&group).unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let point = key
            .public_key()
            .to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut ctx)
            .unwrap();
        let raw = [9u8; 32];
        let x = PKey::private_key_from_raw_bytes(&raw, Id::X25519).unwrap();
        let x_pub = x.raw_public_key().unwrap();
        let der = EcdsaSig::sign(&openssl::sha::sha256(SIGNED), &key)
            .unwrap()
            .to_der()
            .unwrap();
        let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        )
        .unwrap();
        Self {
            group,
            key,
            point,
            raw,
            x_pub,
            der,
            pair,
        }
    }

    /// A P-256 key pair on AWS-LC, its public point encoded (what a
    /// certificate needs).
    fn keygen_aws_lc(&self) {
        use aws_lc_rs::signature as s;
        s::EcdsaKeyPair::generate(&s::ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    }

    /// A signature of a SHA-256 digest on AWS-LC, as eddy makes it.
    fn sign_aws_lc(&self) {
        use aws_lc_rs::digest;
        let d = digest::Digest::import_less_safe(&[7u8; 32], &digest::SHA256).unwrap();
        self.pair.sign_digest(&d).unwrap();
    }

    fn keygen(&self) {
        EcKey::generate(&self.group).unwrap();
    }

    fn sign(&self) {
        EcdsaSig::sign(&[7u8; 32], &self.key).unwrap();
    }

    fn verify_ring(&self) {
        use ring::signature as rs;
        rs::UnparsedPublicKey::new(&rs::ECDSA_P256_SHA256_ASN1, &self.point)
            .verify(SIGNED, &self.der)
            .unwrap();
    }

    fn x25519_aws_lc(&self) {
        use aws_lc_rs::agreement as ag;
        let k = ag::PrivateKey::from_private_key(&ag::X25519, &self.raw).unwrap();
        k.compute_public_key().unwrap();
        let peer = ag::UnparsedPublicKey::new(&ag::X25519, &self.x_pub);
        ag::agree(&k, peer, (), |s| Ok(s.len())).unwrap();
    }
}

pub(crate) fn run(n: u32) {
    let ops = Ops::new();
    let (group, key, point, raw, x_pub) = (&ops.group, &ops.key, &ops.point, ops.raw, &ops.x_pub);
    let digest = [7u8; 32];
    let sig = EcdsaSig::sign(&digest, key).unwrap();
    let mut ctx = BigNumContext::new().unwrap();
    let public = EcKey::from_public_key(group, key.public_key()).unwrap();
    let x = PKey::private_key_from_raw_bytes(&raw, Id::X25519).unwrap();
    time("P-256 keygen (EcKey::generate)", n, || ops.keygen());
    time("P-256 ECDSA sign (EcdsaSig::sign)", n, || ops.sign());
    let keygen = time("P-256 key pair on AWS-LC (point encoded)", n, || {
        ops.keygen_aws_lc()
    });
    let sign = time("P-256 ECDSA sign on AWS-LC (digest)", n, || {
        ops.sign_aws_lc()
    });
    time("P-256 ECDSA verify (EcdsaSig::verify)", n, || {
        assert!(sig.verify(&digest, &public).unwrap());
    });
    time("P-256 point decode (EcPoint::from_bytes)", n, || {
        EcPoint::from_bytes(group, point, &mut ctx).unwrap();
    });
    time("P-256 ECDH derive (point decode, mul)", n, || {
        let q = EcPoint::from_bytes(group, point, &mut ctx).unwrap();
        let mut p = EcPoint::new(group).unwrap();
        p.mul2(group, &q, key.private_key(), &mut ctx).unwrap();
    });
    time("X25519 key from raw bytes (+ public)", n, || {
        let k = PKey::private_key_from_raw_bytes(&raw, Id::X25519).unwrap();
        k.raw_public_key().unwrap();
    });
    time("X25519 derive (Deriver)", n, || {
        let peer = PKey::public_key_from_raw_bytes(x_pub, Id::X25519).unwrap();
        let mut d = Deriver::new(&x).unwrap();
        d.set_peer(&peer).unwrap();
        d.derive_to_vec().unwrap();
    });
    let rng = ring::rand::SystemRandom::new();
    let ring_peer =
        ring::agreement::EphemeralPrivateKey::generate(&ring::agreement::ECDH_P256, &rng)
            .unwrap()
            .compute_public_key()
            .unwrap();
    time("P-256 exchange on ring (key, pub, agree)", n, || {
        use ring::agreement as ag;
        let k = ag::EphemeralPrivateKey::generate(&ag::ECDH_P256, &rng).unwrap();
        k.compute_public_key().unwrap();
        let peer = ag::UnparsedPublicKey::new(&ag::ECDH_P256, ring_peer.as_ref());
        ag::agree_ephemeral(k, &peer, |s| s.len()).unwrap();
    });
    let verify = time("P-256 ECDSA verify on ring", n, || ops.verify_ring());
    let x25519 = time("X25519 exchange on AWS-LC (key, pub, agree)", n, || {
        ops.x25519_aws_lc()
    });
    let pair = pair_ms(keygen, sign, verify, x25519);
    println!(
        "a pair's public-key work (2 keys, 4 signatures, 2 verifications, 2 X25519): {pair:.3} ms"
    );
}
