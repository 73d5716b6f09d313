//! # eddy-async-std: eddy for async-std and smol applications
//!
//! async-std itself is discontinued (RUSTSEC-2025-0052), so this crate is
//! built on `async-io`, the reactor async-std and smol run on: it works
//! under both executors (and any other). It offers the same shape as
//! `eddy-tokio`: a [`Connection`] with `async` methods, [`DataChannel`]s
//! with `send(..).await` and `recv().await`, and a stream of [`Events`].
//!
//! Each [`Connection`] runs its driver as a task on async-std's global
//! executor (`async-global-executor`, which `async_std::task::spawn` spawns
//! on), with `async-io` sockets and timers: no thread per connection. The
//! executor's worker threads (one per CPU unless
//! `ASYNC_GLOBAL_EXECUTOR_THREADS` says otherwise) and the `async-io`
//! reactor thread start with the first task and serve every connection.
//! `Connection::new` needs no runtime context: it can be called from any
//! executor, smol's included, or from no executor at all; the handles are
//! `Send` and reach the driver over `async-channel` queues, which any
//! executor can await. The driver itself, shared with `eddy-tokio`, is in
//! `eddy-runtime-common`; this crate is the [`AsyncIo`] runtime it runs on.
//! The core crate is re-exported as [`eddy`].
//!
//! ## Example
//!
//! ```no_run
//! use std::net::{IpAddr, Ipv4Addr};
//! use eddy::{Configuration, DataChannelInit};
//! use eddy_async_std::Connection;
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
//! chat.send(b"hello").await?;
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
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::Async;
use eddy_runtime_common::udp::SockRef;
use eddy_runtime_common::{Interest, Runtime, TcpIo, TcpListenerIo, Timer, UdpIo};

pub use async_io;
pub use eddy;
pub use eddy_runtime_common::{
    DataChannel, DriverStats, Error, Events, MAX_QUEUED_EVENTS, MAX_QUEUED_MESSAGES,
    MAX_TCP_BACKLOG, MAX_TCP_CONNECTIONS, SEND_HIGH_WATER, SEND_LOW_WATER,
};

/// A peer connection driven by `async-io`. See
/// [`eddy_runtime_common::Connection`].
pub type Connection = eddy_runtime_common::Connection<AsyncIo>;

/// Builds a [`Connection`] with ICE-TCP candidates (`Connection::builder`).
/// See [`eddy_runtime_common::Builder`].
pub type Builder = eddy_runtime_common::Builder<AsyncIo>;

/// The `async-io` runtime for the driver: each connection is a task on the
/// global executor async-std spawns on, the global `async-io` reactor
/// serves its socket and timer.
#[derive(Debug, Clone, Copy)]
pub struct AsyncIo;

impl Runtime for AsyncIo {
    fn spawn(future: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
        // Detached: the driver ends by itself (close, or every handle
        // dropped).
        async_global_executor::spawn(future).detach();
        Ok(())
    }

    fn wrap_socket(socket: UdpSocket) -> io::Result<Box<dyn UdpIo>> {
        Ok(Box::new(Socket(Async::new(socket)?)))
    }

    fn wrap_tcp(stream: TcpStream) -> io::Result<Box<dyn TcpIo>> {
        Ok(Box::new(Stream(Async::new(stream)?)))
    }

    fn wrap_tcp_listener(listener: TcpListener) -> io::Result<Box<dyn TcpListenerIo>> {
        Ok(Box::new(Listener(Async::new(listener)?)))
    }

    fn timer() -> io::Result<Box<dyn Timer>> {
        Ok(Box::new(Clock(async_io::Timer::never())))
    }
}

struct Socket(Async<UdpSocket>);

impl UdpIo for Socket {
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_readable(cx)
    }

    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_writable(cx)
    }

    fn try_io(
        &self,
        _interest: Interest,
        op: &mut dyn FnMut(SockRef<'_>) -> io::Result<usize>,
    ) -> io::Result<usize> {
        // async-io keeps no readiness to clear: `poll_readable` and
        // `poll_writable` wait for the next event.
        op(SockRef::from(self.0.get_ref()))
    }
}

struct Stream(Async<TcpStream>);

impl TcpIo for Stream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_readable(cx)
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_writable(cx)
    }

    // async-io keeps no readiness to clear (see `Socket::try_io`).
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&mut self.0.get_ref()).read(buf)
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        (&mut self.0.get_ref()).write(buf)
    }
}

struct Listener(Async<TcpListener>);

impl TcpListenerIo for Listener {
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(Box<dyn TcpIo>, SocketAddr)>> {
        loop {
            match self.0.get_ref().accept() {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    // `Async::new` makes it non-blocking.
                    return Poll::Ready(
                        Async::new(stream).map(|s| (Box::new(Stream(s)) as Box<dyn TcpIo>, remote)),
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => match self.0.poll_readable(cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                },
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

struct Clock(async_io::Timer);

impl Timer for Clock {
    fn reset(&mut self, at: Instant) {
        self.0.set_at(at);
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}
