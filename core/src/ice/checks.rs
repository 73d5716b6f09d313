//! The agent's clockwork: paced checks (RFC 8445 §6.1.4), retransmissions
//! (§14.3), responses (§7.2.5), nomination (§8.1), consent freshness
//! (RFC 7675) and the state machine.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use smallvec::SmallVec;

use super::agent::{
    Answered, IceAgent, Key, Selected, Transaction, TxKind, REQUEST_INLINE, SPARE_BUFFERS,
    STUN_KEEP, STUN_ROOM,
};
use super::candidate::{Candidate, PairState};
use super::{
    IceConnectionState, IceEvent, IceGatheringState, IceRole, MAX_LOCAL_CANDIDATES,
    MAX_TRANSACTIONS,
};
use crate::io::Protocol;
use crate::rng::Rng;
use crate::room::{push_with_first_room, FreeIfEmpty};
use crate::stun::{Attribute, Class, ErrorCode, MessageWriter, Method, StunMessage, TransactionId};

/// Transmissions of one consent check (RFC 8489 retransmission with the
/// check RTO), ending before the next check is due.
const CONSENT_TRANSMITS: u32 = 4;

/// What a request kept inline starts as before it is written.
static ZEROS: [u8; REQUEST_INLINE] = [0; REQUEST_INLINE];

impl IceAgent {
    /// Gives back the room queues and tables grew to during gathering and
    /// checks (issue 13): empty queues free theirs, the candidate and pair
    /// tables keep only what they hold. Called on the connection's timer
    /// wakeups, where an idle connection ends up.
    pub(crate) fn trim(&mut self) {
        // What an idle connection's consent exchange needs is kept: one
        // outstanding check, an answer and a check queued at once
        // (`consent_alongside`). Without a selected pair, nothing.
        let consent = usize::from(self.selected.is_some());
        self.transmits.keep_if_empty(2 * consent);
        self.transactions.keep_if_empty(consent);
        if consent == 0 {
            self.spare.clear();
        }
        self.events.free_if_empty();
        self.triggered.free_if_empty();
        self.gather_jobs.free_if_empty();
        self.tcp_frames.free_if_empty();
        self.local.shrink_to_fit();
        self.remote.shrink_to_fit();
        self.pairs.shrink_to_fit();
        self.pending_mdns.shrink_to_fit();
        self.retired.shrink_to_fit();
    }

    /// Takes back a sent datagram's buffer for a later STUN message if it
    /// has the room of one (not a DTLS datagram's) and fewer than two are
    /// kept; otherwise gives it back.
    pub(crate) fn recycle(&mut self, buf: Vec<u8>) -> Option<Vec<u8>> {
        if self.selected.is_some()
            && self.spare.len() < SPARE_BUFFERS
            && (STUN_ROOM..=STUN_KEEP).contains(&buf.capacity())
        {
            self.spare.push(buf);
            None
        } else {
            Some(buf)
        }
    }

    /// Time passed: retransmit, time out, send the next paced check or
    /// gathering request, nominate, check consent.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.connection_state == IceConnectionState::Closed {
            return;
        }
        let now = self.now;
        self.retransmit(now);
        self.consent_tick(now);
        self.maybe_nominate(now);
        if self.next_pace.is_none_or(|t| t <= now) && self.paced_send(now) {
            self.next_pace = Some(now + self.config.ta);
        }
        self.after_input();
    }

    /// After every input: derived states, then the next deadline.
    pub(super) fn after_input(&mut self) {
        if self.connection_state == IceConnectionState::Closed {
            self.deadline = None;
            return;
        }
        self.update_states();
        // A response may have made a pair nominable: decide now, the paced
        // slot sends it.
        self.maybe_nominate(self.now);
        self.deadline = self.compute_deadline();
    }

    fn retransmit(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.transactions.len() {
            let t = &mut self.transactions[i];
            if t.next_at > now {
                i += 1;
                continue;
            }
            if t.transmits < t.max_transmits {
                // RFC 8489 §6.2.1: the RTO doubles after each
                // retransmission (capped here at `rto_max`).
                t.transmits += 1;
                t.rto = (t.rto * 2).min(self.config.rto_max);
                t.last_sent = now;
                t.next_at = now + t.rto;
                let (local, remote, proto, kind) = (t.local, t.remote, t.proto, t.kind);
                let bytes = t.bytes.clone();
                if let TxKind::Check { pair, .. } = kind {
                    if let Some(p) = self.pairs.get_mut(pair) {
                        p.requests_sent += 1;
                    }
                    self.stats.requests_sent += 1;
                }
                self.queue_stun(local, remote, proto, &bytes);
                i += 1;
            } else {
                let t = self.transactions.swap_remove(i);
                self.on_timeout(t);
            }
        }
    }

    fn on_timeout(&mut self, t: Transaction) {
        match t.kind {
            TxKind::Check { pair, .. } => {
                let other = self
                    .transactions
                    .iter()
                    .any(|o| matches!(o.kind, TxKind::Check { pair: q, .. } if q == pair));
                if let Some(p) = self.pairs.get_mut(pair) {
                    p.nominating = false;
                    if !other && p.state == PairState::InProgress {
                        p.state = PairState::Failed;
                    }
                }
            }
            // An unanswered consent check: the next periodic one follows;
            // `disconnected` and `failed` are judged by time.
            TxKind::Consent { .. } => {}
            TxKind::Gather { .. } => {}
        }
    }

    /// Sends one paced request: a triggered check first (RFC 8445
    /// §6.1.4.2), then a gathering request, then an ordinary check. Returns
    /// whether something was sent.
    fn paced_send(&mut self, now: Instant) -> bool {
        if self.config.lite
            || self.connection_state == IceConnectionState::Failed
            || self.transactions.len() >= MAX_TRANSACTIONS
        {
            return false;
        }
        if self.remote_creds.is_some() {
            while let Some(pair) = self.triggered.pop_front() {
                let nominate = self.pairs.get(pair).is_some_and(|p| p.nominating);
                if self.send_check(now, pair, nominate) {
                    return true;
                }
            }
        }
        if let Some((base, server)) = self.gather_jobs.pop_front() {
            return self.send_gather(now, base, server);
        }
        if self.remote_creds.is_none() || self.has_nominated() {
            // RFC 8445 §8.1.2: once a pair is nominated, no more ordinary
            // checks.
            return false;
        }
        match self.next_ordinary_pair() {
            Some(pair) => self.send_check(now, pair, false),
            None => false,
        }
    }

    /// RFC 8445 §6.1.4.2: "the agent picks the highest-priority pair in the
    /// Waiting state"; if there is none, the highest-priority Frozen pair
    /// whose foundation has no pair Waiting or In-Progress is unfrozen.
    fn next_ordinary_pair(&self) -> Option<usize> {
        let waiting = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == PairState::Waiting)
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, _)| i);
        waiting.or_else(|| {
            (0..self.pairs.len())
                .filter(|&i| self.pairs[i].state == PairState::Frozen)
                .filter(|&i| {
                    let (l, r) = (self.pairs[i].local, self.pairs[i].remote);
                    !self.pairs.iter().any(|p| {
                        matches!(p.state, PairState::Waiting | PairState::InProgress)
                            && self.same_foundation(p.local, p.remote, l, r)
                    })
                })
                .max_by_key(|&i| self.pairs[i].priority)
        })
    }

    fn has_nominated(&self) -> bool {
        self.pairs.iter().any(|p| p.nominated)
    }

    /// Builds a Binding request for `pair` (RFC 8445 §7.1.1 and §7.2.2):
    /// USERNAME "RFRAG:LFRAG", PRIORITY, ICE-CONTROLLING/-CONTROLLED,
    /// USE-CANDIDATE when nominating, MESSAGE-INTEGRITY with the peer's
    /// password, FINGERPRINT. The transaction is written where it stays,
    /// last in `transactions` (a check sent at `now`, RTO `rto_min`), and
    /// its request queued once the caller has set it up
    /// ([`queue_last_request`](Self::queue_last_request)); false, with
    /// nothing pushed, if it cannot be built.
    fn push_request(&mut self, pair: usize, nominate: bool) -> bool {
        let Some(p) = self.pairs.get(pair) else {
            return false;
        };
        let (Some(l), Some(r)) = (self.local.get(p.local), self.remote.get(p.remote)) else {
            return false;
        };
        let (local, remote, proto, priority) = (l.addr, r.addr, l.proto, l.prflx_priority());
        let Some(creds) = self.remote_creds.as_ref() else {
            return false;
        };
        let tid = new_tid(&mut self.rng);
        let controlling = self.role == IceRole::Controlling;
        let attrs = [
            Some(Attribute::Username(&creds.username)),
            Some(Attribute::Priority(priority)),
            Some(if controlling {
                Attribute::IceControlling(self.tie_breaker)
            } else {
                Attribute::IceControlled(self.tie_breaker)
            }),
            (nominate && controlling).then_some(Attribute::UseCandidate),
            self.config.software.map(Attribute::Software),
        ];
        // A pair's check and then its nomination: room for two (~600
        // bytes) rather than the default four.
        push_with_first_room(
            &mut self.transactions,
            2,
            Transaction {
                tid,
                kind: TxKind::Check { pair, nominate },
                local,
                remote,
                proto,
                bytes: SmallVec::new(),
                key: creds.key.clone(),
                last_sent: self.now,
                next_at: self.now,
                rto: self.config.rto_min,
                transmits: 1,
                max_transmits: self.config.max_check_transmits,
                sent_controlling: controlling,
            },
        );
        let Some(tx) = self.transactions.last_mut() else {
            return false;
        };
        // Written where the transaction keeps it (inline up to
        // REQUEST_INLINE bytes), sized exactly: no scratch buffer to clear
        // and copy from, and no move of the transaction once written.
        let room = MessageWriter::room(attrs.iter().flatten(), tx.key.0.is_some(), true);
        // Zeroed in one copy: `SmallVec::resize` pushes byte by byte.
        match ZEROS.get(..room) {
            Some(zeros) => tx.bytes.extend_from_slice(zeros),
            None => tx.bytes.resize(room, 0),
        }
        let (bytes, key) = (&mut tx.bytes, &tx.key);
        let n = (|| {
            let mut w = MessageWriter::new(bytes, Class::Request, Method::BINDING, tid)?;
            for a in attrs.iter().flatten() {
                w.add(a)?;
            }
            if let Some(key) = &key.0 {
                w.add_integrity_kept(key)?;
            }
            w.finish(true)
        })();
        match n {
            Ok(n) => {
                tx.bytes.truncate(n);
                true
            }
            Err(_) => {
                self.transactions.pop();
                false
            }
        }
    }

    /// Queues the request of the last transaction (see
    /// [`push_request`](Self::push_request)).
    fn queue_last_request(&mut self) {
        // The table is set aside for the call (`queue_stun` does not read
        // it): the request's bytes are lent where they lie.
        let transactions = std::mem::take(&mut self.transactions);
        if let Some(tx) = transactions.last() {
            self.queue_stun(tx.local, tx.remote, tx.proto, &tx.bytes);
        }
        self.transactions = transactions;
    }

    /// Sends a check on `pair`; false if it cannot be built.
    fn send_check(&mut self, now: Instant, pair: usize, nominate: bool) -> bool {
        // RFC 8445 §14.3: "RTO = MAX (500ms, Ta * (Num-Waiting +
        // Num-In-Progress))".
        let active = self
            .pairs
            .iter()
            .filter(|p| matches!(p.state, PairState::Waiting | PairState::InProgress))
            .count() as u32;
        let rto = self.config.rto_min.max(self.config.ta * active.max(1));
        if !self.push_request(pair, nominate) {
            return false;
        }
        if let Some(tx) = self.transactions.last_mut() {
            tx.rto = rto;
            tx.next_at = now + rto;
            tx.last_sent = now;
        }
        self.queue_last_request();
        if let Some(p) = self.pairs.get_mut(pair) {
            if p.state != PairState::Succeeded {
                p.state = PairState::InProgress;
            }
            p.requests_sent += 1;
        }
        self.stats.requests_sent += 1;
        true
    }

    /// RFC 8445 §5.1.1.1: a Binding request to a STUN server from a host
    /// candidate, to learn its server-reflexive address. No credentials.
    fn send_gather(&mut self, now: Instant, base: usize, server: SocketAddr) -> bool {
        let Some(local) = self.local.get(base).map(|c| c.addr) else {
            return false;
        };
        let tid = new_tid(&mut self.rng);
        let mut buf = [0u8; 64];
        let Ok(n) = (|| {
            let w = MessageWriter::new(&mut buf, Class::Request, Method::BINDING, tid)?;
            w.finish(true)
        })() else {
            return false;
        };
        let bytes = SmallVec::from_slice(&buf[..n]);
        self.transactions.push(Transaction {
            tid,
            kind: TxKind::Gather { base },
            local,
            remote: server,
            proto: Protocol::Udp,
            bytes: bytes.clone(),
            key: Key::default(),
            last_sent: now,
            next_at: now + self.config.rto_min,
            rto: self.config.rto_min,
            transmits: 1,
            max_transmits: self.config.max_gather_transmits,
            sent_controlling: self.role == IceRole::Controlling,
        });
        self.queue_stun(local, server, Protocol::Udp, &bytes);
        true
    }

    /// A response for transaction `tx` (already authenticated).
    pub(super) fn on_response(&mut self, tx: Answered, msg: &StunMessage<'_>, symmetric: bool) {
        let now = self.now;
        match tx.kind {
            TxKind::Gather { base } => {
                let (true, Class::Success, Some(mapped)) =
                    (symmetric, msg.class(), msg.mapped_address())
                else {
                    return;
                };
                let Some(b) = self.local.get(base).cloned() else {
                    return;
                };
                // RFC 8445 §5.1.3: a server-reflexive candidate equal to
                // its base is redundant and removed.
                if mapped == b.addr
                    || self
                        .local
                        .iter()
                        .any(|c| c.addr == mapped && c.proto == b.proto)
                    || self.local.len() >= MAX_LOCAL_CANDIDATES
                {
                    return;
                }
                let c = Candidate::server_reflexive(mapped, &b, tx.remote);
                self.local.push(c.clone());
                self.push_event(IceEvent::LocalCandidate(c));
            }
            TxKind::Check { pair, nominate } => {
                self.on_check_response(tx, pair, nominate, msg, symmetric)
            }
            TxKind::Consent { pair } => {
                if !symmetric || msg.class() != Class::Success {
                    return;
                }
                let rtt = now.saturating_duration_since(tx.last_sent);
                if let Some(p) = self.pairs.get_mut(pair) {
                    p.responses_received += 1;
                    p.last_response = Some(now);
                    p.rtt = Some(rtt);
                }
                self.stats.current_rtt = Some(rtt);
                self.consent.last_response = Some(now);
                self.consent.unanswered_since = None;
                if self.connection_state == IceConnectionState::Disconnected {
                    self.set_connection_state(IceConnectionState::Connected);
                }
            }
        }
    }

    fn on_check_response(
        &mut self,
        tx: Answered,
        pair: usize,
        nominate: bool,
        msg: &StunMessage<'_>,
        symmetric: bool,
    ) {
        let now = self.now;
        let Some(p) = self.pairs.get_mut(pair) else {
            return;
        };
        if !symmetric {
            p.state = PairState::Failed;
            p.nominating = false;
            return;
        }
        if msg.class() == Class::Error {
            self.on_check_error(tx.sent_controlling, pair, msg);
            return;
        }
        let rtt = now.saturating_duration_since(tx.last_sent);
        p.state = PairState::Succeeded;
        p.responses_received += 1;
        p.last_response = Some(now);
        p.rtt = Some(rtt);
        let nominated_now = (nominate && tx.sent_controlling && self.role == IceRole::Controlling)
            || (self.role == IceRole::Controlled && p.remote_nominated);
        if nominated_now {
            p.nominated = true;
        }
        p.nominating = false;
        let (local, remote) = (p.local, p.remote);
        self.first_valid_at.get_or_insert(now);
        if self.checking_since.is_some() {
            self.checking_since = Some(now);
        }
        self.learn_local_peer_reflexive(local, msg);
        self.unfreeze_foundation(local, remote);
        if self.selected.and_then(|s| s.pair) == Some(pair) {
            self.consent.last_response = Some(now);
            self.consent.unanswered_since = None;
            self.stats.current_rtt = Some(rtt);
        }
        if nominated_now {
            self.select(pair);
        }
    }

    /// An error response to our check on `pair`: a role conflict (487)
    /// switches role and retries; any other error fails the pair.
    fn on_check_error(&mut self, sent_controlling: bool, pair: usize, msg: &StunMessage<'_>) {
        let Some(p) = self.pairs.get_mut(pair) else {
            return;
        };
        let code = msg.error_code().map(|e| e.code);
        if code == Some(ErrorCode::ROLE_CONFLICT) {
            // RFC 8445 §7.2.5.1: "If the agent included an
            // ICE-CONTROLLING attribute in the request, the agent MUST
            // switch to the controlled role. [...] the agent MUST add
            // the candidate pair whose check generated the 487 error
            // response to the triggered-check queue [...] and set the
            // candidate pair state to Waiting."
            p.state = PairState::Waiting;
            p.nominating = false;
            self.stats.role_conflicts += 1;
            let role = if sent_controlling {
                IceRole::Controlled
            } else {
                IceRole::Controlling
            };
            self.switch_role(role);
            if !self.triggered.contains(&pair) {
                self.triggered.push_back(pair);
            }
        } else {
            p.state = PairState::Failed;
            p.nominating = false;
        }
    }

    /// RFC 8445 §7.2.5.3.1: a mapped address unknown to us is a
    /// peer-reflexive local candidate (not signaled; its base does the
    /// sending).
    fn learn_local_peer_reflexive(&mut self, local: usize, msg: &StunMessage<'_>) {
        if let (Some(mapped), Some(base)) = (msg.mapped_address(), self.local.get(local).cloned()) {
            if mapped != base.addr
                && !self
                    .local
                    .iter()
                    .any(|c| c.addr == mapped && c.proto == base.proto)
                && self.local.len() < MAX_LOCAL_CANDIDATES
            {
                self.local.push(Candidate::peer_reflexive(
                    mapped,
                    base.proto,
                    base.prflx_priority(),
                    Some(base.addr),
                ));
            }
        }
    }

    /// RFC 8445 §7.2.5.3.3: "The agent MUST set the states for all other
    /// Frozen candidate pairs in all checklists with the same foundation
    /// to Waiting."
    fn unfreeze_foundation(&mut self, local: usize, remote: usize) {
        for i in 0..self.pairs.len() {
            if self.pairs[i].state == PairState::Frozen {
                let (l, r) = (self.pairs[i].local, self.pairs[i].remote);
                if self.same_foundation(l, r, local, remote) {
                    self.pairs[i].state = PairState::Waiting;
                }
            }
        }
    }

    /// Controlling agent, regular nomination (RFC 8445 §8.1.1): once the
    /// best valid pair has no better pair still to be checked (or
    /// `nomination_delay` after the first valid pair), check it again with
    /// USE-CANDIDATE.
    fn maybe_nominate(&mut self, now: Instant) {
        if self.config.lite
            || self.role != IceRole::Controlling
            || self.connection_state == IceConnectionState::Failed
            || self.pairs.iter().any(|p| p.nominated || p.nominating)
        {
            return;
        }
        let Some((best, prio)) = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == PairState::Succeeded)
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, p)| (i, p.priority))
        else {
            return;
        };
        let better_pending = self
            .pairs
            .iter()
            .any(|p| p.is_pending() && p.priority > prio);
        let waited = self
            .first_valid_at
            .is_some_and(|t| now >= t + self.config.nomination_delay);
        if better_pending && !waited {
            return;
        }
        if let Some(p) = self.pairs.get_mut(best) {
            p.nominating = true;
        }
        self.triggered.retain(|&t| t != best);
        self.triggered.push_front(best);
        // The nominating check goes at once instead of waiting for the next
        // pacing slot: it is the one request the whole session waits for,
        // and pacing (RFC 8445 §14.2) is there to spread the many ordinary
        // checks, which stop now (§8.1.2). At zero link delay the channel
        // then opens in zero virtual time.
        self.next_pace = Some(now);
    }

    /// Makes `pair` (valid and nominated) the selected pair if it is better
    /// than the current one (RFC 8445 §8.1.1: the highest-priority nominated
    /// pair), or if the current one is from before an ICE restart.
    pub(super) fn select(&mut self, pair: usize) {
        let Some(p) = self.pairs.get(pair) else {
            return;
        };
        let (Some(l), Some(r)) = (self.local.get(p.local), self.remote.get(p.remote)) else {
            return;
        };
        // A lower-priority nominated pair also replaces the current one when
        // the current one's consent checks go unanswered: the path moved
        // (a NAT rebinding), and the peer nominated the pair it uses now.
        let current_lost = self.consent.unanswered_since.is_some();
        let better = match self.selected.and_then(|s| s.pair) {
            None => true,
            Some(cur) if cur == pair => false,
            Some(cur) => {
                current_lost || self.pairs.get(cur).is_none_or(|c| c.priority < p.priority)
            }
        };
        if !better {
            return;
        }
        let new = Selected {
            local: l.addr,
            remote: r.addr,
            proto: l.proto,
            pair: Some(pair),
        };
        let changed = self
            .selected
            .is_none_or(|s| (s.local, s.remote, s.proto) != (new.local, new.remote, new.proto));
        self.selected = Some(new);
        self.previous_creds = None;
        let now = self.now;
        self.consent.last_response = Some(now);
        self.consent.unanswered_since = None;
        // The check that selected the pair is the first consent check.
        self.consent.last_check = Some(now);
        self.consent.next_check = Some(now + self.consent_interval());
        // RFC 8445 §8.1.2: once a pair is nominated, the Waiting and Frozen
        // pairs are removed from the checklist; here they are marked Failed
        // so that indices stay stable.
        for q in &mut self.pairs {
            if matches!(q.state, PairState::Waiting | PairState::Frozen) {
                q.state = PairState::Failed;
            }
        }
        self.triggered.clear();
        if changed {
            self.push_event(IceEvent::SelectedPairChange {
                local: new.local,
                remote: new.remote,
                proto: new.proto,
            });
        }
        if matches!(
            self.connection_state,
            IceConnectionState::New
                | IceConnectionState::Checking
                | IceConnectionState::Disconnected
        ) {
            self.set_connection_state(IceConnectionState::Connected);
        }
    }

    /// RFC 7675 §5.1: "each interval MUST be randomized from between 0.8
    /// and 1.2 times the basic period": the shortest interval, in integers
    /// (`consent_alongside` asks on every check the peer sends).
    fn consent_shortest(&self) -> Duration {
        self.config.consent_interval * 4 / 5
    }

    /// The consent check interval: [`consent_shortest`](Self::consent_shortest)
    /// and a random part of the 0.4 periods up to the longest.
    fn consent_interval(&mut self) -> Duration {
        self.consent_shortest() + self.rng.part_of(self.config.consent_interval * 2 / 5)
    }

    /// Consent freshness on the selected pair (RFC 7675).
    fn consent_tick(&mut self, now: Instant) {
        let Some(sel) = self.selected else {
            return;
        };
        // During an ICE restart the previous pair carries data without
        // consent checks: the peer's new credentials are not there yet.
        let Some(pair) = sel.pair else {
            return;
        };
        if !matches!(
            self.connection_state,
            IceConnectionState::Connected
                | IceConnectionState::Completed
                | IceConnectionState::Disconnected
        ) {
            return;
        }
        let last = self.consent.last_response.unwrap_or(now);
        // RFC 7675 §5.1: "Consent expires after 30 seconds" without a
        // response; then the endpoint must stop sending.
        if now >= last + self.config.failed_timeout {
            self.lose_consent();
            return;
        }
        if self.config.lite {
            // A lite agent sends no checks; the peer's checks (every
            // `consent_interval` at most 1.2 times) are its evidence.
            let quiet =
                self.config.consent_interval.mul_f64(1.2) + self.config.disconnected_timeout;
            if now >= last + quiet {
                self.set_connection_state(IceConnectionState::Disconnected);
            }
            return;
        }
        if self
            .consent
            .unanswered_since
            .is_some_and(|t| now >= t + self.config.disconnected_timeout)
        {
            self.set_connection_state(IceConnectionState::Disconnected);
        }
        if self.consent.next_check.is_some_and(|t| t <= now) {
            self.send_consent(now, pair);
        }
    }

    /// The peer's check on the selected pair was just answered: our own
    /// consent check goes out with the answer if it is already allowed,
    /// instead of on a wakeup of its own a moment later. Between two eddy
    /// peers only the earlier of the two consent timers then fires; each
    /// side's checks still go out every 4 to 6 s (the peer's are, and our
    /// own timer, re-armed here, takes over if they stop).
    ///
    /// RFC 7675 §5.1: "each interval MUST be randomized from between 0.8
    /// and 1.2 times the basic period" and "Implementations MUST NOT set
    /// the period between checks to less than 4 seconds": the check goes
    /// out only once the shortest interval we could have drawn (0.8 times
    /// the period, at least 4 s) has passed since our last one; the timer
    /// bounds it above by 1.2 times the period. Within those bounds its
    /// instant follows the peer's randomized schedule, which keeps
    /// different connections from synchronizing.
    pub(super) fn consent_alongside(&mut self, pair: usize) {
        let now = self.now;
        let on_selected = self.selected.is_some_and(|s| s.pair == Some(pair));
        let earliest = self.consent.last_check.map(|t| t + self.consent_shortest());
        if on_selected
            && self.consent.next_check.is_some_and(|t| t > now)
            && earliest.is_some_and(|t| t <= now)
            && matches!(
                self.connection_state,
                IceConnectionState::Connected | IceConnectionState::Completed
            )
        {
            self.send_consent(now, pair);
        }
    }

    fn send_consent(&mut self, now: Instant, pair: usize) {
        // RFC 7675 §5.1: "each interval MUST be randomized from between 0.8
        // and 1.2 times the basic period. [...] Implementations MUST NOT set
        // the period between checks to less than 4 seconds."
        let next = self.consent_interval();
        self.consent.next_check = Some(now + next);
        self.consent.last_check = Some(now);
        // The controlling agent's consent checks on the nominated pair carry
        // USE-CANDIDATE again (a re-nomination of the same pair, which RFC
        // 8445 §8.1.1 allows: it names no other pair). After a NAT rebinding
        // they reach the controlled agent from a new address: it learns
        // that peer-reflexive pair, checks it, and the USE-CANDIDATE lets it
        // switch there (RFC 8445 §7.3.1.5) instead of keeping a pair whose
        // consent the NAT now drops. Browsers' agents do the same.
        let nominate =
            self.role == IceRole::Controlling && self.pairs.get(pair).is_some_and(|p| p.nominated);
        if self.transactions.len() >= MAX_TRANSACTIONS {
            return;
        }
        // An idle connection has one consent check outstanding at a time
        // (its table is freed between them): room for it, not the four a
        // first push makes.
        self.transactions.reserve_exact(1);
        if !self.push_request(pair, nominate) {
            return;
        }
        if let Some(tx) = self.transactions.last_mut() {
            tx.kind = TxKind::Consent { pair };
            // Each check is its own transaction (new id), retransmitted like
            // any STUN request: 0, 0.5, 1.5, 3.5 s with the default RTO, all
            // before the next check is due.
            tx.max_transmits = CONSENT_TRANSMITS;
            tx.rto = self.config.rto_min;
            tx.last_sent = now;
            tx.next_at = now + tx.rto;
        }
        self.queue_last_request();
        self.consent.unanswered_since.get_or_insert(now);
        self.stats.requests_sent += 1;
        self.stats.consent_requests_sent += 1;
        if let Some(p) = self.pairs.get_mut(pair) {
            p.requests_sent += 1;
        }
    }

    fn lose_consent(&mut self) {
        tracing::info!("ICE consent expired: no more sending");
        self.transactions
            .retain(|t| matches!(t.kind, TxKind::Gather { .. }));
        self.triggered.clear();
        self.consent.next_check = None;
        self.set_connection_state(IceConnectionState::Failed);
    }

    /// Gathering and connection states that follow from the rest.
    fn update_states(&mut self) {
        // Gathering: complete once the runtime gave every host candidate and
        // every server-reflexive request ended.
        if self.gathering_state == IceGatheringState::Gathering
            && self.local_done
            && self.relay_pending == 0
            && self.gather_jobs.is_empty()
            && !self
                .transactions
                .iter()
                .any(|t| matches!(t.kind, TxKind::Gather { .. }))
        {
            self.push_event(IceEvent::EndOfCandidates);
            self.set_gathering_state(IceGatheringState::Complete);
        }
        match self.connection_state {
            IceConnectionState::New => {
                let ready = !self.pairs.is_empty()
                    && (self.remote_creds.is_some()
                        || self.config.lite
                        || self.pairs.iter().any(|p| p.request_received));
                if ready {
                    self.set_connection_state(IceConnectionState::Checking);
                }
            }
            IceConnectionState::Checking => {
                // RFC 8838 §8: the checklist fails only when every pair
                // failed and both sides signaled end-of-candidates.
                let all_failed = self.pairs.iter().all(|p| p.state == PairState::Failed);
                let busy = !self.triggered.is_empty()
                    || self
                        .transactions
                        .iter()
                        .any(|t| matches!(t.kind, TxKind::Check { .. }));
                if all_failed
                    && !busy
                    && self.remote_done
                    && self.pending_mdns.is_empty()
                    && self.gathering_state == IceGatheringState::Complete
                    && self.selected.is_none()
                {
                    self.set_connection_state(IceConnectionState::Failed);
                }
                // RFC 8863 §4: the agent "MUST set a timer ... the 'PAC
                // timer' ... to ensure that ICE will run for a minimum amount
                // of time before determining failure", by default the check
                // transaction timeout (15.5 s here). This is the other side,
                // a maximum: with no successful check for
                // `checking_timeout` (past the PAC time), ICE gives up
                // whether or not end-of-candidates arrived, and nothing more
                // is sent, so a peer that never answers costs nothing.
                else if self.selected.is_none()
                    && self
                        .checking_since
                        .is_some_and(|t| self.now >= t + self.config.checking_timeout)
                {
                    tracing::info!("ICE gave up: no successful check in time");
                    self.stats.checking_timeouts += 1;
                    self.transactions
                        .retain(|t| matches!(t.kind, TxKind::Gather { .. }));
                    self.triggered.clear();
                    self.set_connection_state(IceConnectionState::Failed);
                }
            }
            IceConnectionState::Connected => {
                let done = self.selected.is_some_and(|s| s.pair.is_some())
                    && self.remote_done
                    && self.gathering_state == IceGatheringState::Complete
                    && self.triggered.is_empty()
                    && !self.pairs.iter().any(|p| p.is_pending());
                if done {
                    self.set_connection_state(IceConnectionState::Completed);
                }
            }
            _ => {}
        }
    }

    /// The earliest deadline of everything armed. Never in the past: every
    /// deadline that `handle_timeout(now)` acts on is moved past `now`.
    fn compute_deadline(&mut self) -> Option<Instant> {
        let now = self.now;
        let mut d: Option<Instant> = None;
        let mut arm = |at: Instant| {
            let at = at.max(now);
            d = Some(d.map_or(at, |x: Instant| x.min(at)));
        };
        for t in &self.transactions {
            arm(t.next_at);
        }
        let failed = self.connection_state == IceConnectionState::Failed;
        if !self.config.lite && !failed {
            let nominated = self.has_nominated();
            let pace_work = (self.remote_creds.is_some() && !self.triggered.is_empty())
                || !self.gather_jobs.is_empty()
                || (self.remote_creds.is_some()
                    && !nominated
                    && self.next_ordinary_pair().is_some());
            if pace_work && self.transactions.len() < MAX_TRANSACTIONS {
                arm(self.next_pace.unwrap_or(now));
            }
            if self.role == IceRole::Controlling
                && !nominated
                && !self.pairs.iter().any(|p| p.nominating)
                && self.pairs.iter().any(|p| p.state == PairState::Succeeded)
            {
                if let Some(t) = self.first_valid_at {
                    arm(t + self.config.nomination_delay);
                }
            }
        }
        if let (Some(t), IceConnectionState::Checking) =
            (self.checking_since, self.connection_state)
        {
            if self.selected.is_none() {
                arm(t + self.config.checking_timeout);
            }
        }
        let consent_live = self.selected.is_some_and(|s| s.pair.is_some())
            && matches!(
                self.connection_state,
                IceConnectionState::Connected
                    | IceConnectionState::Completed
                    | IceConnectionState::Disconnected
            );
        if consent_live {
            let last = self.consent.last_response.unwrap_or(now);
            arm(last + self.config.failed_timeout);
            let connected = self.connection_state != IceConnectionState::Disconnected;
            if self.config.lite {
                if connected {
                    arm(last
                        + self.config.consent_interval.mul_f64(1.2)
                        + self.config.disconnected_timeout);
                }
            } else {
                if let Some(t) = self.consent.next_check {
                    arm(t);
                }
                if let (Some(t), true) = (self.consent.unanswered_since, connected) {
                    arm(t + self.config.disconnected_timeout);
                }
            }
        }
        d
    }
}

/// A new transaction id from the agent's generator (a free function, so
/// that it can run while other fields are borrowed).
fn new_tid(rng: &mut Rng) -> TransactionId {
    let mut tid = [0u8; 12];
    rng.fill(&mut tid);
    TransactionId(tid)
}
