//! HTTP clients with scheduled connection recycling.
//!
//! Keep-alive connections stick to the pod that accepted them: a Kubernetes Service balances
//! per connection, so pods added by a scale-out would receive no traffic from users whose
//! connections are already open. The pool holds several clients (each with its own
//! connection pool); users are spread across them, and one client at a time is replaced by a
//! fresh one, so every connection is reopened once per recycle interval without a burst.
//!
//! Plain `http://` targets are sent through hyper's pooled client directly; `https://` goes
//! through reqwest (rustls), which costs more CPU per request but handles TLS.

use crate::config::TlsConfig;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::RwLock;
use std::time::Duration;

/// Number of clients (connection pools) users are spread over.
pub const SHARDS: usize = 8;

/// Settings every client is built with.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub timeout: Duration,
    /// How to trust and meet an `https://` target; `None` for `http://`.
    pub tls: Option<TlsConfig>,
}

/// One connection pool.
// A few pools per run, cloned per user: the variants' sizes (hyper's client grows with its
// http2 feature, which the `cloud` feature's object store turns on) cost nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum HttpClient {
    Plain(HyperClient<HttpConnector, Full<Bytes>>),
    Tls(reqwest::Client),
}

/// The shared clients.
#[derive(Debug)]
pub struct ClientPool {
    settings: ClientSettings,
    shards: Vec<RwLock<HttpClient>>,
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
    pub fn get(&self, index: usize) -> HttpClient {
        let lock = &self.shards[index % SHARDS];
        crate::support::lock::read(lock).clone()
    }

    /// Replaces client `shard` with a new one; its old connections close once the requests
    /// using them finish.
    pub fn recycle(&self, shard: usize) -> Result<(), reqwest::Error> {
        let fresh = build(&self.settings)?;
        *crate::support::lock::write(&self.shards[shard % SHARDS]) = fresh;
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

fn build(settings: &ClientSettings) -> Result<HttpClient, reqwest::Error> {
    let Some(tls) = &settings.tls else {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(settings.timeout));
        return Ok(HttpClient::Plain(
            HyperClient::builder(TokioExecutor::new()).build(connector),
        ));
    };
    let builder = reqwest::Client::builder()
        .timeout(settings.timeout)
        .user_agent(concat!("scaleproof/", env!("CARGO_PKG_VERSION")))
        .tcp_nodelay(true)
        // Measure the endpoint itself: a redirect is an answer (counted as `err_other` unless
        // the scenario expects it), not something to follow.
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    // The server name (SNI) is the URL's host.
    tls.apply(builder).build().map(HttpClient::Tls)
}
