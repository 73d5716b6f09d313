//! What the driver keeps besides sockets and timers: the peer, and for each
//! data channel the queue its handle reads and the sends waiting for room.
//! Runtime-independent; commands from the handles run against it.

use std::collections::{BTreeMap, VecDeque};

use async_channel::{Receiver, Sender, TrySendError};
use eddy::{
    ChannelId, DataChannelError, DataChannelInit, DataChannelMessage, Event, IceGatheringState,
    PeerConnection,
};

/// A handle's request, run by the driver task.
pub(crate) type Command = Box<dyn FnOnce(&mut State) + Send>;

/// `send` waits while the channel's `bufferedAmount` is above this many
/// bytes, so a fast sender cannot fill memory (the core's send buffer holds
/// 16 MiB before it refuses).
pub const SEND_HIGH_WATER: usize = 1024 * 1024;
/// The `bufferedAmountLowThreshold` the driver sets on every open channel:
/// waiting sends go out when the amount falls to it.
pub const SEND_LOW_WATER: usize = 256 * 1024;
/// Messages held per channel until its handle's `recv`; more are dropped,
/// logged and counted (ARCHITECTURE.md §5.3).
pub const MAX_QUEUED_MESSAGES: usize = 8192;
/// Events held until read from `Connection::events`; more are dropped.
pub const MAX_QUEUED_EVENTS: usize = 1024;
/// Channels opened by the peer and not yet accepted; more are not offered
/// (the peer's channel stays open, its messages are not read).
pub const MAX_PENDING_CHANNELS: usize = 64;

/// A channel the peer opened, for `accept_data_channel`.
pub(crate) struct Incoming {
    pub(crate) id: ChannelId,
    pub(crate) label: String,
    pub(crate) messages: Receiver<DataChannelMessage>,
}

/// A message to send.
pub(crate) enum Outgoing {
    Binary(Vec<u8>),
    Text(String),
}

type SendReply = Sender<Result<(), DataChannelError>>;

struct Channel {
    messages: Sender<DataChannelMessage>,
    /// Sends waiting for `bufferedAmount` to fall (in order).
    waiting: VecDeque<(Outgoing, SendReply)>,
}

/// What a connection's driver counted (`Connection::stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriverStats {
    /// UDP datagrams read from the sockets (every one of them is fed to
    /// the peer, some in a later turn than the one that read them).
    pub received: u64,
    /// UDP datagrams the sockets took.
    pub sent: u64,
}

/// The driver's state.
pub(crate) struct State {
    pub(crate) pc: PeerConnection,
    channels: BTreeMap<ChannelId, Channel>,
    events: Sender<Event>,
    incoming: Sender<Incoming>,
    gathering: Vec<Sender<()>>,
    /// `Connection::close` was called: the driver sends what is left and
    /// stops.
    pub(crate) closed: bool,
    /// Messages and events dropped because the application did not read them.
    dropped: u64,
    /// Datagrams read and sent, counted by the driver.
    pub(crate) stats: DriverStats,
}

impl State {
    pub(crate) fn new(
        pc: PeerConnection,
        events: Sender<Event>,
        incoming: Sender<Incoming>,
    ) -> Self {
        Self {
            pc,
            channels: BTreeMap::new(),
            events,
            incoming,
            gathering: Vec::new(),
            closed: false,
            dropped: 0,
            stats: DriverStats::default(),
        }
    }

    /// Routes one event of the peer: messages to their channel's queue,
    /// `bufferedamountlow` to the waiting sends, the rest to `events()`.
    pub(crate) fn handle_event(&mut self, event: Event) {
        match event {
            Event::ChannelMessage(id, message) => {
                if let Some(c) = self.channels.get(&id) {
                    if let Err(TrySendError::Full(_)) = c.messages.try_send(message) {
                        self.dropped += 1;
                        tracing::warn!(?id, dropped = self.dropped, "receive queue full");
                    }
                }
                return;
            }
            Event::ChannelBufferedAmountLow(id) => {
                self.flush_waiting(id);
                return;
            }
            Event::DataChannel(id) => self.accept_remote(id),
            Event::ChannelOpen(id) => {
                if let Some(mut dc) = self.pc.data_channel(id) {
                    dc.set_buffered_amount_low_threshold(SEND_LOW_WATER);
                }
                self.flush_waiting(id);
            }
            Event::ChannelClose(id) => {
                // Dropping the queue's sender ends the handle's `recv`.
                if let Some(c) = self.channels.remove(&id) {
                    for (_, reply) in c.waiting {
                        let _ = reply.try_send(Err(closed()));
                    }
                }
            }
            Event::IceGatheringStateChange(IceGatheringState::Complete) => {
                for waiter in self.gathering.drain(..) {
                    let _ = waiter.try_send(());
                }
            }
            _ => {}
        }
        if let Err(TrySendError::Full(_)) = self.events.try_send(event) {
            self.dropped += 1;
        }
    }

    fn accept_remote(&mut self, id: ChannelId) {
        let Some(dc) = self.pc.data_channel(id) else {
            return;
        };
        let label = dc.label().to_owned();
        let (tx, messages) = async_channel::bounded(MAX_QUEUED_MESSAGES);
        let offered = self.incoming.try_send(Incoming {
            id,
            label,
            messages,
        });
        if offered.is_ok() {
            self.channels.insert(
                id,
                Channel {
                    messages: tx,
                    waiting: VecDeque::new(),
                },
            );
        } else {
            tracing::warn!(
                ?id,
                "a channel of the peer was not offered: too many unaccepted"
            );
        }
    }

    /// `create_data_channel`, registering the channel's queue.
    pub(crate) fn create_channel(
        &mut self,
        label: &str,
        init: &DataChannelInit,
    ) -> Result<Incoming, DataChannelError> {
        let id = self.pc.create_data_channel(label, init)?;
        let (tx, messages) = async_channel::bounded(MAX_QUEUED_MESSAGES);
        self.channels.insert(
            id,
            Channel {
                messages: tx,
                waiting: VecDeque::new(),
            },
        );
        Ok(Incoming {
            id,
            label: label.to_owned(),
            messages,
        })
    }

    /// Sends `message` once the channel's `bufferedAmount` is at most
    /// [`SEND_HIGH_WATER`]; `reply` gets the core's answer then.
    pub(crate) fn send(&mut self, id: ChannelId, message: Outgoing, reply: SendReply) {
        let Some(c) = self.channels.get_mut(&id) else {
            let _ = reply.try_send(Err(closed()));
            return;
        };
        c.waiting.push_back((message, reply));
        self.flush_waiting(id);
    }

    /// Sends the waiting messages of channel `id` while there is room.
    fn flush_waiting(&mut self, id: ChannelId) {
        let Some(c) = self.channels.get_mut(&id) else {
            return;
        };
        let Some(mut dc) = self.pc.data_channel(id) else {
            for (_, reply) in c.waiting.drain(..) {
                let _ = reply.try_send(Err(closed()));
            }
            return;
        };
        while dc.buffered_amount() <= SEND_HIGH_WATER {
            let Some((message, reply)) = c.waiting.pop_front() else {
                break;
            };
            // Owned: the buffer becomes SCTP's message, not copied again
            // (ARCHITECTURE.md §5.6).
            let result = match message {
                Outgoing::Binary(data) => dc.send_owned(data),
                Outgoing::Text(text) => dc.send_text_owned(text),
            };
            let _ = reply.try_send(result);
        }
    }

    /// Replies once ICE gathering is complete.
    pub(crate) fn gathering_complete(&mut self, reply: Sender<()>) {
        if self.pc.ice_gathering_state() == IceGatheringState::Complete {
            let _ = reply.try_send(());
        } else {
            self.gathering.push(reply);
        }
    }
}

fn closed() -> DataChannelError {
    DataChannelError::InvalidState("the channel is closed")
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use eddy::Configuration;

    use super::*;

    fn state() -> (State, Receiver<Event>, Receiver<Incoming>) {
        let pc = PeerConnection::new(Configuration::default(), Instant::now()).expect("peer");
        let (events, events_rx) = async_channel::bounded(MAX_QUEUED_EVENTS);
        let (incoming, incoming_rx) = async_channel::bounded(MAX_PENDING_CHANNELS);
        (State::new(pc, events, incoming), events_rx, incoming_rx)
    }

    fn send(s: &mut State, id: ChannelId, len: usize) -> Receiver<Result<(), DataChannelError>> {
        let (tx, rx) = async_channel::bounded(1);
        s.send(id, Outgoing::Binary(vec![7; len]), tx);
        rx
    }

    #[test]
    fn sends_wait_above_the_high_water_mark_and_fail_when_the_channel_closes() {
        let (mut s, events, _) = state();
        let channel = s
            .create_channel("c", &DataChannelInit::default())
            .expect("channel");
        // Not connected: the core keeps every message, so the amount grows.
        let chunk = 64 * 1024;
        let mut accepted = 0;
        let waiting = loop {
            let reply = send(&mut s, channel.id, chunk);
            match reply.try_recv() {
                Ok(r) => {
                    assert_eq!(r, Ok(()));
                    accepted += 1;
                }
                Err(_) => break reply,
            }
        };
        assert_eq!(accepted, SEND_HIGH_WATER / chunk + 1);
        // A later send queues behind the waiting one.
        let later = send(&mut s, channel.id, 1);
        assert!(later.try_recv().is_err());
        // Messages pass through to the channel's queue; other events go on.
        s.handle_event(Event::ChannelMessage(
            channel.id,
            DataChannelMessage {
                is_text: false,
                data: vec![1],
            },
        ));
        assert_eq!(channel.messages.try_recv().map(|m| m.data), Ok(vec![1]));
        s.handle_event(Event::ChannelClose(channel.id));
        assert_eq!(events.try_recv(), Ok(Event::ChannelClose(channel.id)));
        let closed = Err(DataChannelError::InvalidState("the channel is closed"));
        assert_eq!(waiting.try_recv(), Ok(closed.clone()));
        assert_eq!(later.try_recv(), Ok(closed.clone()));
        // The queue ends, and the channel takes no more.
        assert!(channel.messages.is_closed());
        assert_eq!(send(&mut s, channel.id, 1).try_recv(), Ok(closed));
    }

    #[test]
    fn handles_can_move_between_threads() {
        struct Any;
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<crate::Connection<Any>>();
        send_sync::<crate::DataChannel>();
        send::<crate::Events>();
    }

    #[test]
    fn gathering_waiters_are_answered_when_it_completes() {
        let (mut s, _, _) = state();
        let (tx, rx) = async_channel::bounded(1);
        s.gathering_complete(tx);
        assert!(rx.try_recv().is_err());
        s.handle_event(Event::IceGatheringStateChange(IceGatheringState::Complete));
        assert_eq!(rx.try_recv(), Ok(()));
    }
}
