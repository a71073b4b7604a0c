//! Running the service on a listener, and draining it on shutdown: readiness off at once,
//! optionally keep serving while load balancers notice, then stop accepting, let in-flight
//! requests finish, close keep-alive connections, and give up after a grace period.

use crate::app::{AppState, app};
use axum::serve::ListenerExt;
use std::future::{Future, IntoFuture};
use std::time::Duration;
use tokio::net::TcpListener;

/// Timings of the drain that follows a shutdown signal.
#[derive(Debug, Clone, Copy)]
pub struct DrainConfig {
    /// How long to keep accepting requests after readiness turned off (lets a Kubernetes
    /// Service or load balancer stop routing here before the listener closes).
    pub drain_delay: Duration,
    /// Longest wait for in-flight requests once the listener has closed.
    pub grace_period: Duration,
}

impl Default for DrainConfig {
    fn default() -> Self {
        Self {
            drain_delay: Duration::ZERO,
            grace_period: Duration::from_secs(20),
        }
    }
}

/// Serves the target-service on `listener` until `shutdown` resolves, then drains.
///
/// Returns once every connection has closed, or when the grace period runs out.
pub async fn serve<F>(
    listener: TcpListener,
    state: AppState,
    drain: DrainConfig,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let router = app(state.clone());
    let (closing_tx, mut closing_rx) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        state.start_draining();
        tracing::info!(
            drain_delay = ?drain.drain_delay,
            in_flight = state.metrics().in_flight(),
            "shutdown requested: readiness off"
        );
        tokio::time::sleep(drain.drain_delay).await;
        tracing::info!("closing listener; finishing in-flight requests");
        let _ = closing_tx.send(true);
    };
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    });
    let server = axum::serve(listener, router)
        .with_graceful_shutdown(signal)
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result,
        _ = closing_rx.wait_for(|closing| *closing) => {}
    }
    match tokio::time::timeout(drain.grace_period, server).await {
        Ok(result) => {
            tracing::info!("drained");
            result
        }
        Err(_) => {
            tracing::warn!(
                grace_period = ?drain.grace_period,
                "grace period over with requests still in flight; exiting"
            );
            Ok(())
        }
    }
}
