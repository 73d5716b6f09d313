//! # eddy-tokio: eddy on tokio
//!
//! The familiar async shape over eddy's sans-IO core: a [`Connection`]
//! with `async` methods, [`DataChannel`]s with `send(..).await` and
//! `recv().await`, and a stream of [`Events`].
//!
//! Each [`Connection`] runs its driver (for now; the core is `Send`, tasks are next)
//! on a thread of its own, in a current-thread tokio runtime with tokio's
//! UDP sockets and timers (not on the application's runtime: no `LocalSet`
//! is needed). The handles are `Send` and reach the driver over channels;
//! they work from any tokio runtime, multi-threaded or not. The driver
//! itself, shared with `eddy-async-std`, is in `eddy-runtime-common`; this
//! crate is the [`Tokio`] runtime it runs on.
//!
//! ## Example
//!
//! ```no_run
//! use std::net::{IpAddr, Ipv4Addr};
//! use eddy::{Configuration, DataChannelInit};
//! use eddy_tokio::Connection;
//!
//! # async fn signal(offer: eddy::SessionDescription) -> eddy::SessionDescription { offer }
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let pc = Connection::new(Configuration::default(), &[IpAddr::V4(Ipv4Addr::LOCALHOST)])?;
//! let mut chat = pc.create_data_channel("chat", DataChannelInit::default()).await?;
//! let offer = pc.create_offer().await?;
//! pc.set_local_description(offer).await?;
//! pc.gathering_complete().await?; // non-trickle: the offer has every candidate
//! let offer = pc.local_description().await?.ok_or("no offer")?;
//! pc.set_remote_description(signal(offer).await).await?;
//! chat.send_text("hello").await?;
//! while let Some(message) = chat.recv().await {
//!     println!("{} bytes", message.data.len());
//! }
//! pc.close().await;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use eddy_runtime_common::{Runtime, Timer, UdpIo};

pub use eddy_runtime_common::{
    DataChannel, Error, Events, MAX_QUEUED_EVENTS, MAX_QUEUED_MESSAGES, SEND_HIGH_WATER,
    SEND_LOW_WATER,
};
pub use tokio;

/// A peer connection driven by tokio. See [`eddy_runtime_common::Connection`].
pub type Connection = eddy_runtime_common::Connection<Tokio>;

/// The tokio runtime for the driver: a current-thread runtime with I/O and
/// time on the driver's thread.
#[derive(Debug, Clone, Copy)]
pub struct Tokio;

impl Runtime for Tokio {
    fn block_on<F: Future<Output = ()>>(future: F) -> io::Result<()> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(future);
        Ok(())
    }

    fn wrap_socket(socket: std::net::UdpSocket) -> io::Result<Box<dyn UdpIo>> {
        Ok(Box::new(Socket(tokio::net::UdpSocket::from_std(socket)?)))
    }

    fn timer() -> Box<dyn Timer> {
        Box::new(Sleep(Box::pin(tokio::time::sleep_until(
            tokio::time::Instant::now(),
        ))))
    }
}

struct Socket(tokio::net::UdpSocket);

impl UdpIo for Socket {
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_recv_ready(cx)
    }

    fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.0.try_recv_from(buf)
    }

    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_send_ready(cx)
    }

    fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.0.try_send_to(buf, target)
    }
}

struct Sleep(Pin<Box<tokio::time::Sleep>>);

impl Timer for Sleep {
    fn reset(&mut self, at: Instant) {
        self.0.as_mut().reset(at.into());
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}
