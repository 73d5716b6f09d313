//! eddy-async-std: runs eddy's sans-IO core on async-std.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
