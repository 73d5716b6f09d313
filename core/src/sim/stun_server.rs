//! A STUN server for the simulator (feature `sim`): answers Binding
//! requests with the source address it saw (RFC 8489 §6.3.1), so agents
//! behind simulated NATs learn server-reflexive candidates.

use std::collections::VecDeque;

use super::Node;
use crate::event::Output;
use crate::io::{Input, Transmit};
use crate::stun::{
    Attribute, Class, ErrorCode, MessageWriter, Method, StunMessage, UnknownAttributes,
};

/// A STUN server node: stateless, answers every Binding request.
#[derive(Debug, Default)]
pub struct StunServer {
    out: VecDeque<Transmit>,
    /// Binding requests answered.
    pub answered: u64,
    /// Datagrams that were not STUN Binding requests.
    pub ignored: u64,
}

impl StunServer {
    /// A new server.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Node for StunServer {
    fn handle_input(&mut self, input: Input<'_>) {
        let Input::Receive(_, r) = input else {
            return;
        };
        let Ok(msg) = StunMessage::parse(r.contents) else {
            self.ignored += 1;
            return;
        };
        if (msg.class(), msg.method()) != (Class::Request, Method::BINDING) {
            self.ignored += 1;
            return;
        }
        let mut buf = [0u8; 256];
        let written = (|| {
            let n = if msg.has_unknown_required() {
                // RFC 8489 §6.3.1: unknown comprehension-required
                // attributes are answered with 420.
                let mut w = MessageWriter::new(
                    &mut buf,
                    Class::Error,
                    Method::BINDING,
                    msg.transaction_id(),
                )?;
                w.add(&Attribute::ErrorCode(ErrorCode {
                    code: ErrorCode::UNKNOWN_ATTRIBUTE,
                    reason: "Unknown Attribute",
                }))?;
                w.add(&Attribute::UnknownAttributes(UnknownAttributes::new(
                    msg.unknown_required(),
                )))?;
                w.finish(true)?
            } else {
                let mut w = MessageWriter::new(
                    &mut buf,
                    Class::Success,
                    Method::BINDING,
                    msg.transaction_id(),
                )?;
                w.add(&Attribute::XorMappedAddress(r.source))?;
                w.finish(true)?
            };
            Ok::<usize, crate::stun::EncodeError>(n)
        })();
        if let Ok(n) = written {
            self.answered += 1;
            self.out.push_back(Transmit {
                proto: r.proto,
                source: r.destination,
                destination: r.source,
                contents: buf[..n].to_vec(),
            });
        }
    }

    fn poll_output(&mut self) -> Output {
        match self.out.pop_front() {
            Some(t) => Output::Transmit(t),
            None => Output::Timeout(None),
        }
    }
}
