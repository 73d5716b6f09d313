//! Runnable programs built on eddy, and the bits they share.
//!
//! - [`signaling`]: the HTTP side of the servers (`echo-server`,
//!   `file-receive`) on axum and hyper, with the limits a public server
//!   needs, and the offer → answer step through an `eddy_mio` driver;
//! - [`client`]: the HTTP side of the clients, on ureq;
//! - [`file`]: the little protocol `file-send` and `file-receive` speak;
//! - [`media_file`]: IVF, Annex-B H.264 and Ogg/Opus files, read and
//!   written frame by frame (`media-play`, `media-record`);
//! - [`logging`]: `RUST_LOG`-driven logs on stderr for every binary.

pub mod client;
pub mod file;
pub mod logging;
pub mod media_file;
pub mod signaling;

/// The exit of an example's `main`: success, or the error on stderr as
/// `{program}: {error}` and failure.
pub fn exit<E: std::fmt::Display>(program: &str, result: Result<(), E>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
