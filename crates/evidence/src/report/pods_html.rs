//! The pods part of `report.html`: the pod timeline, each scale-out's chain, each scale-in's
//! termination windows, and every pod's row of `pods.csv`.

use super::Summary;
use super::headline::gap;
use super::markup::{InlineChart, escape, strip_namespace};
use crate::scaling::Scaling;
use crate::timeline::PodRow;

/// A time in seconds to one decimal (a time just before 0 reads 0.0, not -0.0).
fn t(v: Option<f64>) -> String {
    v.map_or("unknown".to_owned(), |v| {
        let text = format!("{v:.1}");
        if text == "-0.0" { "0.0".into() } else { text }
    })
}

fn latency(us: Option<u64>) -> String {
    us.map_or("unknown".to_owned(), |us| {
        format!("{:.1}", us as f64 / 1000.0)
    })
}

/// The warnings of the pod analysis, for the top of the page.
pub fn warnings(html: &mut String, scaling: &Scaling) {
    for w in &scaling.warnings {
        html.push_str(&format!("<p class=\"warn\">warning: {}</p>", escape(w)));
    }
}

/// The section; nothing when the run knows no pod at all.
pub fn section(html: &mut String, summary: &Summary, chart: Option<&InlineChart>) {
    let s = &summary.scaling;
    if summary.pods.is_empty() {
        return;
    }
    html.push_str("<section id=\"pods\"><h2>Pods</h2>");
    if summary.is_local() {
        html.push_str("<p class=\"local\">LOCAL replicas, simulated on this machine: each “pod” is a process on the machine that ran the load.</p>");
    }
    if let Some(c) = chart {
        html.push_str(&format!(
            "<figure class=\"pods\">{}</figure>",
            strip_namespace(&c.svg)
        ));
    }
    chains(html, s);
    scale_ins(html, s);
    pod_table(html, &summary.pods);
    let clocks = match s.source.as_str() {
        "local" => {
            "this machine's: created is the process start, ready and in the Service are when it joined the balancer, terminating when it left it, gone when it exited"
        }
        "cluster" => {
            "created, scheduled and ready from the API server's timestamps (one-second resolution), in the Service, terminating and gone from when the watcher saw them"
        }
        _ => "no pod lifecycle was recorded (no cluster watched): only what the load side saw",
    };
    html.push_str(&format!(
        "<p><small>Times are seconds on the run's clock (negative: before the load started). Pod lifecycles ({}): {clocks}; first and last served from the load side. Latency is raw, of successful requests; cold = the first {} successful responses.</small></p></section>",
        escape(&s.source),
        crate::timeline::COLD_REQUESTS
    ));
}

fn chains(html: &mut String, s: &Scaling) {
    if s.scale_outs.is_empty() {
        return;
    }
    html.push_str("<h3>Scale-outs: from the decision to the new pods serving</h3><table><tr><th>decision (s)</th><th>replicas</th><th>new pods</th><th>created</th><th>ready</th><th>in the Service</th><th>first served</th><th>p95 under its limit</th><th>shares after</th></tr>");
    for o in &s.scale_outs {
        let shares: Vec<String> = o
            .shares
            .iter()
            .map(|p| format!("{} {:.0}%", p.pod, p.share * 100.0))
            .collect();
        let g = &o.gaps;
        html.push_str(&format!(
            "<tr><td>{:.1}</td><td>{} → {}</td><td>{}</td><td>{} ({})</td><td>{} ({})</td><td>{} ({})</td><td>{} ({})</td><td>{} ({})</td><td>{}</td></tr>",
            o.decision_s,
            o.from,
            o.to,
            escape(&o.pods.join(", ")),
            t(o.created_s),
            gap(g.decision_to_created_s),
            t(o.ready_s),
            gap(g.created_to_ready_s),
            t(o.in_service_s),
            gap(g.ready_to_in_service_s),
            t(o.first_served_s),
            gap(g.in_service_to_first_served_s),
            t(o.p95_ok_s),
            gap(g.decision_to_p95_ok_s),
            escape(&shares.join(", "))
        ));
    }
    html.push_str("</table><p><small>Each stage is when the last of the new pods reached it; the gap in brackets is from the stage before (p95: from the decision).</small></p>");
}

fn scale_ins(html: &mut String, s: &Scaling) {
    if s.termination_windows.is_empty() {
        return;
    }
    let decisions: Vec<String> = s
        .scale_ins
        .iter()
        .map(|d| {
            format!(
                "{:.1} s: {} → {} ({})",
                d.decision_s,
                d.from,
                d.to,
                d.pods.join(", ")
            )
        })
        .collect();
    html.push_str(&format!(
        "<h3>Pods removed: failures in their termination windows</h3><p>Scale-in decisions: {}. Failed requests in all windows (each second once): <b>{}</b>.</p>",
        escape(&if decisions.is_empty() {
            "none recorded".to_owned()
        } else {
            decisions.join("; ")
        }),
        s.scale_in_errors
            .map_or("unknown".to_owned(), |e| e.to_string())
    ));
    html.push_str("<table><tr><th>pod</th><th>window (s)</th><th>requests</th><th>failed</th><th>failed naming the pod</th><th>worst p95 (ms)</th></tr>");
    for w in &s.termination_windows {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{:.1}–{:.1}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&w.pod),
            w.start_s,
            w.end_s,
            if w.gone { "" } else { " (not seen gone)" },
            w.requests,
            w.errors,
            w.pod_errors,
            latency(w.worst_p95_us)
        ));
    }
    html.push_str("</table>");
}

fn pod_table(html: &mut String, pods: &[PodRow]) {
    html.push_str("<h3>Every pod (pods.csv)</h3><table><tr><th>pod</th><th>node</th><th>created</th><th>scheduled</th><th>ready</th><th>in the Service</th><th>first served</th><th>last served</th><th>terminating</th><th>gone</th><th>requests</th><th>failed</th><th>p50 / p95 / p99 raw (ms)</th><th>cold p95 raw (ms)</th></tr>");
    for p in pods {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {} / {}</td><td>{} ({} req.)</td></tr>",
            escape(&p.pod),
            escape(p.node.as_deref().unwrap_or("unknown")),
            t(p.created_s),
            t(p.scheduled_s),
            t(p.ready_s),
            t(p.in_service_s),
            t(p.first_served_s),
            t(p.last_served_s),
            t(p.terminating_s),
            t(p.gone_s),
            p.requests,
            p.errors,
            latency(p.p50_raw_us),
            latency(p.p95_raw_us),
            latency(p.p99_raw_us),
            latency(p.cold_p95_raw_us),
            p.cold_requests
        ));
    }
    html.push_str("</table>");
}
