//! SRTP protect + unprotect throughput for 1200-byte packets, per profile.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use eddy::srtp::{SrtpContext, SrtpProfile};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("srtp");
    group.throughput(Throughput::Bytes(1200));
    for profile in SrtpProfile::ALL {
        let material: Vec<u8> = (0..profile.keying_material_len())
            .map(|i| i as u8)
            .collect();
        let Ok((mut tx, _)) = SrtpContext::pair_from_dtls(profile, &material, true) else {
            continue;
        };
        let Ok((_, mut rx)) = SrtpContext::pair_from_dtls(profile, &material, false) else {
            continue;
        };
        let mut seq = 0u16;
        let mut buf = Vec::with_capacity(1200 + 16);
        group.bench_function(format!("{profile:?}/protect+unprotect"), |b| {
            b.iter(|| {
                seq = seq.wrapping_add(1);
                buf.clear();
                buf.extend_from_slice(&[0x80, 96]);
                buf.extend_from_slice(&seq.to_be_bytes());
                buf.extend_from_slice(&[0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]);
                buf.resize(1200, 0xab);
                tx.protect_rtp(&mut buf).expect("protect");
                rx.unprotect_rtp(&mut buf).expect("unprotect");
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
