//! The file transfer `file-send` and `file-receive` speak (and the page
//! `file-receive` serves), one file per data channel labelled
//! [`LABEL`], reliable and ordered:
//!
//! 1. the sender: a text message, JSON [`Header`] (`{"name":..,"size":..}`);
//! 2. the sender: the file's bytes in binary messages of at most [`CHUNK`];
//! 3. the sender: a text message, JSON [`Trailer`] (`{"sha256":"<hex>"}`);
//! 4. the receiver: a text message, JSON [`Receipt`]: whether the size and
//!    SHA-256 it computed match, and its digest.

use std::io::Write;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The label of a file transfer channel.
pub const LABEL: &str = "file";
/// Bytes per binary message (what browsers send without fragmentation
/// trouble).
pub const CHUNK: usize = 16 * 1024;
/// Longest file name kept.
const MAX_NAME: usize = 128;

/// What comes before the bytes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Header {
    /// The file's name (a base name; the receiver cleans it anyway).
    pub name: String,
    /// The file's size in bytes.
    pub size: u64,
}

/// What comes after the bytes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Trailer {
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
}

/// The receiver's verdict.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Receipt {
    /// Size and digest both matched.
    pub ok: bool,
    /// Bytes received.
    pub bytes: u64,
    /// SHA-256 the receiver computed, lower-case hex.
    pub sha256: String,
    /// Why not, when not ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `name` reduced to a safe base name: no directories, no leading dots, no
/// control characters, at most [`MAX_NAME`] characters; `file` if nothing
/// is left.
pub fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    let cleaned = cleaned.trim_start_matches('.').trim();
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// One incoming file: feed it the channel's messages in order.
pub struct Incoming<W> {
    header: Option<Header>,
    out: W,
    hasher: Sha256,
    bytes: u64,
}

/// What [`Incoming::on_message`] made of a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// The header arrived.
    Started(Header),
    /// More bytes; the total so far.
    Bytes(u64),
    /// The trailer arrived: the verdict to send back.
    Done(Receipt),
}

impl<W: Write> Incoming<W> {
    /// Writes the file's bytes to `out`.
    pub fn new(out: W) -> Self {
        Self {
            header: None,
            out,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The header, once it arrived.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// Takes the channel's next message. Errors: a message out of place, a
    /// bad header or trailer, more bytes than announced, or a failed write.
    pub fn on_message(&mut self, is_text: bool, data: &[u8]) -> Result<Progress, String> {
        match (&self.header, is_text) {
            (None, true) => {
                let header: Header =
                    serde_json::from_slice(data).map_err(|e| format!("bad header: {e}"))?;
                self.header = Some(header.clone());
                Ok(Progress::Started(header))
            }
            (None, false) => Err("bytes before the header".into()),
            (Some(header), false) => {
                self.bytes += data.len() as u64;
                if self.bytes > header.size {
                    return Err(format!("more than the {} bytes announced", header.size));
                }
                self.hasher.update(data);
                self.out
                    .write_all(data)
                    .map_err(|e| format!("cannot write: {e}"))?;
                Ok(Progress::Bytes(self.bytes))
            }
            (Some(header), true) => {
                let trailer: Trailer =
                    serde_json::from_slice(data).map_err(|e| format!("bad trailer: {e}"))?;
                self.out.flush().map_err(|e| format!("cannot write: {e}"))?;
                let sha256 = hex(&std::mem::take(&mut self.hasher).finalize());
                let error = if self.bytes != header.size {
                    Some(format!("{} bytes of {}", self.bytes, header.size))
                } else if sha256 != trailer.sha256.to_ascii_lowercase() {
                    Some(format!(
                        "SHA-256 {sha256}, the sender said {}",
                        trailer.sha256
                    ))
                } else {
                    None
                };
                Ok(Progress::Done(Receipt {
                    ok: error.is_none(),
                    bytes: self.bytes,
                    sha256,
                    error,
                }))
            }
        }
    }
}

/// SHA-256 of `data`, lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(incoming: &mut Incoming<Vec<u8>>, data: &[u8], claimed: &str) -> Progress {
        let header = Header {
            name: "a.bin".into(),
            size: data.len() as u64,
        };
        let json = serde_json::to_vec(&header).expect("json");
        assert_eq!(
            incoming.on_message(true, &json),
            Ok(Progress::Started(header))
        );
        for chunk in data.chunks(3) {
            assert!(matches!(
                incoming.on_message(false, chunk),
                Ok(Progress::Bytes(_))
            ));
        }
        let trailer = serde_json::to_vec(&Trailer {
            sha256: claimed.into(),
        })
        .expect("json");
        incoming.on_message(true, &trailer).expect("trailer")
    }

    #[test]
    fn a_whole_file_checks_out() {
        let data = b"hello, file".to_vec();
        let mut incoming = Incoming::new(Vec::new());
        let Progress::Done(receipt) = send(&mut incoming, &data, &sha256_hex(&data)) else {
            panic!("not done");
        };
        assert!(receipt.ok, "{receipt:?}");
        assert_eq!(receipt.bytes, data.len() as u64);
        assert_eq!(incoming.out, data);
        // The SHA-256 of "abc" (FIPS 180-2 appendix B.1).
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_wrong_digest_is_reported() {
        let mut incoming = Incoming::new(Vec::new());
        let Progress::Done(receipt) = send(&mut incoming, b"data", &sha256_hex(b"other")) else {
            panic!("not done");
        };
        assert!(!receipt.ok);
        assert!(receipt.error.unwrap_or_default().contains("SHA-256"));
    }

    #[test]
    fn out_of_place_messages_are_errors() {
        let mut incoming = Incoming::new(Vec::new());
        assert!(incoming.on_message(false, b"x").is_err());
        assert!(incoming.on_message(true, b"{not json").is_err());
        let header = serde_json::to_vec(&Header {
            name: "x".into(),
            size: 2,
        })
        .expect("json");
        incoming.on_message(true, &header).expect("header");
        assert!(incoming.on_message(false, b"abc").is_err(), "over the size");
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\x\\y.txt"), "y.txt");
        assert_eq!(safe_name(".."), "file");
        assert_eq!(safe_name(".hidden"), "hidden");
        assert_eq!(safe_name("a\u{0}b"), "ab");
        assert_eq!(safe_name(&"n".repeat(500)).len(), MAX_NAME);
    }
}
