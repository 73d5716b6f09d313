//! eddy-mio: runs eddy's sans-IO core on mio.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
