//! The embedded default target: the bundled target-service, served in-process on 127.0.0.1
//! (random port) on a runtime of its own, so a bare `scaleproof` has something real to load.

use reqwest::Url;
use std::thread::JoinHandle;
use std::time::Duration;
use target_service::{AppState, DrainConfig, Model, ServiceConfig};
use tokio::sync::oneshot;

/// `X-Served-By` of the embedded target.
pub const EMBEDDED_NAME: &str = "embedded-target-service";

/// Why the embedded target could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("cannot load the bundled model")]
    Model(#[from] target_service::ModelError),
    #[error("cannot start the embedded target-service")]
    Start(#[source] std::io::Error),
}

/// A running in-process target-service; stopped (drained) on [`EmbeddedTarget::stop`] or drop.
#[derive(Debug)]
pub struct EmbeddedTarget {
    base: Url,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl EmbeddedTarget {
    /// Starts the service with `worker_threads` async workers.
    pub fn start(worker_threads: usize) -> Result<Self, EmbeddedError> {
        let model = Model::bundled()?;
        let state = AppState::new(
            model,
            ServiceConfig {
                served_by: EMBEDDED_NAME.to_owned(),
                ..ServiceConfig::default()
            },
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads.max(1))
            .thread_name("target-service")
            .enable_all()
            .build()
            .map_err(EmbeddedError::Start)?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(EmbeddedError::Start)?;
        let addr = listener.local_addr().map_err(EmbeddedError::Start)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let serve_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("embedded-target".to_owned())
            .spawn(move || {
                let drain = DrainConfig {
                    drain_delay: Duration::ZERO,
                    grace_period: Duration::from_secs(5),
                };
                runtime.block_on(target_service::serve(
                    listener,
                    serve_state,
                    drain,
                    async move {
                        let _ = stopped.await;
                    },
                ))
            })
            .map_err(EmbeddedError::Start)?;
        let base =
            Url::parse(&format!("http://{addr}/")).expect("a socket address makes a valid URL");
        Ok(Self {
            base,
            state,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Base URL, `http://127.0.0.1:PORT/`.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The service's state (its metrics count every request it answered).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Drains and stops the service.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            match thread.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("embedded target-service ended with an error: {e}"),
                Err(_) => tracing::warn!("embedded target-service thread panicked"),
            }
        }
    }
}

impl Drop for EmbeddedTarget {
    fn drop(&mut self) {
        self.shutdown();
    }
}
