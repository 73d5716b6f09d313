//! Batched UDP I/O, shared by every adapter: many datagrams per system call
//! where the OS offers it, one otherwise.
//!
//! On Linux, [`recv`] reads up to [`BATCH`] datagrams with one
//! `recvmmsg(2)`, and with UDP GRO (`UDP_GRO`, Linux 5.0) each of those may
//! be a run of same-sized datagrams from one source that the kernel
//! coalesced; [`send`] writes up to [`BATCH`] messages with one
//! `sendmmsg(2)`, and with UDP GSO (`UDP_SEGMENT`, Linux 4.18) each message
//! carries a run of consecutive datagrams of one size to one destination,
//! which the kernel (or the NIC) splits. A socket whose sends fail with GSO
//! (`EIO` where the device cannot checksum it, `EINVAL`) goes on without
//! it. Elsewhere `recv` and `send` are one `recvfrom`/`sendto` each.
//!
//! Datagrams are neither truncated nor reordered: every receive slot holds
//! the largest UDP payload, and a send goes out in queue order.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use eddy::{Input, Protocol, Receive};

pub use socket2::SockRef;

/// Messages per system call on Linux (each may carry several datagrams
/// with GRO or GSO).
pub const BATCH: usize = if cfg!(target_os = "linux") { 16 } else { 1 };

/// The largest UDP payload; the size of each receive slot.
pub const MAX_DATAGRAM: usize = 65_535;

/// Most datagrams in one GSO message (the kernel's `UDP_MAX_SEGMENTS`).
const MAX_SEGMENTS: usize = 64;

/// Most bytes in one GSO message: a UDP payload over IPv6 without jumbograms.
const MAX_GSO_BYTES: usize = 65_000;

/// Datagrams handed to one [`send`] call at most.
pub const MAX_SEND: usize = if cfg!(target_os = "linux") { 256 } else { 1 };

/// What a socket supports, found when it is wrapped: one per socket.
#[derive(Debug)]
pub struct UdpState {
    /// The largest datagram sends may batch with GSO: 0 without it (the
    /// kernel lacks it, or a send failed with `EIO`), lowered below a size
    /// the route refused (`EINVAL`: a segment larger than its MTU).
    gso_limit: AtomicUsize,
    /// GRO is on: a received message may carry several datagrams.
    gro: bool,
}

impl UdpState {
    /// Probes `socket` for GSO and turns GRO on where the kernel has them.
    pub fn new(socket: SockRef<'_>) -> Self {
        #[cfg(target_os = "linux")]
        {
            Self {
                gso_limit: AtomicUsize::new(if sys::gso_supported(&socket) {
                    MAX_DATAGRAM
                } else {
                    0
                }),
                gro: sys::enable_gro(&socket),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = socket;
            Self {
                gso_limit: AtomicUsize::new(0),
                gro: false,
            }
        }
    }

    /// Whether sends batch datagrams with UDP GSO.
    pub fn gso(&self) -> bool {
        self.gso_limit() > 0
    }

    fn gso_limit(&self) -> usize {
        self.gso_limit.load(Ordering::Relaxed)
    }

    /// Whether receives may carry coalesced datagrams (UDP GRO).
    pub fn gro(&self) -> bool {
        self.gro
    }
}

/// One received message: where it came from, how many bytes, and the size
/// of the datagrams coalesced in it (its length when there is one).
#[derive(Debug, Clone, Copy)]
struct Meta {
    source: SocketAddr,
    len: usize,
    stride: usize,
}

/// Where [`recv`] puts what it reads: [`BATCH`] slots of [`MAX_DATAGRAM`]
/// bytes. The memory is allocated zeroed and only the pages the kernel
/// writes become resident, so an idle buffer costs little.
pub struct RecvBuffer {
    buf: Box<[u8]>,
    meta: Vec<Meta>,
}

impl std::fmt::Debug for RecvBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBuffer")
            .field("messages", &self.meta.len())
            .finish_non_exhaustive()
    }
}

impl Default for RecvBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl RecvBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self {
            buf: vec![0; BATCH * MAX_DATAGRAM].into_boxed_slice(),
            meta: Vec::with_capacity(BATCH),
        }
    }

    /// The datagrams the last [`recv`] read, in order, each with its source.
    pub fn datagrams(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> + '_ {
        self.meta.iter().enumerate().flat_map(move |(i, m)| {
            let start = i * MAX_DATAGRAM;
            let message = self.buf.get(start..start + m.len).unwrap_or_default();
            // An empty datagram is one datagram too.
            let empty = message.is_empty().then_some(message);
            message
                .chunks(m.stride.max(1))
                .chain(empty)
                .map(move |datagram| (m.source, datagram))
        })
    }
}

/// Hands `feed` the datagrams of `buf` after the first `fed`, `limit` at the
/// most (a burst is fed in slices, the application answering between
/// them), each as the [`Input::Receive`] of a UDP datagram to `local` at
/// `now`; returns the count fed so far when some are left (the next call's
/// `fed`), `None` once all are.
pub fn feed_slice(
    buf: &RecvBuffer,
    fed: usize,
    limit: usize,
    local: SocketAddr,
    now: Instant,
    mut feed: impl FnMut(Input<'_>),
) -> Option<usize> {
    for (n, (source, contents)) in buf.datagrams().skip(fed).enumerate() {
        if n == limit {
            return Some(fed + n);
        }
        feed(Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: local,
                contents,
            },
        ));
    }
    None
}

/// Reads what `socket` has, up to [`BATCH`] messages, into `buf` (replacing
/// what it held); returns the number of datagrams, as
/// [`RecvBuffer::datagrams`] gives them. Errors as `recvfrom(2)`'s, for the
/// first message (`WouldBlock` when there is none).
pub fn recv(socket: SockRef<'_>, state: &UdpState, buf: &mut RecvBuffer) -> io::Result<usize> {
    buf.meta.clear();
    #[cfg(target_os = "linux")]
    sys::recv(&socket, buf)?;
    #[cfg(not(target_os = "linux"))]
    fallback::recv(&socket, buf)?;
    let _ = state;
    Ok(buf
        .meta
        .iter()
        .map(|m| m.len.div_ceil(m.stride.max(1)).max(1))
        .sum())
}

/// Sends the first of `datagrams` (payload and destination), in order, as
/// many as the socket takes with one system call; returns how many went
/// out (at least one). An error is the first datagram's (`WouldBlock` when
/// the socket is full): that datagram was not sent, the others not tried.
pub fn send<'a>(
    socket: SockRef<'_>,
    state: &UdpState,
    datagrams: impl IntoIterator<Item = (&'a [u8], SocketAddr)>,
) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        sys::send(&socket, state, datagrams)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = state;
        fallback::send(&socket, datagrams)
    }
}

#[cfg(not(target_os = "linux"))]
#[allow(unsafe_code)] // a buffer cast, which says why it is sound
mod fallback {
    use std::io;
    use std::mem::MaybeUninit;
    use std::net::SocketAddr;

    use super::{Meta, RecvBuffer, SockRef, MAX_DATAGRAM};

    pub(super) fn recv(socket: &SockRef<'_>, buf: &mut RecvBuffer) -> io::Result<()> {
        let slot = buf.buf.get_mut(..MAX_DATAGRAM).unwrap_or_default();
        // SAFETY: `MaybeUninit<u8>` has `u8`'s layout, and the kernel only
        // writes initialised bytes into an initialised buffer.
        let slot = unsafe { &mut *(slot as *mut [u8] as *mut [MaybeUninit<u8>]) };
        let (len, source) = socket.recv_from(slot)?;
        let source = source
            .as_socket()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IP source"))?;
        buf.meta.push(Meta {
            source,
            len,
            stride: len,
        });
        Ok(())
    }

    pub(super) fn send<'a>(
        socket: &SockRef<'_>,
        datagrams: impl IntoIterator<Item = (&'a [u8], SocketAddr)>,
    ) -> io::Result<usize> {
        let Some((contents, destination)) = datagrams.into_iter().next() else {
            return Ok(0);
        };
        socket.send_to(contents, &destination.into())?;
        Ok(1)
    }
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // the system calls: each block says why it is sound
mod sys {
    use std::io;
    use std::mem;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
    use std::os::fd::AsRawFd;
    use std::ptr;
    use std::sync::atomic::Ordering;

    use super::{
        Meta, RecvBuffer, SockRef, UdpState, BATCH, MAX_DATAGRAM, MAX_GSO_BYTES, MAX_SEGMENTS,
        MAX_SEND,
    };

    /// Control message space for one `int` or `u16` (GRO's segment size
    /// comes as an `int`, GSO's goes as a `u16`), in `cmsghdr`-aligned
    /// words.
    const CONTROL_WORDS: usize = 4;
    type Control = [u64; CONTROL_WORDS];

    pub(super) fn gso_supported(socket: &SockRef<'_>) -> bool {
        let mut value: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `value` and `len` are valid for writes of the sizes given;
        // the descriptor is a socket borrowed for the call.
        let rc = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_UDP,
                libc::UDP_SEGMENT,
                (&raw mut value).cast(),
                &mut len,
            )
        };
        rc == 0
    }

    pub(super) fn enable_gro(socket: &SockRef<'_>) -> bool {
        let on: libc::c_int = 1;
        // SAFETY: `on` is valid for reads of the size given; the descriptor
        // is a socket borrowed for the call.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_UDP,
                libc::UDP_GRO,
                (&raw const on).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        rc == 0
    }

    pub(super) fn recv(socket: &SockRef<'_>, buf: &mut RecvBuffer) -> io::Result<()> {
        // SAFETY: all-zero is a valid value of these plain C structs.
        let mut names: [libc::sockaddr_storage; BATCH] = unsafe { mem::zeroed() };
        let mut controls: [Control; BATCH] = [[0; CONTROL_WORDS]; BATCH];
        // SAFETY: as above (null pointers, zero lengths).
        let mut iovecs: [libc::iovec; BATCH] = unsafe { mem::zeroed() };
        // SAFETY: as above.
        let mut headers: [libc::mmsghdr; BATCH] = unsafe { mem::zeroed() };
        let base = buf.buf.as_mut_ptr();
        debug_assert!(buf.buf.len() >= BATCH * MAX_DATAGRAM);
        for i in 0..BATCH {
            // In bounds: the buffer holds BATCH slots of MAX_DATAGRAM bytes.
            iovecs[i] = libc::iovec {
                // SAFETY: `i * MAX_DATAGRAM` is within the buffer (above).
                iov_base: unsafe { base.add(i * MAX_DATAGRAM) }.cast(),
                iov_len: MAX_DATAGRAM,
            };
            let h = &mut headers[i].msg_hdr;
            h.msg_name = (&raw mut names[i]).cast();
            h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &raw mut iovecs[i];
            h.msg_iovlen = 1;
            h.msg_control = (&raw mut controls[i]).cast();
            h.msg_controllen = size_of::<Control>() as _;
        }
        // SAFETY: every header points at live, writable storage of the sizes
        // it states (names, iovecs into `buf`, controls), all outliving the
        // call; the descriptor is a socket borrowed for the call. A null
        // timeout is allowed.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                BATCH as _,
                0,
                ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        for (header, name) in headers.iter().zip(&names).take(n as usize) {
            let len = (header.msg_len as usize).min(MAX_DATAGRAM);
            let Some(source) = socket_addr(name) else {
                continue;
            };
            let stride = gro_segment(&header.msg_hdr)
                .filter(|&s| s > 0)
                .unwrap_or(len);
            buf.meta.push(Meta {
                source,
                len,
                stride,
            });
        }
        Ok(())
    }

    /// The segment size of a coalesced message, from its `UDP_GRO` control
    /// message.
    fn gro_segment(header: &libc::msghdr) -> Option<usize> {
        // SAFETY: `header` was filled by `recvmmsg`: its control pointer and
        // length describe the control buffer the kernel wrote, which the
        // CMSG_* walk stays within.
        let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(header) };
        while !cmsg.is_null() {
            // SAFETY: non-null headers from the walk point into the buffer.
            let c = unsafe { &*cmsg };
            if c.cmsg_level == libc::SOL_UDP && c.cmsg_type == libc::UDP_GRO {
                // SAFETY: a UDP_GRO message carries an `int`; the read is
                // unaligned-safe.
                let size: libc::c_int =
                    unsafe { ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast()) };
                return usize::try_from(size).ok();
            }
            // SAFETY: as for the first header.
            cmsg = unsafe { libc::CMSG_NXTHDR(header, cmsg) };
        }
        None
    }

    fn socket_addr(name: &libc::sockaddr_storage) -> Option<SocketAddr> {
        match name.ss_family as libc::c_int {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a `sockaddr_in`,
                // which it is large and aligned enough for.
                let a = unsafe {
                    &*(name as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>()
                };
                Some(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                    u16::from_be(a.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: as above, for `sockaddr_in6`.
                let a = unsafe {
                    &*(name as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
                };
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(a.sin6_addr.s6_addr),
                    u16::from_be(a.sin6_port),
                    a.sin6_flowinfo,
                    a.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    fn write_addr(addr: SocketAddr, name: &mut libc::sockaddr_storage) -> libc::socklen_t {
        match addr {
            SocketAddr::V4(a) => {
                // SAFETY: `sockaddr_storage` is large and aligned enough for
                // a `sockaddr_in`.
                let out = unsafe {
                    &mut *(name as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
                };
                out.sin_family = libc::AF_INET as libc::sa_family_t;
                out.sin_port = a.port().to_be();
                out.sin_addr = libc::in_addr {
                    s_addr: u32::from(*a.ip()).to_be(),
                };
                size_of::<libc::sockaddr_in>() as libc::socklen_t
            }
            SocketAddr::V6(a) => {
                // SAFETY: as above, for `sockaddr_in6`.
                let out = unsafe {
                    &mut *(name as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
                };
                out.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                out.sin6_port = a.port().to_be();
                out.sin6_flowinfo = a.flowinfo();
                out.sin6_addr = libc::in6_addr {
                    s6_addr: a.ip().octets(),
                };
                out.sin6_scope_id = a.scope_id();
                size_of::<libc::sockaddr_in6>() as libc::socklen_t
            }
        }
    }

    /// A run of datagrams sent as one message: `count` iovecs from
    /// `first`, each `segment` bytes but the last (which may be shorter).
    #[derive(Clone, Copy)]
    struct Group {
        destination: SocketAddr,
        first: usize,
        count: usize,
        segment: usize,
        bytes: usize,
    }

    pub(super) fn send<'a>(
        socket: &SockRef<'_>,
        state: &UdpState,
        datagrams: impl IntoIterator<Item = (&'a [u8], SocketAddr)>,
    ) -> io::Result<usize> {
        let gso_limit = state.gso_limit();
        // SAFETY: all-zero is a valid value of these plain C structs.
        let mut iovecs: [libc::iovec; MAX_SEND] = unsafe { mem::zeroed() };
        let mut groups = [Group {
            destination: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
            first: 0,
            count: 0,
            segment: 0,
            bytes: 0,
        }; BATCH];
        let (mut n_iov, mut n_groups) = (0, 0);
        for (contents, destination) in datagrams {
            if n_iov == MAX_SEND {
                break;
            }
            let extends = n_groups > 0
                && groups.get(n_groups - 1).is_some_and(|g: &Group| {
                    // Same destination, same size as the run's first (the
                    // last may be shorter), a run not already ended by a
                    // shorter one, within the kernel's limits.
                    g.destination == destination
                        && g.segment <= gso_limit
                        && contents.len() <= g.segment
                        && !contents.is_empty()
                        && g.bytes == g.count * g.segment
                        && g.count < MAX_SEGMENTS
                        && g.bytes + contents.len() <= MAX_GSO_BYTES
                });
            if !extends {
                if n_groups == BATCH {
                    break;
                }
                groups[n_groups] = Group {
                    destination,
                    first: n_iov,
                    count: 0,
                    segment: contents.len(),
                    bytes: 0,
                };
                n_groups += 1;
            }
            let g = &mut groups[n_groups - 1];
            g.count += 1;
            g.bytes += contents.len();
            // The kernel only reads through this pointer (`sendmmsg`).
            iovecs[n_iov] = libc::iovec {
                iov_base: contents.as_ptr().cast_mut().cast(),
                iov_len: contents.len(),
            };
            n_iov += 1;
        }
        if n_groups == 0 {
            return Ok(0);
        }
        match send_groups(socket, &mut iovecs, &groups[..n_groups]) {
            Ok(sent) => Ok(sent),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(e),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let first = groups[0];
                if first.count == 1 {
                    return Err(e);
                }
                // A GSO message failed: send its first datagram alone, so the
                // error (if any) is that datagram's. Success means GSO was
                // the trouble: `EIO` (the device cannot checksum it) turns
                // it off for this socket, `EINVAL` (a segment larger than
                // the route's MTU) for datagrams of this size and larger.
                let single = Group {
                    count: 1,
                    bytes: first.segment.min(first.bytes),
                    ..first
                };
                let sent = send_groups(socket, &mut iovecs, &[single])?;
                let limit = match e.raw_os_error() {
                    Some(libc::EIO) => Some(0),
                    Some(libc::EINVAL) => Some(first.segment.saturating_sub(1)),
                    _ => None,
                };
                if let Some(limit) = limit {
                    state.gso_limit.fetch_min(limit, Ordering::Relaxed);
                    tracing::debug!(error = %e, limit, "UDP GSO failed: sending without it");
                }
                Ok(sent)
            }
        }
    }

    /// One `sendmmsg` of `groups`; returns the datagrams sent.
    fn send_groups(
        socket: &SockRef<'_>,
        iovecs: &mut [libc::iovec; MAX_SEND],
        groups: &[Group],
    ) -> io::Result<usize> {
        // SAFETY: all-zero is a valid value of these plain C structs.
        let mut names: [libc::sockaddr_storage; BATCH] = unsafe { mem::zeroed() };
        let mut controls: [Control; BATCH] = [[0; CONTROL_WORDS]; BATCH];
        // SAFETY: as above.
        let mut headers: [libc::mmsghdr; BATCH] = unsafe { mem::zeroed() };
        let iov_base = iovecs.as_mut_ptr();
        for (i, g) in groups.iter().enumerate().take(BATCH) {
            let namelen = write_addr(g.destination, &mut names[i]);
            let h = &mut headers[i].msg_hdr;
            h.msg_name = (&raw mut names[i]).cast();
            h.msg_namelen = namelen;
            // SAFETY: `first + count <= MAX_SEND`: the group's iovecs are
            // within the array.
            h.msg_iov = unsafe { iov_base.add(g.first) };
            h.msg_iovlen = g.count as _;
            if g.count > 1 {
                h.msg_control = (&raw mut controls[i]).cast();
                // SAFETY: CMSG_SPACE is a size computation.
                h.msg_controllen = unsafe { libc::CMSG_SPACE(size_of::<u16>() as u32) } as _;
                // SAFETY: the control buffer is `cmsghdr`-aligned and larger
                // than CMSG_SPACE(2), so the first header and its data fit.
                unsafe {
                    let c = libc::CMSG_FIRSTHDR(h);
                    (*c).cmsg_level = libc::SOL_UDP;
                    (*c).cmsg_type = libc::UDP_SEGMENT;
                    (*c).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as _;
                    ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), g.segment as u16);
                }
            }
        }
        let count = groups.len().min(BATCH);
        // SAFETY: every header points at live storage of the sizes it
        // states (names, controls, iovecs into the callers' datagrams,
        // which outlive the call); the kernel only reads the iovecs'
        // memory. The descriptor is a socket borrowed for the call.
        let n = unsafe { libc::sendmmsg(socket.as_raw_fd(), headers.as_mut_ptr(), count as _, 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(groups.iter().take(n as usize).map(|g| g.count).sum())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn addresses_round_trip_through_sockaddr() {
            for addr in [
                "192.0.2.7:5000".parse::<SocketAddr>().expect("v4"),
                "[2001:db8::1%3]:443".parse::<SocketAddr>().expect("v6"),
            ] {
                // SAFETY: all-zero is a valid `sockaddr_storage`.
                let mut name: libc::sockaddr_storage = unsafe { mem::zeroed() };
                write_addr(addr, &mut name);
                assert_eq!(socket_addr(&name), Some(addr));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;

    use super::*;

    fn pair() -> (UdpSocket, UdpSocket) {
        let any = "127.0.0.1:0".parse().expect("literal");
        let bind = || crate::net::bind_udp(any, crate::net::DEFAULT_SOCKET_BUFFER).expect("bind");
        (bind(), bind())
    }

    /// Receives until `want` datagrams came (or the socket stays empty).
    fn drain(socket: &UdpSocket, state: &UdpState, want: usize) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut buf = RecvBuffer::new();
        let mut got = Vec::new();
        let mut idle = 0;
        while got.len() < want && idle < 1000 {
            match recv(SockRef::from(socket), state, &mut buf) {
                Ok(n) => {
                    let before = got.len();
                    got.extend(buf.datagrams().map(|(s, d)| (s, d.to_vec())));
                    assert_eq!(got.len() - before, n);
                    idle = 0;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    idle += 1;
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(e) => panic!("recv: {e}"),
            }
        }
        got
    }

    /// Sizes that make GSO runs, end them (a shorter datagram, a longer one
    /// after it), and a datagram larger than a run allows.
    fn datagrams() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for i in 0..300u32 {
            let len = match i % 50 {
                49 => 700,
                48 => 1300,
                47 => 9000,
                0 => 1,
                _ => 1200,
            };
            let mut d = vec![(i % 251) as u8; len];
            d[..4.min(len)].copy_from_slice(&i.to_be_bytes()[..4.min(len)]);
            out.push(d);
        }
        out
    }

    #[test]
    fn batches_arrive_whole_and_in_order() {
        let (a, b) = pair();
        let (sa, sb) = (
            UdpState::new(SockRef::from(&a)),
            UdpState::new(SockRef::from(&b)),
        );
        let to = b.local_addr().expect("addr");
        let from = a.local_addr().expect("addr");
        let sent = datagrams();
        let mut next = 0;
        let mut most_sent = 0;
        let mut received = Vec::new();
        while next < sent.len() {
            // A few runs per call, received before the next: the receive
            // buffer (as small as 208 KiB) must not overflow.
            let batch = sent[next..].iter().take(100).map(|d| (d.as_slice(), to));
            let n = send(SockRef::from(&a), &sa, batch).expect("send");
            assert!(n >= 1);
            most_sent = most_sent.max(n);
            next += n;
            let want = next - received.len();
            received.extend(drain(&b, &sb, want));
        }
        assert_eq!(received.len(), sent.len());
        for ((source, got), want) in received.iter().zip(&sent) {
            assert_eq!(*source, from);
            assert_eq!(got, want);
        }
        #[cfg(target_os = "linux")]
        {
            assert!(sa.gso(), "loopback takes GSO on this kernel");
            assert!(sb.gro());
            assert!(most_sent > 1, "one datagram per call");
        }
    }

    #[test]
    fn an_unreachable_destination_fails_the_first_datagram_only() {
        let (a, _) = pair();
        let state = UdpState::new(SockRef::from(&a));
        // A loopback socket cannot reach a documentation address.
        let nowhere: SocketAddr = "[2001:db8::1]:9".parse().expect("literal");
        let data = [0u8; 100];
        let err = send(SockRef::from(&a), &state, [(&data[..], nowhere); 3]);
        assert!(err.is_err(), "{err:?}");
        assert!(state.gso() || cfg!(not(target_os = "linux")));
    }
}
