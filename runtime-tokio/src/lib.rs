//! eddy-tokio: runs eddy's sans-IO core on tokio.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
