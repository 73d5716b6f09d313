//! # eddy-tokio: eddy on tokio
//!
//! The familiar async shape over eddy's sans-IO core: a [`Connection`]
//! with `async` methods, [`DataChannel`]s with `send(..).await` and
//! `recv().await`, and a stream of [`Events`].
//!
//! Each [`Connection`] runs its driver as a task on the application's tokio
//! runtime (`tokio::spawn` on the current runtime), with tokio's UDP
//! sockets and timers: no thread per connection, and no `LocalSet` (the
//! driver is `Send`). A multi-threaded runtime spreads the connections over
//! its worker threads; a current-thread runtime runs them all on its one
//! thread. The handles are `Send` and reach the driver over channels. The
//! driver itself, shared with `eddy-async-std`, is in `eddy-runtime-common`;
//! this crate is the [`Tokio`] runtime it runs on. The core crate is
//! re-exported as [`eddy`].
//!
//! ## Runtime context
//!
//! [`Connection::new`](eddy_runtime_common::Connection::new) must be called
//! within a tokio runtime (from `#[tokio::main]`, a task, or inside
//! `Runtime::block_on` / `Runtime::enter`), built with I/O and time enabled
//! (`enable_all()`; `#[tokio::main]` and `#[tokio::test]` do). Elsewhere it
//! returns an error instead of panicking (tokio panics on a runtime without
//! I/O or time: this crate catches that, which needs the default
//! `panic = "unwind"`). The driver runs as long as that runtime does: when
//! the runtime shuts down, its connections stop.
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
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use eddy_runtime_common::udp::SockRef;
use eddy_runtime_common::{Interest, Runtime, TcpIo, TcpListenerIo, Timer, UdpIo};

pub use eddy;
pub use eddy_runtime_common::{
    DataChannel, DriverStats, Error, Events, MAX_QUEUED_EVENTS, MAX_QUEUED_MESSAGES,
    MAX_TCP_BACKLOG, MAX_TCP_CONNECTIONS, SEND_HIGH_WATER, SEND_LOW_WATER,
};
pub use tokio;

/// A peer connection driven by tokio. See [`eddy_runtime_common::Connection`].
pub type Connection = eddy_runtime_common::Connection<Tokio>;

/// Builds a [`Connection`] with ICE-TCP candidates (`Connection::builder`).
/// See [`eddy_runtime_common::Builder`].
pub type Builder = eddy_runtime_common::Builder<Tokio>;

/// The tokio runtime for the driver: each connection is a task on the
/// current tokio runtime, with its I/O and timers.
#[derive(Debug, Clone, Copy)]
pub struct Tokio;

/// The current runtime, or an error saying where `Connection::new` belongs.
fn current() -> io::Result<tokio::runtime::Handle> {
    tokio::runtime::Handle::try_current().map_err(|e| {
        io::Error::other(format!(
            "eddy-tokio: Connection::new must be called within a tokio runtime ({e})"
        ))
    })
}

/// Runs `f`, which tokio makes panic when the current runtime lacks the
/// driver it needs (`enable_io`, `enable_time`), and turns that panic into
/// an error: a misconfigured runtime is the caller's mistake to handle.
fn with_driver<T>(what: &str, f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    current()?;
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(io::Error::other(format!(
            "eddy-tokio: the tokio runtime has no {what} driver (build it with enable_all())"
        )))
    })
}

impl Runtime for Tokio {
    fn spawn(future: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
        // Detached: the driver ends by itself (close, or every handle
        // dropped), or with the runtime.
        drop(current()?.spawn(future));
        Ok(())
    }

    fn wrap_socket(socket: std::net::UdpSocket) -> io::Result<Box<dyn UdpIo>> {
        with_driver("I/O", || {
            Ok(Box::new(Socket(tokio::net::UdpSocket::from_std(socket)?)) as Box<dyn UdpIo>)
        })
    }

    fn wrap_tcp(stream: std::net::TcpStream) -> io::Result<Box<dyn TcpIo>> {
        with_driver("I/O", || {
            Ok(Box::new(Stream(tokio::net::TcpStream::from_std(stream)?)) as Box<dyn TcpIo>)
        })
    }

    fn wrap_tcp_listener(listener: std::net::TcpListener) -> io::Result<Box<dyn TcpListenerIo>> {
        with_driver("I/O", || {
            Ok(
                Box::new(Listener(tokio::net::TcpListener::from_std(listener)?))
                    as Box<dyn TcpListenerIo>,
            )
        })
    }

    fn timer() -> io::Result<Box<dyn Timer>> {
        with_driver("time", || {
            Ok(Box::new(Sleep(Box::pin(tokio::time::sleep_until(
                tokio::time::Instant::now(),
            )))) as Box<dyn Timer>)
        })
    }
}

struct Socket(tokio::net::UdpSocket);

impl UdpIo for Socket {
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_recv_ready(cx)
    }

    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_send_ready(cx)
    }

    fn try_io(
        &self,
        interest: Interest,
        op: &mut dyn FnMut(SockRef<'_>) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let interest = match interest {
            Interest::Readable => tokio::io::Interest::READABLE,
            Interest::Writable => tokio::io::Interest::WRITABLE,
        };
        self.0.try_io(interest, || op(SockRef::from(&self.0)))
    }
}

struct Stream(tokio::net::TcpStream);

impl TcpIo for Stream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_read_ready(cx)
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_write_ready(cx)
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }
}

struct Listener(tokio::net::TcpListener);

impl TcpListenerIo for Listener {
    fn poll_accept(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Box<dyn TcpIo>, std::net::SocketAddr)>> {
        self.0.poll_accept(cx).map_ok(|(stream, remote)| {
            let _ = stream.set_nodelay(true);
            (Box::new(Stream(stream)) as Box<dyn TcpIo>, remote)
        })
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
