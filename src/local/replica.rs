//! One local replica: the bundled target-service in a process of its own (`scaleproof replica`,
//! started by the local controller), on one thread held to a CPU limit the way the kernel's
//! CFS bandwidth control holds a container (`target_service::CpuLimit`: once the replica has
//! used its quota of a 100 ms period, it does not run again until the next period). SIGTERM
//! drains it: readiness off, in-flight requests finish, then it exits.

use std::io::Write;
use std::time::Duration;
use target_service::{AppState, DrainConfig, Model, ServiceConfig};

/// The first line a replica prints on stdout, followed by its address.
pub const LISTENING: &str = "listening on ";
/// The last line, followed by the `/predict` requests it answered.
pub const SERVED: &str = "served predict=";

/// How to run one replica.
#[derive(Debug, Clone)]
pub struct ReplicaOptions {
    /// `X-Served-By`.
    pub served_by: String,
    /// CPU limit in millicores (1000 = one core; a replica never uses more than one).
    pub cpu_limit_m: u32,
    /// Extra forest evaluations per request (target-service's `WORK_FACTOR`).
    pub work_factor: u32,
    /// Longest wait for in-flight requests after SIGTERM.
    pub grace_period: Duration,
}

/// Serves until SIGTERM, or until stdin closes (the controller is gone), then drains.
pub fn serve(options: &ReplicaOptions) -> std::io::Result<()> {
    // One thread serves and predicts (`inline_work`): a replica never uses more than one core,
    // and throttling that thread stops all of its work.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let model = Model::bundled().map_err(std::io::Error::other)?;
        let state = AppState::new(
            model,
            ServiceConfig {
                served_by: options.served_by.clone(),
                work_factor: options.work_factor,
                // One thread does everything, so the CPU limit stops all of it.
                inline_work: true,
                cpu_limit_m: (options.cpu_limit_m < 1000).then_some(options.cpu_limit_m),
                ..ServiceConfig::default()
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{LISTENING}{addr}")?;
        stdout.flush()?;
        // The controller stops replicas (SIGTERM); an interrupt meant for the run is not ours.
        #[cfg(unix)]
        let _interrupts = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
        let sigterm = async {
            #[cfg(unix)]
            if let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                term.recv().await;
                return;
            }
            std::future::pending::<()>().await;
        };
        // The controller holds our stdin open; end of input means it is gone (killed even):
        // a replica never outlives the run that started it.
        let (gone, orphaned) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 64];
            while matches!(std::io::stdin().read(&mut buf), Ok(n) if n > 0) {}
            let _ = gone.send(());
        });
        let orphaned = async {
            let _ = orphaned.await;
        };
        let shutdown = async move {
            tokio::select! {
                () = sigterm => {}
                () = orphaned => {}
            }
        };
        let drain = DrainConfig {
            drain_delay: Duration::ZERO,
            grace_period: options.grace_period,
        };
        let served = target_service::serve(listener, state.clone(), drain, shutdown).await;
        // The replica's own count, for the controller to compare with the load's.
        let mut stdout = std::io::stdout();
        writeln!(
            stdout,
            "{SERVED}{}",
            state.metrics().requests_total("/predict")
        )?;
        stdout.flush()?;
        served
    })
}

/// CPU time a replica process has used so far, all its threads (ns; Linux).
pub fn process_cpu(pid: u32) -> Option<Duration> {
    target_service::process_cpu_time(Some(pid))
}
