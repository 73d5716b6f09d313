//! Guides: eddy in the three places it is made for, each a complete,
//! tested program.
//!
//! - [`event_loop`]: driving eddy from your own event loop, one UDP socket
//!   for many peers through [`crate::endpoint::Endpoint`];
//! - `simulator` (feature `sim`): testing what you build on eddy in the seeded network
//!   simulator, with loss, NATs and virtual time;
//! - [`game_loop`]: a fixed-timestep game loop that drives a
//!   [`crate::PeerConnection`] once per tick, with unreliable state and
//!   reliable events.
//!
//! The runtime adapters (`eddy-mio`, `eddy-tokio`, `eddy-async-std`) are
//! the first guide done once for you; read it to know what they do.

#[doc = include_str!("event_loop.md")]
pub mod event_loop {}

#[cfg(feature = "sim")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim")))]
#[doc = include_str!("simulator.md")]
pub mod simulator {}

#[doc = include_str!("game_loop.md")]
pub mod game_loop {}
