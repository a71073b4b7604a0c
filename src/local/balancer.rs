//! The local Service: a TCP balancer on 127.0.0.1 that hands each new connection to the next
//! ready replica (round robin), as kube-proxy does per connection — requests on an open
//! connection stay with its replica. A replica taken out gets no new connection; the ones it
//! has are counted until they close, so that it is stopped only once drained.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Default)]
struct Endpoints {
    /// Ready replicas, in the order they became ready.
    ready: Vec<(String, SocketAddr)>,
    next: usize,
    /// Open connections per replica (ready or not).
    open: HashMap<String, usize>,
}

/// The balancer's endpoint list; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Balancer {
    endpoints: Arc<Mutex<Endpoints>>,
}

/// Decrements a replica's open connections when a proxied connection ends.
struct OpenConnection {
    endpoints: Arc<Mutex<Endpoints>>,
    name: String,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        let mut e = crate::support::lock::lock(&self.endpoints);
        if let Some(n) = e.open.get_mut(&self.name) {
            *n = n.saturating_sub(1);
        }
    }
}

impl Balancer {
    /// Binds 127.0.0.1 on a free port and serves on the current runtime until it ends.
    pub async fn start(&self) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let this = self.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let this = this.clone();
                tokio::spawn(async move { this.proxy(inbound).await });
            }
        });
        Ok(addr)
    }

    /// Adds a ready replica.
    pub fn add(&self, name: &str, addr: SocketAddr) {
        let mut e = crate::support::lock::lock(&self.endpoints);
        if !e.ready.iter().any(|(n, _)| n == name) {
            e.ready.push((name.to_owned(), addr));
        }
    }

    /// Takes a replica out: no new connection goes to it.
    pub fn remove(&self, name: &str) {
        crate::support::lock::lock(&self.endpoints)
            .ready
            .retain(|(n, _)| n != name);
    }

    /// Connections open to `name` right now.
    pub fn open_connections(&self, name: &str) -> usize {
        crate::support::lock::lock(&self.endpoints)
            .open
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    /// Ready replicas.
    pub fn ready(&self) -> usize {
        crate::support::lock::lock(&self.endpoints).ready.len()
    }

    fn pick(&self) -> Option<(OpenConnection, SocketAddr)> {
        let mut e = crate::support::lock::lock(&self.endpoints);
        if e.ready.is_empty() {
            return None;
        }
        let i = e.next % e.ready.len();
        e.next = e.next.wrapping_add(1);
        let (name, addr) = e.ready[i].clone();
        *e.open.entry(name.clone()).or_default() += 1;
        Some((
            OpenConnection {
                endpoints: self.endpoints.clone(),
                name,
            },
            addr,
        ))
    }

    async fn proxy(&self, mut inbound: TcpStream) {
        // No ready replica: the connection is closed at once, as a Service without endpoints
        // refuses it.
        let Some((guard, addr)) = self.pick() else {
            return;
        };
        let _ = inbound.set_nodelay(true);
        if let Ok(mut outbound) = TcpStream::connect(addr).await {
            let _ = outbound.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
        }
        drop(guard);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A backend that answers every connection with its name, then closes it.
    async fn named(name: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let _ = s.write_all(name.as_bytes()).await;
            }
        });
        addr
    }

    async fn ask(addr: SocketAddr) -> String {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out).await;
        out
    }

    #[tokio::test]
    async fn connections_go_round_robin_to_ready_replicas_only() {
        let b = Balancer::default();
        let addr = b.start().await.expect("start");
        assert_eq!(ask(addr).await, "", "no replica: closed at once");
        b.add("a", named("a").await);
        b.add("b", named("b").await);
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(ask(addr).await);
        }
        assert_eq!(got, ["a", "b", "a", "b"]);
        b.remove("a");
        assert_eq!(ask(addr).await, "b");
        assert_eq!(ask(addr).await, "b");
        assert_eq!(b.ready(), 1);
    }
}
