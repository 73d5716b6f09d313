//! Fuzzes JSEP with arbitrary remote descriptions: a `PeerConnection` must
//! never panic, and every answer it creates must parse.
#![no_main]

use std::time::Instant;

use eddy::{
    Configuration, MediaKind, PeerConnection, SdpType, SessionDescription, TransceiverInit,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let Ok(mut pc) = PeerConnection::new(Configuration::default().with_seed(1), now) else {
        return;
    };
    if mode & 1 != 0 {
        let _ = pc.add_transceiver(MediaKind::Audio, TransceiverInit::default());
    }
    if mode & 2 != 0 {
        // As an answer to our own offer.
        if pc.set_local_description_implicit().is_err() {
            return;
        }
        let _ = pc.set_remote_description(SessionDescription::new(SdpType::Answer, text));
        return;
    }
    if pc
        .set_remote_description(SessionDescription::offer(text))
        .is_ok()
    {
        let answer = pc
            .create_answer()
            .expect("an applied offer can be answered");
        eddy::Sdp::parse(&answer.sdp).expect("eddy's answer parses");
        pc.set_local_description(answer)
            .expect("eddy's answer applies");
        let _ = pc
            .create_offer()
            .map(|o| eddy::Sdp::parse(&o.sdp).expect("offer parses"));
    }
});
