//! The HTTP side of the example servers: axum routes served by hyper with
//! the limits a server open to the internet needs, and the step that turns
//! an offer into a complete (non-trickle) answer through an `eddy_mio`
//! driver.
//!
//! Why these crates: axum and hyper are the maintained HTTP stack of the
//! tokio ecosystem, and hyper's connection builder gives what a slow or
//! hostile client needs bounded (a deadline for a request's whole header,
//! not per read); tower-http adds the per-request deadline, body limit and
//! CORS as layers. The limits, all in [`Limits`]:
//!
//! - a request's head must arrive whole within [`Limits::header_timeout`]
//!   (slowloris: one byte every few seconds no longer holds a slot), its
//!   body and answer within [`Limits::request_timeout`] (408 after), and a
//!   connection lives at most [`Limits::connection_lifetime`];
//! - bodies over [`Limits::max_body`] get 413;
//! - at most [`Limits::max_connections`] connections at once and
//!   [`Limits::max_per_ip`] from one IP address; the next ones get a real
//!   `503 Service Unavailable` (read after the request, so the client sees
//!   it rather than a reset), and past twice the cap the connection is
//!   closed at once.

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use eddy::endpoint::{Endpoint, PeerId};
use eddy::{Configuration, IceGatheringState, PeerConnection, SdpType, SessionDescription};
use eddy_mio::{add_host_candidates, new_peer, Handle};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::oneshot;
use tower_http::cors::{Any, CorsLayer};
use tower_http::timeout::TimeoutLayer;

/// What a signaling server puts up with (see the module docs).
#[derive(Debug, Clone)]
pub struct Limits {
    /// A request's whole head (request line and headers) must arrive in this.
    pub header_timeout: Duration,
    /// A request's body and its answer must be done in this (then 408).
    pub request_timeout: Duration,
    /// Longest life of one connection, keep-alive included.
    pub connection_lifetime: Duration,
    /// Largest request body (then 413).
    pub max_body: usize,
    /// Most connections served at once (then 503).
    pub max_connections: usize,
    /// Most connections served at once from one IP address (then 503).
    pub max_per_ip: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            connection_lifetime: Duration::from_secs(60),
            max_body: 64 * 1024,
            max_connections: 1024,
            max_per_ip: 256,
        }
    }
}

/// Adds the per-request limits and CORS (any origin: the pages may be
/// served from elsewhere) to `app`.
pub fn with_limits(app: Router, limits: &Limits) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE]);
    app.layer(DefaultBodyLimit::max(limits.max_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(cors)
}

/// Starts a signaling server: an `eddy_mio` driver with UDP sockets on
/// `listen`'s IP, and HTTP on `listen` serving `pages`, `POST /offer` and
/// `/signaling.js`
/// (answered through the driver within `answer_timeout`); prints
/// `{name} listening on http://ADDRESS/` on stdout. The caller runs the
/// driver, calling [`Answerer::gathering_complete`] on each peer's
/// `IceGatheringStateChange(Complete)`.
pub fn start(
    name: &str,
    listen: SocketAddr,
    limits: Limits,
    answer_timeout: Duration,
    pages: Router,
) -> io::Result<(eddy_mio::Driver, Answerer)> {
    start_with(name, listen, limits, answer_timeout, pages, None)
}

/// [`start`], with `prepare` called on each answering peer between its
/// remote offer and its answer (to set transceiver directions, say).
pub fn start_with(
    name: &str,
    listen: SocketAddr,
    limits: Limits,
    answer_timeout: Duration,
    pages: Router,
    prepare: Option<Prepare>,
) -> io::Result<(eddy_mio::Driver, Answerer)> {
    let listener = std::net::TcpListener::bind(listen)?;
    let bound = listener.local_addr()?;
    let driver = eddy_mio::Driver::bind(&[listen.ip()])?;
    let mut answerer = Answerer::new(driver.handle(), answer_timeout);
    answerer.prepare = prepare;
    let app = Router::new()
        .route("/offer", axum::routing::post(offer))
        .route("/signaling.js", axum::routing::get(signaling_js))
        .route("/stats", axum::routing::get(stats))
        .with_state(answerer.clone())
        .merge(pages);
    spawn_server(listener, app, limits)?;
    let mut out = io::stdout();
    writeln!(out, "{name} listening on http://{bound}/")?;
    out.flush()?;
    Ok((driver, answerer))
}

/// The pages' signaling code (`eddyConnect(pc)`: offer, gather, POST, answer).
const SIGNALING_JS: &str = include_str!("signaling.js");

async fn signaling_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SIGNALING_JS,
    )
        .into_response()
}

/// Serves `app` on `listener` from a thread of its own (one small tokio
/// runtime for every signaling connection), with `limits`.
pub fn spawn_server(
    listener: std::net::TcpListener,
    app: Router,
    limits: Limits,
) -> io::Result<std::thread::JoinHandle<()>> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("http")
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("http-accept".into())
        .spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => serve(listener, app, limits).await,
                    Err(e) => tracing::error!("http: cannot listen: {e}"),
                }
            });
        })
}

/// Accepts connections on `listener` for ever, serving `app` on each
/// within `limits`.
pub async fn serve(listener: tokio::net::TcpListener, app: Router, limits: Limits) {
    let app = with_limits(app, &limits);
    let slots = Slots::new(limits.max_connections, limits.max_per_ip);
    let rejecting = Arc::new(());
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                tracing::warn!("http: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        match slots.take(peer) {
            Some(slot) => {
                let (app, limits) = (app.clone(), limits.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    serve_connection(stream, app, &limits).await;
                });
            }
            None if Arc::strong_count(&rejecting) <= limits.max_connections => {
                tracing::debug!("http: {peer}: busy");
                let token = rejecting.clone();
                tokio::spawn(async move {
                    let _token = token;
                    reject(stream).await;
                });
            }
            // Past twice the cap: not even a 503.
            None => drop(stream),
        }
    }
}

/// Serves one connection's requests until it closes or outlives its
/// lifetime (then it is asked to finish the request in flight, briefly).
async fn serve_connection(stream: tokio::net::TcpStream, app: Router, limits: &Limits) {
    let service = TowerToHyperService::new(app);
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!("http: connection: {e}");
            }
        }
        () = tokio::time::sleep(limits.connection_lifetime) => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(1), connection).await;
        }
    }
}

/// Answers one request with 503 and closes: over the connection caps.
async fn reject(stream: tokio::net::TcpStream) {
    let service = hyper::service::service_fn(|_request: hyper::Request<Incoming>| async {
        let busy = (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1"), (header::CONNECTION, "close")],
            "busy: too many connections\n",
        );
        Ok::<_, std::convert::Infallible>(busy.into_response())
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(2))
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(Duration::from_secs(3), connection).await;
}

/// Connection slots, in all and per IP address.
#[derive(Clone)]
struct Slots {
    inner: Arc<Mutex<SlotCount>>,
}

struct SlotCount {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
    max_total: usize,
    max_per_ip: usize,
}

/// One taken slot, given back when dropped.
struct Slot {
    slots: Slots,
    ip: IpAddr,
}

impl Slots {
    fn new(max_total: usize, max_per_ip: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(SlotCount {
                total: 0,
                per_ip: HashMap::new(),
                max_total,
                max_per_ip,
            })),
        }
    }

    fn take(&self, peer: SocketAddr) -> Option<Slot> {
        let mut count = lock(&self.inner);
        let ip = peer.ip();
        let mine = count.per_ip.get(&ip).copied().unwrap_or(0);
        if count.total >= count.max_total || mine >= count.max_per_ip {
            return None;
        }
        count.total += 1;
        count.per_ip.insert(ip, mine + 1);
        Some(Slot {
            slots: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut count = lock(&self.slots.inner);
        count.total = count.total.saturating_sub(1);
        if let Some(n) = count.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                count.per_ip.remove(&self.ip);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An offer's outcome: the answer, or a status and the reason.
pub type AnswerResult = Result<SessionDescription, (StatusCode, String)>;

/// Turns offers into complete answers: makes a peer on the driver's thread
/// for each, and replies once its ICE gathering is complete (the driver's
/// event loop calls [`Answerer::gathering_complete`]).
#[derive(Clone)]
pub struct Answerer {
    handle: Handle,
    pending: Arc<Mutex<HashMap<PeerId, oneshot::Sender<AnswerResult>>>>,
    timeout: Duration,
    prepare: Option<Prepare>,
}

/// What an answering peer does between the offer and its answer.
pub type Prepare = fn(&mut PeerConnection);

impl Answerer {
    /// Answers through `handle`'s driver, waiting at most `timeout` for
    /// each answer's candidates.
    pub fn new(handle: Handle, timeout: Duration) -> Self {
        Self {
            handle,
            pending: Arc::default(),
            timeout,
            prepare: None,
        }
    }

    /// Makes a peer for the JSON offer in `body` and waits for its
    /// complete answer.
    pub fn answer(&self, body: &[u8]) -> impl Future<Output = AnswerResult> + Send + 'static {
        let offer = parse_offer(body);
        let (reply, answer) = oneshot::channel();
        let queued = offer.and_then(|offer| {
            let candidates = self.handle.host_candidates().to_vec();
            let pending = self.pending.clone();
            let prepare = self.prepare;
            self.handle
                .execute(move |ep, _now| {
                    let made = answering_peer(offer, &candidates, prepare);
                    match made {
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                        Ok(pc) => {
                            let complete = pc.ice_gathering_state() == IceGatheringState::Complete;
                            let answer = complete.then(|| local_answer(&pc));
                            match (ep.add_peer(pc), answer) {
                                // Over the endpoint's peer cap: busy.
                                (Err(e), _) => {
                                    let busy = (StatusCode::SERVICE_UNAVAILABLE, e.to_string());
                                    let _ = reply.send(Err(busy));
                                }
                                (Ok(_), Some(a)) => {
                                    let _ = reply.send(a);
                                }
                                (Ok(peer), None) => {
                                    let mut pending = lock(&pending);
                                    // Requests that gave up (timed out) wait
                                    // no more: the map holds only live ones.
                                    pending.retain(|_, waiting| !waiting.is_closed());
                                    pending.insert(peer, reply);
                                }
                            }
                        }
                    }
                })
                .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
        });
        let timeout = self.timeout;
        async move {
            queued?;
            match tokio::time::timeout(timeout, answer).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err((
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the peer was dropped".into(),
                )),
                Err(_) => Err((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ICE gathering did not complete".into(),
                )),
            }
        }
    }

    /// Call on `IceGatheringStateChange(Complete)`: sends `peer`'s answer
    /// to the request waiting for it.
    pub fn gathering_complete(&self, ep: &Endpoint, peer: PeerId) {
        let waiting = lock(&self.pending).remove(&peer);
        if let (Some(reply), Some(pc)) = (waiting, ep.peer(peer)) {
            let _ = reply.send(local_answer(pc));
        }
    }

    /// Drops `peer` from the endpoint (closing it first, so it tells the
    /// other side) and any request waiting for it.
    pub fn forget(&self, ep: &mut Endpoint, peer: PeerId) {
        lock(&self.pending).remove(&peer);
        if let Some(mut pc) = ep.remove_peer(peer) {
            pc.close();
        }
    }
}

/// `GET /stats`: every peer's W3C stats report (`get_stats()`), as
/// `{"<peer>": {"<id>": {"type": ..., ...}}}`, taken on the driver's thread.
pub async fn stats(State(answerer): State<Answerer>) -> Response {
    let (reply, reports) = oneshot::channel();
    let asked = answerer.handle.execute(move |ep, _now| {
        let all: serde_json::Map<String, serde_json::Value> = ep
            .peer_ids()
            .collect::<Vec<_>>()
            .into_iter()
            .filter_map(|id| {
                let report = ep.peer(id)?.get_stats();
                Some((format!("{id:?}"), serde_json::to_value(&report).ok()?))
            })
            .collect();
        let _ = reply.send(all);
    });
    if asked.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "the driver stopped\n").into_response();
    }
    match reports.await {
        Ok(all) => axum::Json(all).into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "no reply\n").into_response(),
    }
}

/// `POST /offer`: `{"type":"offer","sdp":...}` in, `{"type":"answer",...}`
/// (with every candidate) out; 400 with a reason for a bad offer.
pub async fn offer(State(answerer): State<Answerer>, body: Bytes) -> Response {
    match answerer.answer(&body).await {
        Ok(answer) => axum::Json(answer).into_response(),
        Err((status, reason)) => (status, format!("{reason}\n")).into_response(),
    }
}

fn parse_offer(body: &[u8]) -> Result<SessionDescription, (StatusCode, String)> {
    let offer: SessionDescription = serde_json::from_slice(body)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("bad offer JSON: {e}")))?;
    if offer.sdp_type != SdpType::Offer {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("expected an offer, got {:?}", offer.sdp_type),
        ));
    }
    Ok(offer)
}

/// A peer with the driver's host candidates that has applied `offer` and
/// its own answer.
fn answering_peer(
    offer: SessionDescription,
    candidates: &[(SocketAddr, eddy::Protocol)],
    prepare: Option<Prepare>,
) -> Result<PeerConnection, (StatusCode, String)> {
    let internal = |e: &dyn std::fmt::Display| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let bad =
        |what: &str, e: &dyn std::fmt::Display| (StatusCode::BAD_REQUEST, format!("{what}: {e}"));
    let mut pc = new_peer(Configuration::default()).map_err(|e| internal(&e))?;
    add_host_candidates(&mut pc, candidates).map_err(|e| internal(&e))?;
    pc.set_remote_description(offer)
        .map_err(|e| bad("bad offer", &e))?;
    if let Some(prepare) = prepare {
        prepare(&mut pc);
    }
    let answer = pc.create_answer().map_err(|e| bad("cannot answer", &e))?;
    pc.set_local_description(answer).map_err(|e| internal(&e))?;
    Ok(pc)
}

/// The peer's answer with its candidates, once gathering is complete.
fn local_answer(pc: &PeerConnection) -> AnswerResult {
    pc.local_description().cloned().ok_or((
        StatusCode::INTERNAL_SERVER_ERROR,
        "no local description".to_owned(),
    ))
}
