//! A stand-in for DNS. Tests must not ask the system resolver anything (it is off loopback, and
//! what it answers for an unknown name depends on the machine), so the gateway under test is
//! given this resolver instead (`TestGatewayBuilder::resolver`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use parking_lot::Mutex;
use switchboard_gateway::{Resolve, Resolving};

/// Names it was told about resolve to their address, names it was told to ignore are never
/// answered (as a DNS server that does not reply); every other name fails as a name that does
/// not exist would (NXDOMAIN). Lookups are recorded.
#[derive(Clone, Default)]
pub struct FakeDns {
    hosts: Arc<Mutex<HashMap<String, IpAddr>>>,
    silent: Arc<Mutex<Vec<String>>>,
    lookups: Arc<Mutex<Vec<String>>>,
}

impl FakeDns {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `name` resolve to `ip` (the port comes from the URL).
    #[must_use]
    pub fn host(self, name: &str, ip: IpAddr) -> Self {
        self.hosts.lock().insert(name.to_ascii_lowercase(), ip);
        self
    }

    /// Makes a lookup of `name` wait forever.
    #[must_use]
    pub fn silent(self, name: &str) -> Self {
        self.silent.lock().push(name.to_ascii_lowercase());
        self
    }

    /// Every name looked up so far, in order.
    #[must_use]
    pub fn lookups(&self) -> Vec<String> {
        self.lookups.lock().clone()
    }
}

impl Resolve for FakeDns {
    fn resolve(&self, host: &str) -> Resolving {
        let name = host.to_ascii_lowercase();
        self.lookups.lock().push(name.clone());
        let found = self.hosts.lock().get(&name).copied();
        if self.silent.lock().contains(&name) {
            return Box::pin(std::future::pending());
        }
        Box::pin(async move {
            match found {
                Some(ip) => Ok(vec![SocketAddr::new(ip, 0)]),
                None => Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("failed to lookup address information: no such host `{name}`"),
                )),
            }
        })
    }
}
