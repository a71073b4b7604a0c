//! The local replicas' calibration as a run carries it out: the probe requests are the
//! scenario's own, sent through the load's own client, and what was found is said before the
//! load starts.

use super::RunError;
use crate::config::{LocalOptions, RunConfig, Saturation};
use crate::load::clients::{ClientPool, ClientSettings};
use crate::load::recorder::Outcome;
use crate::load::request::RequestMix;
use crate::local::calibrate::{self, CalibrationError};
use crate::spec::values;
use crate::timeline::Calibration;
use reqwest::Url;
use std::net::SocketAddr;
use std::time::Duration;

/// Longest one probe request may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Calibrates `options.work_factor` to `goal` (and sets it), saying what it does and found;
/// `kernel_limit`: the replicas will be held by cgroups (else by their own limiter, which the
/// probes then run with, its cost included).
pub(super) fn calibrate(
    options: &mut LocalOptions,
    goal: Saturation,
    kernel_limit: bool,
    config: &RunConfig,
) -> Result<Calibration, RunError> {
    let quiet = config.quiet;
    if !quiet {
        eprintln!(
            "scaleproof: calibrating the local replicas to this machine: one replica at its {}m CPU limit is to serve {:.0}% of the {} rps peak ({:.3} ms of CPU per request)",
            options.cpu_limit_m,
            goal.share * 100.0,
            values::number(goal.peak_rps, 0),
            calibrate::target_ms(options.cpu_limit_m, goal)
        );
    }
    let exe = std::env::current_exe().map_err(crate::local::LocalError::Exe)?;
    let mut send = sender(config).map_err(CalibrationError::Request)?;
    let self_limit = (!kernel_limit).then_some(options.cpu_limit_m);
    let found = calibrate::calibrate(&exe, options, goal, self_limit, &mut send)?;
    options.work_factor = found.work_factor;
    if !quiet {
        let probes: Vec<String> = found
            .probes
            .iter()
            .map(|p| format!("{} → {:.3} ms", p.work_factor, p.cpu_ms_per_request))
            .collect();
        eprintln!(
            "scaleproof: calibrated in {:.1} s: work factor {} ({:.3} ms of CPU per request; probes {}), so one replica serves ~{} rps at its limit",
            found.took_s,
            found.work_factor,
            found.cpu_ms_per_request,
            probes.join(", "),
            values::number(found.replica_rps, 0)
        );
        if let Some(why) = &found.shortfall {
            eprintln!("scaleproof: warning: {why}");
        }
    }
    Ok(found)
}

/// Sends `n` of the scenario's requests, one at a time, to a replica at the address.
fn sender(config: &RunConfig) -> Result<impl FnMut(SocketAddr, u32) -> Result<(), String>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let pool = ClientPool::new(ClientSettings {
        timeout: PROBE_TIMEOUT,
        tls: None,
    })
    .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let requests = config.scenario.requests.clone();
    let header = config.endpoint_header.clone();
    Ok(move |addr: SocketAddr, n: u32| {
        let base = Url::parse(&format!("http://{addr}/")).map_err(|e| e.to_string())?;
        let mix = RequestMix::new(&base, &requests).map_err(|e| e.to_string())?;
        let client = pool.get(0);
        runtime.block_on(async {
            for _ in 0..n {
                let answer = mix.send_next(&client, &header, PROBE_TIMEOUT).await;
                if !matches!(answer.outcome, Outcome::Ok) {
                    return Err(answer
                        .failure
                        .map_or_else(|| format!("HTTP {:?}", answer.status), |f| f.message));
                }
            }
            Ok(())
        })
    })
}
