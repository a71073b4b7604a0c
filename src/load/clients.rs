//! HTTP clients with scheduled connection recycling.
//!
//! Keep-alive connections stick to the pod that accepted them: a Kubernetes Service balances
//! per connection, so pods added by a scale-out would receive no traffic from users whose
//! connections are already open. The pool holds several clients (each with its own
//! connection pool); users are spread across them, and one client at a time is replaced by a
//! fresh one, so every connection is reopened once per recycle interval without a burst.

use reqwest::Client;
use std::sync::RwLock;
use std::time::Duration;

/// Number of clients (connection pools) users are spread over.
pub const SHARDS: usize = 8;

/// Settings every client is built with.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub timeout: Duration,
}

/// The shared clients.
#[derive(Debug)]
pub struct ClientPool {
    settings: ClientSettings,
    shards: Vec<RwLock<Client>>,
}

impl ClientPool {
    /// Builds [`SHARDS`] clients.
    pub fn new(settings: ClientSettings) -> Result<Self, reqwest::Error> {
        let shards = (0..SHARDS)
            .map(|_| build(&settings).map(RwLock::new))
            .collect::<Result<_, _>>()?;
        Ok(Self { settings, shards })
    }

    /// The client for user `index`.
    pub fn get(&self, index: usize) -> Client {
        let lock = &self.shards[index % SHARDS];
        lock.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces client `shard` with a new one; its old connections close once the requests
    /// using them finish.
    pub fn recycle(&self, shard: usize) -> Result<(), reqwest::Error> {
        let fresh = build(&self.settings)?;
        *self.shards[shard % SHARDS]
            .write()
            .unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    /// Recycles one shard every `interval / SHARDS`, forever (spawn it and abort it).
    pub async fn recycle_every(&self, interval: Duration) {
        let step = interval / SHARDS as u32;
        let mut ticker = tokio::time::interval(step);
        ticker.tick().await;
        for shard in (0..SHARDS).cycle() {
            ticker.tick().await;
            if let Err(e) = self.recycle(shard) {
                tracing::warn!("cannot build a fresh HTTP client; keeping the old one: {e}");
            }
        }
    }
}

fn build(settings: &ClientSettings) -> Result<Client, reqwest::Error> {
    Client::builder()
        .timeout(settings.timeout)
        .user_agent(concat!("scaleproof/", env!("CARGO_PKG_VERSION")))
        .tcp_nodelay(true)
        // Measure the endpoint itself: a redirect is an answer (counted as `err_other` unless
        // the scenario expects it), not something to follow. This also spares reqwest a URL
        // re-parse per response (measured in bench/: ~5% of the generator's CPU).
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
}
