//! TURN over TCP through an async adapter's driver (included with
//! `#[path]`): two relay-only connections (`iceTransportPolicy: relay`)
//! whose TURN clients reach a TURN server over TCP on loopback; the
//! server relays between their allocations over UDP, and a data channel
//! echoes through it.
//!
//! The server is `eddy::sim::turn_server::TurnServer` (sans-IO) driven by a
//! small loop on a thread of its own: a TCP listener on 127.0.0.1 whose
//! streams it splits into messages (STUN by its length, ChannelData padded
//! to four bytes: RFC 8656 §12.5), and a UDP socket per allocation. The
//! server relays from ports 49152 and up of the address it is reached at,
//! so the loop gives it `relay_ip` (another loopback address, Linux) as
//! that address: no clash with ports in use on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use eddy::sim::turn_server::{TurnServer, TurnServerConfig};
use eddy::sim::Node;
use eddy::{
    Configuration, DataChannelInit, DataChannelMessage, IceServer, IceTransportPolicy, Input,
    Output, Protocol, Receive, SessionDescription,
};
use eddy_runtime_common::{Connection, DataChannel, Runtime};

pub(crate) type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The TURN server's loop; [`Server::stop`] ends it and gives the server
/// back (for its counters).
pub(crate) struct Server {
    pub(crate) port: u16,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<TurnServer>,
}

impl Server {
    /// Listens on 127.0.0.1 (a free port); relays from `relay_ip`.
    pub(crate) fn start(relay_ip: Ipv4Addr) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        // Its port is the one the loop listens on.
        let server = TurnServer::new(TurnServerConfig {
            users: vec![("eddy".into(), "secret".into())],
            port,
            ..TurnServerConfig::default()
        });
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let address = SocketAddr::new(IpAddr::V4(relay_ip), port);
        let thread = std::thread::spawn(move || serve(server, listener, address, &flag));
        Ok(Self { port, stop, thread })
    }

    pub(crate) fn stop(self) -> TurnServer {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the TURN loop panicked")
    }
}

/// A client's TCP connection and the bytes of its next message so far.
struct Client {
    stream: TcpStream,
    remote: SocketAddr,
    pending: Vec<u8>,
}

/// The length of the message at the start of a TURN-over-TCP stream, once
/// its header is there.
fn message_len(bytes: &[u8]) -> Option<usize> {
    let head = bytes.get(..4)?;
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    match head[0] {
        0..=3 => Some(20 + len),
        // ChannelData, padded over TCP.
        0x40..=0x7f => Some((4 + len + 3) & !3),
        _ => None,
    }
}

fn serve(
    mut server: TurnServer,
    listener: TcpListener,
    address: SocketAddr,
    stop: &AtomicBool,
) -> TurnServer {
    let mut clients: Vec<Client> = Vec::new();
    let mut relays: Vec<(UdpSocket, SocketAddr)> = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) {
        let mut idle = true;
        while let Ok((stream, remote)) = listener.accept() {
            stream.set_nonblocking(true).expect("non-blocking");
            let _ = stream.set_nodelay(true);
            clients.push(Client {
                stream,
                remote,
                pending: Vec::new(),
            });
        }
        let mut inputs: Vec<(Protocol, SocketAddr, SocketAddr, Vec<u8>)> = Vec::new();
        clients.retain_mut(|c| loop {
            match c.stream.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => {
                    c.pending.extend_from_slice(&buf[..n]);
                    while let Some(len) = message_len(&c.pending) {
                        if c.pending.len() < len {
                            break;
                        }
                        let message: Vec<u8> = c.pending.drain(..len).collect();
                        inputs.push((Protocol::Tcp, c.remote, address, message));
                    }
                    if message_len(&c.pending).is_none() && c.pending.len() >= 4 {
                        // Not TURN: drop the client.
                        return false;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        });
        for (socket, local) in &relays {
            while let Ok((n, source)) = socket.recv_from(&mut buf) {
                inputs.push((Protocol::Udp, source, *local, buf[..n].to_vec()));
            }
        }
        for (proto, source, destination, contents) in inputs {
            idle = false;
            let allocations = server.stats.allocations;
            server.handle_input(Input::Receive(
                Instant::now(),
                Receive {
                    proto,
                    source,
                    destination,
                    contents: &contents,
                },
            ));
            // A new allocation relays from the next port from 49152 up.
            for n in allocations..server.stats.allocations {
                let relayed = SocketAddr::new(address.ip(), 49152 + n as u16);
                let socket = UdpSocket::bind(relayed).expect("bind the relayed address");
                socket.set_nonblocking(true).expect("non-blocking");
                relays.push((socket, relayed));
            }
            while let Output::Transmit(t) = server.poll_output() {
                if t.proto == Protocol::Tcp {
                    if let Some(c) = clients.iter_mut().find(|c| c.remote == t.destination) {
                        write_all(&mut c.stream, &t.contents);
                    }
                } else if let Some((socket, _)) = relays.iter().find(|(_, l)| *l == t.source) {
                    let _ = socket.send_to(&t.contents, t.destination);
                }
            }
        }
        if idle {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    server
}

/// Writes all of `bytes` to a non-blocking stream (small messages on
/// loopback: a full send buffer is brief).
fn write_all(stream: &mut TcpStream, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// A relay-only configuration with the server reached over TCP.
fn relay_config(port: u16) -> Configuration {
    let mut config = Configuration::default();
    config.ice_servers = vec![IceServer {
        urls: vec![format!("turn:127.0.0.1:{port}?transport=tcp")],
        username: Some("eddy".into()),
        credential: Some("secret".into()),
    }];
    config.ice_transport_policy = IceTransportPolicy::Relay;
    config
}

/// The scenario: connect through the server, echo messages, close; then
/// the server's counters say both clients came over TCP and the data was
/// relayed.
pub(crate) async fn run<R: Runtime>(relay_ip: Ipv4Addr) -> Result {
    let server = Server::start(relay_ip)?;
    let result = connect_and_echo::<R>(server.port).await;
    let server = server.stop();
    result?;
    let stats = server.stats;
    // (The allocations made: `close` deletes them, if the server sees
    // that before it stops.)
    if server.tcp_clients() != 2 || stats.allocations != 2 {
        return Err(format!("{} TCP clients: {stats:?}", server.tcp_clients()).into());
    }
    if stats.sent_from_channel + stats.sent_from_send == 0
        || stats.channel_data + stats.data_indications == 0
    {
        return Err(format!("nothing relayed: {stats:?}").into());
    }
    Ok(())
}

async fn connect_and_echo<R: Runtime>(port: u16) -> Result {
    let lo = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
    let a = Connection::<R>::new(relay_config(port), &lo)?;
    let b = Connection::<R>::new(relay_config(port), &lo)?;
    let (mut chat, offer) = offer_with_chat(&a).await?;
    // Relay candidates only, and at least one.
    let candidates: Vec<&str> = offer
        .sdp
        .lines()
        .filter(|l| l.starts_with("a=candidate"))
        .collect();
    if candidates.is_empty() || candidates.iter().any(|l| !l.contains(" typ relay")) {
        return Err(format!("the offer's candidates: {candidates:?}").into());
    }
    answer_and_echo(&a, &b, offer, &mut chat).await?;
    a.close().await;
    b.close().await;
    Ok(())
}

/// A's data channel "chat", and A's offer once gathering completed.
async fn offer_with_chat<R: Runtime>(
    a: &Connection<R>,
) -> Result<(DataChannel, SessionDescription)> {
    let chat = a
        .create_data_channel("chat", DataChannelInit::default())
        .await?;
    let offer = a.create_offer().await?;
    a.set_local_description(offer).await?;
    a.gathering_complete().await?;
    let offer = a.local_description().await?.ok_or("no offer")?;
    Ok((chat, offer))
}

/// B answers `offer`, A takes the answer, and 20 messages of growing
/// size go from A to B over `chat` and back, unchanged.
async fn answer_and_echo<R: Runtime>(
    a: &Connection<R>,
    b: &Connection<R>,
    offer: SessionDescription,
    chat: &mut DataChannel,
) -> Result {
    b.set_remote_description(offer).await?;
    let answer = b.create_answer().await?;
    b.set_local_description(answer).await?;
    b.gathering_complete().await?;
    let answer = b.local_description().await?.ok_or("no answer")?;
    a.set_remote_description(answer).await?;
    let mut remote = b
        .accept_data_channel()
        .await
        .ok_or("no channel from the peer")?;
    for i in 0..20u8 {
        let data = vec![i; 1000 + usize::from(i) * 100];
        chat.send(&data).await?;
        let m = remote.recv().await.ok_or("the channel closed")?;
        remote.send(&m.data).await?;
        let back = chat.recv().await.ok_or("the channel closed")?;
        if back
            != (DataChannelMessage {
                is_text: false,
                data,
            })
        {
            return Err(format!("message {i} came back changed").into());
        }
    }
    Ok(())
}

/// ICE over TCP only (RFC 6544): two connections built with
/// `ice_tcp(true).tcp_only(true)` have active and passive TCP host
/// candidates and no UDP ones; the active side's driver connects to the
/// other's listener, which accepts, and a data channel echoes over the
/// pair.
pub(crate) async fn ice_tcp_only<R: Runtime>() -> Result {
    let build = || {
        Connection::<R>::builder(Configuration::default())
            .ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
            .ice_tcp(true)
            .tcp_only(true)
            .build()
    };
    let (a, b) = (build()?, build()?);
    let (mut chat, offer) = offer_with_chat(&a).await?;
    let candidates: Vec<String> = offer
        .sdp
        .lines()
        .filter(|l| l.starts_with("a=candidate"))
        .map(str::to_ascii_lowercase)
        .collect();
    let tcp = |kind: &str| {
        candidates
            .iter()
            .any(|l| l.contains(" tcp ") && l.contains(kind))
    };
    if !tcp("tcptype active")
        || !tcp("tcptype passive")
        || candidates.iter().any(|l| l.contains(" udp "))
    {
        return Err(format!("the offer's candidates: {candidates:?}").into());
    }
    answer_and_echo(&a, &b, offer, &mut chat).await?;
    for pc in [&a, &b] {
        let pair = pc.with(|pc| pc.selected_candidate_pair()).await?;
        if !matches!(pair, Some((_, _, Protocol::Tcp))) {
            return Err(format!("selected pair {pair:?}").into());
        }
    }
    a.close().await;
    b.close().await;
    Ok(())
}
