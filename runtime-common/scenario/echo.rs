//! The loopback scenario every async adapter's tests run (included with
//! `#[path]`): two connections in one process, non-trickle offer/answer, a
//! channel echoing text and binary, 200 messages of 16 KiB under
//! backpressure, close.

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr};

use futures_lite::future::zip;

use eddy::{Configuration, DataChannelInit, DataChannelMessage, SessionDescription};
use eddy_runtime_common::{Connection, DataChannel, Runtime, SEND_HIGH_WATER};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const BULK_MESSAGES: u32 = 200;
const BULK_SIZE: usize = 16 * 1024;

/// Message `seq` of the bulk test: its number, then a pattern.
fn bulk(seq: u32) -> Vec<u8> {
    let mut m = vec![0u8; BULK_SIZE];
    m[..4].copy_from_slice(&seq.to_be_bytes());
    for (i, b) in m[4..].iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(31).wrapping_add(seq) as u8;
    }
    m
}

/// Sends back every message as it came, until the channel closes.
async fn echo(mut channel: DataChannel) -> Result {
    while let Some(m) = channel.recv().await {
        if m.is_text {
            channel.send_text(std::str::from_utf8(&m.data)?).await?;
        } else {
            channel.send(&m.data).await?;
        }
    }
    Ok(())
}

async fn expect(channel: &mut DataChannel, is_text: bool, data: &[u8]) -> Result {
    let m = channel.recv().await.ok_or("the channel closed early")?;
    if m != (DataChannelMessage {
        is_text,
        data: data.to_vec(),
    }) {
        return Err(format!("unexpected echo: text {} len {}", m.is_text, m.data.len()).into());
    }
    Ok(())
}

/// Two connections on loopback.
fn pair<R: Runtime>() -> Result<(Connection<R>, Connection<R>)> {
    let lo = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
    Ok((
        Connection::new(Configuration::default(), &lo)?,
        Connection::new(Configuration::default(), &lo)?,
    ))
}

/// Non-trickle offer/answer: `b` is done, `a` still has to apply the
/// returned answer.
async fn offer_answer<R: Runtime>(
    a: &Connection<R>,
    b: &Connection<R>,
) -> Result<SessionDescription> {
    let offer = a.create_offer().await?;
    a.set_local_description(offer).await?;
    a.gathering_complete().await?;
    let offer = a.local_description().await?.ok_or("no offer")?;
    if !offer.sdp.contains("a=candidate") {
        return Err("the offer has no candidate".into());
    }
    b.set_remote_description(offer).await?;
    let answer = b.create_answer().await?;
    b.set_local_description(answer).await?;
    b.gathering_complete().await?;
    Ok(b.local_description().await?.ok_or("no answer")?)
}

/// `b`'s side of the channel `a` offered.
async fn accept<R: Runtime>(b: &Connection<R>) -> Result<DataChannel> {
    let remote = b
        .accept_data_channel()
        .await
        .ok_or("no channel from the peer")?;
    if remote.label() != "chat" {
        return Err(format!("label {:?}", remote.label()).into());
    }
    Ok(remote)
}

/// Two connected peers, the offerer's channel and the answerer's side of it.
pub(crate) async fn connect<R: Runtime>(
) -> Result<(Connection<R>, Connection<R>, DataChannel, DataChannel)> {
    let (a, b) = pair::<R>()?;
    let chat = a
        .create_data_channel("chat", DataChannelInit::default())
        .await?;
    let answer = offer_answer(&a, &b).await?;
    a.set_remote_description(answer).await?;
    let remote = accept(&b).await?;
    Ok((a, b, chat, remote))
}

/// The whole scenario.
pub(crate) async fn run<R: Runtime>() -> Result {
    let (a, b) = pair::<R>()?;
    let mut chat = a
        .create_data_channel("chat", DataChannelInit::default())
        .await?;
    // 3.2 MB sent from the start: until the channel opens the core keeps
    // it all, so `send` must wait once SEND_HIGH_WATER bytes are buffered.
    let sent = Cell::new(0);
    let bulk_sender = async {
        for seq in 0..BULK_MESSAGES {
            chat.send(&bulk(seq)).await?;
            sent.set(seq + 1);
        }
        Result::Ok(())
    };
    let signaling = async {
        let answer = offer_answer(&a, &b).await?;
        let buffered = chat.buffered_amount().await?;
        if sent.get() == BULK_MESSAGES || buffered > SEND_HIGH_WATER + BULK_SIZE {
            return Err(format!(
                "no backpressure: {} sent, {buffered} bytes buffered",
                sent.get()
            )
            .into());
        }
        a.set_remote_description(answer).await?;
        accept(&b).await
    };
    let (sending, remote) = zip(bulk_sender, signaling).await;
    sending?;
    let remote = remote?;
    let client = async move {
        for seq in 0..BULK_MESSAGES {
            expect(&mut chat, false, &bulk(seq)).await?;
        }
        chat.send_text("hello").await?;
        expect(&mut chat, true, b"hello").await?;
        chat.send(&[0, 1, 2, 255]).await?;
        expect(&mut chat, false, &[0, 1, 2, 255]).await?;
        chat.send_text("").await?;
        expect(&mut chat, true, b"").await?;
        chat.close().await?;
        // Both sides close, then the queue ends.
        if chat.recv().await.is_some() {
            return Err("a message after close".into());
        }
        if chat.send(b"late").await.is_ok() {
            return Err("a closed channel took a message".into());
        }
        Result::Ok(())
    };
    let (client, echoed) = zip(client, echo(remote)).await;
    client?;
    echoed?;
    let state = a.with(|pc| pc.connection_state()).await?;
    if state != eddy::PeerConnectionState::Connected {
        return Err(format!("connection state {state:?}").into());
    }
    a.close().await;
    b.close().await;
    if a.create_offer().await != Err(eddy_runtime_common::Error::Closed) {
        return Err("a closed connection still answers".into());
    }
    Ok(())
}

/// Messages in [`burst`], more than a turn of the driver feeds (one read
/// alone may give a thousand datagrams).
const BURST: u32 = 3000;
const BURST_SIZE: usize = 1000;

/// Message `seq` of [`burst`]: one datagram.
fn burst_message(seq: u32) -> Vec<u8> {
    let mut m = vec![0x5a; BURST_SIZE];
    m[..4].copy_from_slice(&seq.to_be_bytes());
    m
}

/// A burst of one-datagram messages, queued at once, is echoed back whole
/// and in order, and every datagram each driver read reached its peer: the
/// drivers feed a read a slice at a time and hand the application its
/// events in between, keeping the rest for the next turns (SCTP would hide
/// a lost one by retransmitting it, so the datagrams are counted).
pub(crate) async fn burst<R: Runtime>() -> Result {
    let (a, b, mut chat, remote) = connect::<R>().await?;
    let client = async {
        // One command queues the whole burst: it leaves as fast as SCTP
        // lets it, not one message per turn of the application.
        let id = chat.id();
        a.with(move |pc| {
            let mut dc = pc.data_channel(id).ok_or("no channel")?;
            for seq in 0..BURST {
                dc.send(&burst_message(seq)).map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(())
        })
        .await??;
        for seq in 0..BURST {
            expect(&mut chat, false, &burst_message(seq)).await?;
        }
        Result::Ok(())
    };
    let echoing = async {
        echo(remote).await?;
        Err("the echo side's channel closed".into())
    };
    futures_lite::future::or(client, echoing).await?;
    all_fed(&a).await?;
    all_fed(&b).await?;
    a.close().await;
    b.close().await;
    Ok(())
}

/// Every datagram `pc`'s driver read reached the peer: at once, or once
/// those still arriving (SACKs) are fed.
async fn all_fed<R: Runtime>(pc: &Connection<R>) -> Result {
    let mut timer = R::timer()?;
    let mut counts = (0, 0);
    for _ in 0..1000 {
        let stats = pc.stats().await?;
        let input = pc.with(|pc| pc.connection_stats().input).await?;
        counts = (
            stats.received,
            input.stun + input.dtls + input.dropped_unknown,
        );
        if counts.0 == counts.1 {
            break;
        }
        timer.reset(std::time::Instant::now() + std::time::Duration::from_millis(5));
        std::future::poll_fn(|cx| timer.poll_expired(cx)).await;
    }
    if counts.0 != counts.1 || counts.0 < u64::from(BURST) {
        return Err(format!("{} datagrams read, {} fed to the peer", counts.0, counts.1).into());
    }
    Ok(())
}
