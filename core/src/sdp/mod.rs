//! SDP (RFC 8866) as WebRTC uses it: a typed model, its parser and writer,
//! ICE candidate lines, the W3C `RTCSessionDescription`, and the local codec
//! table that offers and answers are built from.
//!
//! - [`model`]: [`Sdp`] and its parts.
//! - [`parse`]: [`Sdp::parse`], with bounded input and line-numbered errors.
//! - [`mod@write`]: `Display for Sdp`; the output parses back to the same model.
//! - [`candidate`]: [`SdpCandidate`] and [`IceCandidate`].
//! - [`codec`]: eddy's media capabilities and the matching rules answers use.

pub(crate) mod candidate;
pub(crate) mod codec;
pub(crate) mod model;
pub(crate) mod parse;
pub(crate) mod write;

#[cfg(test)]
pub(crate) mod tests;

pub use candidate::{
    CandidateAddress, CandidateKind, CandidateParseError, CandidateTransport, IceCandidate,
    SdpCandidate, TcpType,
};
pub use codec::{MediaKind, RtpCodecCapability};
pub use model::*;
pub use parse::{SdpErrorReason, SdpParseError};

/// The type of a session description (W3C RTCSdpType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum SdpType {
    /// An offer.
    Offer,
    /// A provisional answer.
    Pranswer,
    /// A final answer.
    Answer,
    /// Undo the pending offer (or pranswer).
    Rollback,
}

impl SdpType {
    /// The W3C string (`"offer"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offer => "offer",
            Self::Pranswer => "pranswer",
            Self::Answer => "answer",
            Self::Rollback => "rollback",
        }
    }
}

/// A session description as the browser passes it around (W3C
/// RTCSessionDescription): its type and the SDP text. With feature `serde`
/// it has the browser's JSON shape `{"type":"offer","sdp":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SessionDescription {
    /// Offer, pranswer, answer or rollback.
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub sdp_type: SdpType,
    /// The SDP text (empty for rollback).
    #[cfg_attr(feature = "serde", serde(default))]
    pub sdp: String,
}

impl SessionDescription {
    /// A description of `sdp_type` with text `sdp`.
    pub fn new(sdp_type: SdpType, sdp: impl Into<String>) -> Self {
        Self {
            sdp_type,
            sdp: sdp.into(),
        }
    }

    /// An offer.
    pub fn offer(sdp: impl Into<String>) -> Self {
        Self::new(SdpType::Offer, sdp)
    }

    /// An answer.
    pub fn answer(sdp: impl Into<String>) -> Self {
        Self::new(SdpType::Answer, sdp)
    }

    /// A provisional answer.
    pub fn pranswer(sdp: impl Into<String>) -> Self {
        Self::new(SdpType::Pranswer, sdp)
    }

    /// A rollback.
    pub fn rollback() -> Self {
        Self::new(SdpType::Rollback, "")
    }

    /// Parses the SDP text.
    pub fn parse(&self) -> Result<Sdp, SdpParseError> {
        Sdp::parse(&self.sdp)
    }
}
