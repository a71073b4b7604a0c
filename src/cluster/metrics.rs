//! The resource metrics API (`metrics.k8s.io/v1beta1` PodMetrics, what metrics-server serves
//! and the HPA reads): each pod of a Deployment's CPU over the metrics window that ends at the
//! sample's timestamp. A reading is evidence about a span only when its whole window lies in
//! that span — metrics-server's window is 15–30 s, so a short load step may hold none.

use super::ClusterOptions;
use super::session::connect;
use crate::support::chain::chain;
use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::core::Selector;

/// One pod's CPU over one metrics window.
#[derive(Debug, Clone, PartialEq)]
pub struct PodCpu {
    pub pod: String,
    /// The window ends here and lasts `window_s`.
    pub timestamp: DateTime<Utc>,
    pub window_s: f64,
    /// Summed over the pod's containers, millicores.
    pub cpu_m: f64,
}

impl PodCpu {
    /// When its window began.
    pub fn window_start(&self) -> DateTime<Utc> {
        self.timestamp - chrono::Duration::milliseconds((self.window_s * 1000.0) as i64)
    }
}

/// The PodMetrics of the pods `options.deployment` selects, now.
pub async fn pod_cpu(options: &ClusterOptions) -> Result<Vec<PodCpu>, String> {
    let (client, connection) = connect(options).await?;
    let ns = &connection.namespace;
    // Listed by name, as the watch finds it (a GET needs `get` on top of `list` in RBAC).
    let by_name = ListParams::default().fields(&format!("metadata.name={}", options.deployment));
    let deployment = Api::<Deployment>::namespaced(client.clone(), ns)
        .list(&by_name)
        .await
        .map_err(|e| {
            format!(
                "cannot read Deployment {}: {}",
                options.deployment,
                chain(&e)
            )
        })?
        .items
        .into_iter()
        .next()
        .ok_or_else(|| format!("no Deployment {} in namespace {ns}", options.deployment))?;
    let selector = deployment
        .spec
        .map(|s| s.selector)
        .ok_or_else(|| format!("Deployment {} has no selector", options.deployment))?;
    let selector = Selector::try_from(selector).map_err(|e| e.to_string())?;
    let resource = ApiResource {
        group: "metrics.k8s.io".to_owned(),
        version: "v1beta1".to_owned(),
        api_version: "metrics.k8s.io/v1beta1".to_owned(),
        kind: "PodMetrics".to_owned(),
        plural: "pods".to_owned(),
    };
    let list = Api::<DynamicObject>::namespaced_with(client, ns, &resource)
        .list(&ListParams::default().labels_from(&selector))
        .await
        .map_err(|e| format!("the metrics API did not answer: {}", chain(&e)))?;
    Ok(list.items.iter().filter_map(reading).collect())
}

/// One PodMetrics item as a reading (`None`: not in the form metrics-server writes).
fn reading(item: &DynamicObject) -> Option<PodCpu> {
    let pod = item.metadata.name.clone()?;
    let timestamp = item.data.get("timestamp")?.as_str()?.parse().ok()?;
    let window_s = duration_s(item.data.get("window")?.as_str()?)?;
    let cpu_m = item
        .data
        .get("containers")?
        .as_array()?
        .iter()
        .map(|c| {
            c.pointer("/usage/cpu")
                .and_then(|v| v.as_str())
                .and_then(cpu_millicores)
        })
        .sum::<Option<f64>>()?;
    Some(PodCpu {
        pod,
        timestamp,
        window_s,
        cpu_m,
    })
}

/// A Go duration as metrics-server writes its window: `15s`, `30.5s`, `1m0s`.
fn duration_s(text: &str) -> Option<f64> {
    let (minutes, rest) = match text.split_once('m') {
        Some((m, rest)) => (m.parse::<f64>().ok()?, rest),
        None => (0.0, text),
    };
    let seconds = match rest.strip_suffix('s') {
        Some(s) if !s.is_empty() => s.parse::<f64>().ok()?,
        _ if rest.is_empty() => 0.0,
        _ => return None,
    };
    Some(minutes * 60.0 + seconds)
}

/// A CPU quantity (`250m`, `0.5`, `1`, `123456n`, `1500u`) in millicores.
pub fn cpu_millicores(text: &str) -> Option<f64> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix('n') {
        (n, 1e-6)
    } else if let Some(u) = t.strip_suffix('u') {
        (u, 1e-3)
    } else if let Some(m) = t.strip_suffix('m') {
        (m, 1.0)
    } else {
        (t, 1000.0)
    };
    number.parse::<f64>().ok().map(|v| v * scale)
}

/// The mean CPU per pod over `from..to`, millicores, from the readings whose whole window
/// lies inside it (each pod and window counted once); `None` when no window fits.
pub fn mean_within(readings: &[PodCpu], from: DateTime<Utc>, to: DateTime<Utc>) -> Option<f64> {
    let mut seen: Vec<(&str, DateTime<Utc>)> = Vec::new();
    let mut values = Vec::new();
    for r in readings {
        if r.window_start() >= from && r.timestamp <= to && !seen.contains(&(&r.pod, r.timestamp)) {
            seen.push((&r.pod, r.timestamp));
            values.push(r.cpu_m);
        }
    }
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_windows_read_as_metrics_server_writes_them() {
        assert_eq!(cpu_millicores("250m"), Some(250.0));
        assert_eq!(cpu_millicores("1"), Some(1000.0));
        assert_eq!(cpu_millicores("123456789n"), Some(123.456789));
        assert_eq!(cpu_millicores("1500u"), Some(1.5));
        assert_eq!(cpu_millicores("lots"), None);
        assert_eq!(duration_s("15s"), Some(15.0));
        assert_eq!(duration_s("30.5s"), Some(30.5));
        assert_eq!(duration_s("1m0s"), Some(60.0));
        assert_eq!(duration_s("1m"), Some(60.0));
        assert_eq!(duration_s("soon"), None);
    }

    #[test]
    fn only_windows_wholly_inside_the_span_count_each_once() {
        let at = |s: i64| DateTime::<Utc>::from_timestamp(1_000_000 + s, 0).expect("time");
        let r = |pod: &str, end: i64, cpu: f64| PodCpu {
            pod: pod.to_owned(),
            timestamp: at(end),
            window_s: 10.0,
            cpu_m: cpu,
        };
        let readings = [
            r("a", 15, 300.0), // 5..15: inside 0..20
            r("a", 15, 300.0), // the same reading polled again
            r("b", 18, 500.0), // 8..18: inside
            r("a", 8, 900.0),  // -2..8: began before the span
            r("a", 25, 900.0), // 15..25: ends after it
        ];
        assert_eq!(mean_within(&readings, at(0), at(20)), Some(400.0));
        assert_eq!(mean_within(&readings, at(0), at(12)), None);
    }
}
