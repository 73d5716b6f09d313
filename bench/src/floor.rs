//! The public-key operations a connection needs, each alone on OpenSSL (and
//! on ring and AWS-LC where eddy uses them), to compare a connection's CPU
//! with: `--crypto-floor N`.

use cpu_time::ProcessTime;
use openssl::bn::BigNumContext;
use openssl::derive::Deriver;
use openssl::ec::{EcGroup, EcKey, EcPoint, PointConversionForm};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey};

fn time(name: &str, n: u32, mut f: impl FnMut()) {
    f();
    let t0 = ProcessTime::now();
    for _ in 0..n {
        f();
    }
    let us = t0.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!("{name:<44} {us:7.1} µs");
}

pub(crate) fn run(n: u32) {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let digest = [7u8; 32];
    let key = EcKey::generate(&group).unwrap();
    let sig = EcdsaSig::sign(&digest, &key).unwrap();
    let mut ctx = BigNumContext::new().unwrap();
    let point = key
        .public_key()
        .to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut ctx)
        .unwrap();
    let public = EcKey::from_public_key(&group, key.public_key()).unwrap();
    let raw = [9u8; 32];
    let x = PKey::private_key_from_raw_bytes(&raw, Id::X25519).unwrap();
    let x_pub = x.raw_public_key().unwrap();
    time("P-256 keygen (EcKey::generate)", n, || {
        EcKey::generate(&group).unwrap();
    });
    time("P-256 ECDSA sign (EcdsaSig::sign)", n, || {
        EcdsaSig::sign(&digest, &key).unwrap();
    });
    time("P-256 ECDSA verify (EcdsaSig::verify)", n, || {
        assert!(sig.verify(&digest, &public).unwrap());
    });
    time("P-256 point decode (EcPoint::from_bytes)", n, || {
        EcPoint::from_bytes(&group, &point, &mut ctx).unwrap();
    });
    time("P-256 ECDH derive (point decode, mul)", n, || {
        let q = EcPoint::from_bytes(&group, &point, &mut ctx).unwrap();
        let mut p = EcPoint::new(&group).unwrap();
        p.mul2(&group, &q, key.private_key(), &mut ctx).unwrap();
    });
    time("X25519 key from raw bytes (+ public)", n, || {
        let k = PKey::private_key_from_raw_bytes(&raw, Id::X25519).unwrap();
        k.raw_public_key().unwrap();
    });
    time("X25519 derive (Deriver)", n, || {
        let peer = PKey::public_key_from_raw_bytes(&x_pub, Id::X25519).unwrap();
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
    let message = b"client random, server random, ECDH parameters";
    let der = EcdsaSig::sign(&openssl::sha::sha256(message), &key)
        .unwrap()
        .to_der()
        .unwrap();
    time("P-256 ECDSA verify on ring", n, || {
        use ring::signature as rs;
        rs::UnparsedPublicKey::new(&rs::ECDSA_P256_SHA256_ASN1, &point)
            .verify(message, &der)
            .unwrap();
    });
    time("X25519 exchange on AWS-LC (key, pub, agree)", n, || {
        use aws_lc_rs::agreement as ag;
        let k = ag::PrivateKey::from_private_key(&ag::X25519, &raw).unwrap();
        k.compute_public_key().unwrap();
        let peer = ag::UnparsedPublicKey::new(&ag::X25519, &x_pub);
        ag::agree(&k, peer, (), |s| Ok(s.len())).unwrap();
    });
}
