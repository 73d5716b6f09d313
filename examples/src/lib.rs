//! Runnable programs built on eddy, and the bits they share.

pub mod http;
