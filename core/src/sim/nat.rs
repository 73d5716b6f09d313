//! NAT boxes with the RFC 4787 mapping and filtering behaviours.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::io::Protocol;

/// How a NAT reuses an external address:port for an internal endpoint
/// (RFC 4787 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    /// "Endpoint-Independent Mapping": one external port per internal
    /// address:port, whatever the destination.
    EndpointIndependent,
    /// "Address-Dependent Mapping": one per destination IP.
    AddressDependent,
    /// "Address and Port-Dependent Mapping": one per destination IP:port
    /// (the "symmetric NAT").
    AddressAndPortDependent,
}

/// Which inbound packets a NAT lets through a mapping (RFC 4787 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filtering {
    /// "Endpoint-Independent Filtering": anyone may send to the mapping.
    EndpointIndependent,
    /// "Address-Dependent Filtering": only IPs the inside has sent to.
    AddressDependent,
    /// "Address and Port-Dependent Filtering": only IP:ports the inside has
    /// sent to.
    AddressAndPortDependent,
}

/// A NAT's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatConfig {
    /// Mapping behaviour.
    pub mapping: Mapping,
    /// Filtering behaviour.
    pub filtering: Filtering,
    /// A mapping unused this long expires. RFC 4787 REQ-5: "A NAT UDP mapping
    /// timer MUST NOT expire in less than two minutes". Defaults to 120 s.
    pub mapping_timeout: Duration,
    /// Whether inbound packets refresh a mapping (RFC 4787 REQ-6 makes
    /// outbound refresh a MUST; inbound is the NAT's choice). Defaults to
    /// `false`.
    pub inbound_refresh: bool,
    /// First external port handed out; ports are assigned in order.
    /// Defaults to 50000.
    pub first_port: u16,
    /// Most mappings held at once; when full, the least recently used one
    /// is evicted. Defaults to 4096.
    pub max_mappings: usize,
}

impl NatConfig {
    fn new(mapping: Mapping, filtering: Filtering) -> Self {
        Self {
            mapping,
            filtering,
            mapping_timeout: Duration::from_secs(120),
            inbound_refresh: false,
            first_port: 50000,
            max_mappings: 4096,
        }
    }

    /// "Full cone": endpoint-independent mapping and filtering.
    pub fn full_cone() -> Self {
        Self::new(Mapping::EndpointIndependent, Filtering::EndpointIndependent)
    }

    /// "Restricted cone": endpoint-independent mapping, address-dependent
    /// filtering.
    pub fn restricted_cone() -> Self {
        Self::new(Mapping::EndpointIndependent, Filtering::AddressDependent)
    }

    /// "Port-restricted cone": endpoint-independent mapping, address and
    /// port-dependent filtering (the common home router).
    pub fn port_restricted_cone() -> Self {
        Self::new(
            Mapping::EndpointIndependent,
            Filtering::AddressAndPortDependent,
        )
    }

    /// "Symmetric": address and port-dependent mapping and filtering.
    pub fn symmetric() -> Self {
        Self::new(
            Mapping::AddressAndPortDependent,
            Filtering::AddressAndPortDependent,
        )
    }
}

#[derive(Debug)]
struct Entry {
    proto: Protocol,
    internal: SocketAddr,
    /// What the mapping is specific to, by the mapping behaviour.
    key_remote: Option<SocketAddr>,
    external_port: u16,
    last_used: Duration,
    /// Remote endpoints the inside sent to through this mapping, with the
    /// time of the last send (for filtering). At most `MAX_PERMITS`.
    permits: Vec<(SocketAddr, Duration)>,
}

const MAX_PERMITS: usize = 256;

/// Why a NAT refused an inbound packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NatDrop {
    /// No live mapping for that external port.
    NoMapping,
    /// A mapping exists but its filter refuses the sender.
    Filtered,
}

/// The translation state of one NAT.
#[derive(Debug)]
pub(crate) struct NatState {
    pub(crate) config: NatConfig,
    pub(crate) external_ip: IpAddr,
    entries: Vec<Entry>,
    next_port: u16,
}

impl NatState {
    pub(crate) fn new(config: NatConfig, external_ip: IpAddr) -> Self {
        Self {
            config,
            external_ip,
            entries: Vec::new(),
            next_port: config.first_port.max(1),
        }
    }

    fn expire(&mut self, now: Duration) {
        let timeout = self.config.mapping_timeout;
        self.entries
            .retain(|e| now.saturating_sub(e.last_used) < timeout);
    }

    /// Translates an outbound packet from `internal` to `remote`: the external
    /// source address it leaves with.
    pub(crate) fn outbound(
        &mut self,
        now: Duration,
        proto: Protocol,
        internal: SocketAddr,
        remote: SocketAddr,
    ) -> SocketAddr {
        self.expire(now);
        let key_remote = match self.config.mapping {
            Mapping::EndpointIndependent => None,
            Mapping::AddressDependent => Some(SocketAddr::new(remote.ip(), 0)),
            Mapping::AddressAndPortDependent => Some(remote),
        };
        let idx =
            match self.entries.iter().position(|e| {
                e.proto == proto && e.internal == internal && e.key_remote == key_remote
            }) {
                Some(i) => i,
                None => {
                    if self.entries.len() >= self.config.max_mappings.max(1) {
                        if let Some(lru) = self
                            .entries
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, e)| e.last_used)
                            .map(|(i, _)| i)
                        {
                            self.entries.swap_remove(lru);
                        }
                    }
                    let port = self.allocate_port(proto);
                    self.entries.push(Entry {
                        proto,
                        internal,
                        key_remote,
                        external_port: port,
                        last_used: now,
                        permits: Vec::new(),
                    });
                    self.entries.len() - 1
                }
            };
        let entry = &mut self.entries[idx];
        entry.last_used = now;
        match entry.permits.iter_mut().find(|(a, _)| *a == remote) {
            Some(p) => p.1 = now,
            None => {
                if entry.permits.len() >= MAX_PERMITS {
                    entry.permits.remove(0);
                }
                entry.permits.push((remote, now));
            }
        }
        SocketAddr::new(self.external_ip, entry.external_port)
    }

    fn allocate_port(&mut self, proto: Protocol) -> u16 {
        // Ports in order, skipping those in use; wrap within first_port..=65535.
        let first = self.config.first_port.max(1);
        loop {
            let port = self.next_port;
            self.next_port = if port == u16::MAX { first } else { port + 1 };
            if !self
                .entries
                .iter()
                .any(|e| e.proto == proto && e.external_port == port)
            {
                return port;
            }
        }
    }

    /// Translates an inbound packet from `remote` to `external`: the internal
    /// address it is forwarded to, or why it is dropped.
    pub(crate) fn inbound(
        &mut self,
        now: Duration,
        proto: Protocol,
        remote: SocketAddr,
        external: SocketAddr,
    ) -> Result<SocketAddr, NatDrop> {
        self.expire(now);
        let filtering = self.config.filtering;
        let mut found = false;
        let refresh = self.config.inbound_refresh;
        for entry in self
            .entries
            .iter_mut()
            .filter(|e| e.proto == proto && e.external_port == external.port())
        {
            found = true;
            let allowed = match filtering {
                Filtering::EndpointIndependent => true,
                Filtering::AddressDependent => {
                    entry.permits.iter().any(|(a, _)| a.ip() == remote.ip())
                }
                Filtering::AddressAndPortDependent => {
                    entry.permits.iter().any(|(a, _)| *a == remote)
                }
            };
            if allowed {
                if refresh {
                    entry.last_used = now;
                }
                return Ok(entry.internal);
            }
        }
        Err(if found {
            NatDrop::Filtered
        } else {
            NatDrop::NoMapping
        })
    }

    /// Forgets every mapping (a NAT reboot, or a carrier NAT re-mapping):
    /// ports keep counting on, so the next outbound packet of each inside
    /// endpoint leaves from a new external port.
    pub(crate) fn rebind(&mut self) {
        self.entries.clear();
    }

    /// Live mappings (for tests and inspection).
    pub(crate) fn mapping_count(&self) -> usize {
        self.entries.len()
    }
}
