//! Fuzzes the STUN codec: parsing never panics, and whatever parses can be
//! walked, integrity-checked and written back out.
#![no_main]

use eddy::stun::{Attribute, MessageWriter, StunMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = StunMessage::parse(data) else {
        return;
    };
    let _ = msg.check_integrity(b"fuzz-key");
    let _ = msg.mapped_address();
    let _ = msg.error_code();
    let _ = msg.unknown_required();
    // Re-encode every attribute that can be written and parse the result:
    // the codec must agree with itself.
    let mut buf = vec![0u8; data.len() + 64];
    let Ok(mut w) = MessageWriter::new(&mut buf, msg.class(), msg.method(), msg.transaction_id())
    else {
        return;
    };
    let mut written = Vec::new();
    for attr in msg.attributes() {
        if matches!(
            attr,
            Attribute::MessageIntegrity(_)
                | Attribute::MessageIntegritySha256(_)
                | Attribute::Fingerprint(_)
        ) {
            continue;
        }
        if w.add(&attr).is_ok() {
            written.push(attr);
        }
    }
    let n = w.finish(true).expect("room for FINGERPRINT was reserved");
    let again = StunMessage::parse(&buf[..n]).expect("own output parses");
    let reparsed: Vec<_> = again
        .attributes()
        .filter(|a| !matches!(a, Attribute::Fingerprint(_)))
        .collect();
    assert_eq!(reparsed, written);
});
