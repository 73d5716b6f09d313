//! Runnable programs built on eddy.
