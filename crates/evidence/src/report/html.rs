//! `report.html`: one self-contained page — inline SVG charts, CSS and a few lines of
//! JavaScript for hover read-outs; no external URL of any kind, so it opens offline.

use super::markup::{InlineChart, escape, strip_namespace};
use super::{Summary, headline};
use crate::timeline::{EventRow, TimelineRow};

fn count(v: Option<u64>) -> String {
    v.map_or("null".to_owned(), |v| v.to_string())
}

fn opt(v: Option<u64>) -> String {
    v.map_or("null".to_owned(), |us| format!("{:.3}", us as f64 / 1000.0))
}

/// The timeline as a compact JSON array for the read-outs.
fn data_json(rows: &[TimelineRow]) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "[{},{},{:.1},{},{},{},{},{},{},{},{},{},{},{},{},{}]",
                r.t_s,
                r.target_rps
                    .map_or("null".to_owned(), |v| format!("{v:.1}")),
                r.ok_rps,
                r.dropped,
                r.errors,
                opt(r.p50_corrected_us),
                opt(r.p95_corrected_us),
                opt(r.p99_corrected_us),
                opt(r.p95_raw_us),
                count(r.endpoints),
                r.users,
                count(r.deploy_ready),
                count(r.deploy_spec_replicas),
                count(r.hpa_desired),
                opt(r.p50_raw_us),
                opt(r.p99_raw_us)
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

const STYLE: &str = "
body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:0;background:#f5f6f8;color:#222}
header{background:#1f2933;color:#fff;padding:18px 28px;display:flex;align-items:center;gap:24px}
header h1{margin:0;font-size:24px} header p{margin:4px 0 0;color:#cbd2d9;font-size:14px}
.badge{margin-left:auto;font-size:28px;font-weight:bold;padding:8px 22px;border-radius:8px}
.pass{background:#2f9e44}.fail{background:#c92a2a}.inconclusive{background:#e67700}.none{background:#5c677d}
main{padding:18px 28px}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px}
.kpi{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 2px #0002}
.kpi b{display:block;font-size:24px;margin-top:4px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(620px,1fr));gap:16px;margin-top:18px}
figure{position:relative;margin:0;background:#fff;border-radius:8px;box-shadow:0 1px 2px #0002;padding:6px}
figure svg{width:100%;height:auto;display:block}
.cursor{position:absolute;top:0;bottom:0;width:1px;background:#a03ca0;display:none;pointer-events:none}
.readout{position:absolute;top:8px;right:12px;background:#fffffff0;border:1px solid #ccc;border-radius:6px;
 padding:6px 10px;font-size:13px;display:none;pointer-events:none;white-space:pre}
table{border-collapse:collapse;background:#fff;margin-top:8px}
td,th{border:1px solid #ddd;padding:6px 10px;text-align:left;font-size:14px}
td.result-pass{color:#2f9e44;font-weight:bold} td.result-fail{color:#c92a2a;font-weight:bold}
td.result-inconclusive{color:#e67700;font-weight:bold} .caveat{color:#a65f00}
pre{background:#fff;padding:12px;border-radius:8px;overflow:auto;font-size:12px}
.warn{background:#ffe8cc;color:#7a3300;padding:10px 28px;margin:0;font-weight:bold}
figure.pods{margin-top:8px}
.local{background:#fff3bf;color:#5c3c00;padding:10px 28px;margin:0;font-weight:bold}
.insecure{background:#c92a2a;color:#fff;padding:10px 28px;margin:0;font-weight:bold}
details pre{margin:4px 0 0;white-space:pre-wrap;max-width:60ch}
.play{margin-top:18px;font-size:16px;padding:6px 16px;border-radius:6px;border:1px solid #1f2933;background:#fff;cursor:pointer}
.veil{position:absolute;background:#fffffff2;display:none;pointer-events:none}
.playhead{position:absolute;width:3px;background:#000;display:none;pointer-events:none}
";

const SCRIPT: &str = "
const rows = JSON.parse(document.getElementById('timeline').textContent);
const f = (v, d) => v === null ? '\\u2013' : v.toLocaleString('en-US', {minimumFractionDigits: d, maximumFractionDigits: d});
for (const fig of document.querySelectorAll('figure.chart')) {
  const [l, t, r, b] = fig.dataset.plot.split(',').map(Number);
  const w = Number(fig.dataset.w), xmax = Number(fig.dataset.xmax);
  const svg = fig.querySelector('svg'), cursor = fig.querySelector('.cursor'), out = fig.querySelector('.readout');
  fig.addEventListener('mousemove', e => {
    const box = svg.getBoundingClientRect(), k = box.width / w;
    const x = (e.clientX - box.left) / k;
    if (x < l || x > r || rows.length === 0) { cursor.style.display = out.style.display = 'none'; return; }
    const sec = Math.round((x - l) / (r - l) * xmax);
    const row = rows.reduce((a, c) => Math.abs(c[0] - sec) < Math.abs(a[0] - sec) ? c : a);
    const px = l + row[0] / xmax * (r - l);
    cursor.style.left = (box.left - fig.getBoundingClientRect().left + px * k) + 'px';
    cursor.style.display = out.style.display = 'block';
    const lat = row[6] === null
      ? `\\nraw p50 ${f(row[14], 2)} ms  p95 ${f(row[8], 2)} ms  p99 ${f(row[15], 2)} ms`
      : `\\ncorrected p50 ${f(row[5], 2)} ms  p95 ${f(row[6], 2)} ms  p99 ${f(row[7], 2)} ms\\nraw p95 ${f(row[8], 2)} ms`;
    out.textContent = `t = ${row[0]} s\\nsuccessful ${f(row[2], 0)} rps` + (row[1] === null ? '' : ` (target ${f(row[1], 0)})`) +
      `\\ndropped ${row[3]}  errors ${row[4]}` + lat +
      `\\nendpoints ${row[9] ?? '\\u2013'}  users ${row[10]}` +
      (row[11] === null && row[12] === null ? '' :
        `\\nreplicas ready ${row[11] ?? '\\u2013'} / desired ${row[12] ?? '\\u2013'}` + (row[13] === null ? '' : `  hpa ${row[13]}`));
  });
  fig.addEventListener('mouseleave', () => { cursor.style.display = out.style.display = 'none'; });
}
// Play: the charts fill up from the left at 10 run seconds per second, under a playhead.
const play = document.getElementById('play');
if (play) play.addEventListener('click', () => {
  const figs = [...document.querySelectorAll('figure.chart')].map(fig => {
    const [l, t, r, b] = fig.dataset.plot.split(',').map(Number);
    const veil = fig.querySelector('.veil'), head = fig.querySelector('.playhead');
    return { fig, l, t, r, b, w: Number(fig.dataset.w), xmax: Number(fig.dataset.xmax), veil, head };
  });
  const speed = 10, start = performance.now();
  play.disabled = true;
  const step = now => {
    let done = true;
    for (const c of figs) {
      const tau = Math.min(c.xmax, (now - start) / 1000 * speed), k = c.fig.querySelector('svg').getBoundingClientRect().width / c.w;
      const x = c.l + (c.r - c.l) * tau / c.xmax, off = 6;
      Object.assign(c.veil.style, { display: 'block', left: off + x * k + 'px', top: off + c.t * k + 'px',
        width: Math.max(0, (c.r - x) * k) + 'px', height: (c.b - c.t) * k + 'px' });
      Object.assign(c.head.style, { display: 'block', left: off + x * k + 'px', top: off + c.t * k + 'px', height: (c.b - c.t) * k + 'px' });
      if (tau < c.xmax) done = false;
      play.textContent = `\\u25B6 ${Math.floor(tau / 60)}:${String(Math.floor(tau % 60)).padStart(2, '0')}`;
    }
    if (!done) { requestAnimationFrame(step); return; }
    for (const c of figs) { c.veil.style.display = c.head.style.display = 'none'; }
    play.disabled = false; play.textContent = '\\u25B6 play the run (\\u00D710)';
  };
  requestAnimationFrame(step);
});
";

/// Builds the page.
pub fn page(
    summary: &Summary,
    rows: &[TimelineRow],
    events: &[EventRow],
    charts: &[InlineChart],
    pod_chart: Option<&InlineChart>,
    x_max: f64,
    run_json: &str,
) -> String {
    let class = headline::state_class(summary.verdict.state);
    let word = summary.verdict.state.label();
    let kpis = headline::figures(summary);
    let mut html = String::with_capacity(256 * 1024);
    html.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    html.push_str(&format!(
        "<title>scaleproof — {}</title><style>{STYLE}</style></head><body>",
        escape(&summary.scenario)
    ));
    html.push_str(&format!(
        "<header><div><h1>{}</h1><p>{} · {}</p></div><div class=\"badge {class}\">{word}</div></header><main>",
        escape(&summary.scenario),
        escape(&super::headline::strip(summary)),
        escape(&summary.end_reason),
    ));
    if summary.is_local() {
        html.push_str("<p class=\"local\">LOCAL replicas, simulated on this machine: the scale-out shown here happened to processes on one machine, not to a Kubernetes cluster.</p>");
    }
    if summary.tls.as_ref().is_some_and(|t| t.insecure) {
        html.push_str("<p class=\"insecure\">TLS not verified (--insecure): the server's certificate was not checked, so this run cannot show who answered.</p>");
    }
    super::pods_html::warnings(&mut html, &summary.scaling);
    html.push_str("<section class=\"kpis\">");
    for fig in kpis {
        html.push_str(&format!(
            "<div class=\"kpi\">{}<b>{}</b><small>{}</small></div>",
            escape(&fig.label),
            escape(&fig.value),
            escape(&fig.hint)
        ));
    }
    html.push_str("</section><button class=\"play\" id=\"play\" type=\"button\">\u{25B6} play the run (\u{D7}10)</button><section class=\"charts\">");
    for c in charts {
        html.push_str(&format!(
            "<figure class=\"chart\" data-plot=\"{},{},{},{}\" data-w=\"{}\" data-xmax=\"{}\">{}<div class=\"cursor\"></div><div class=\"readout\"></div><div class=\"veil\"></div><div class=\"playhead\"></div></figure>",
            c.plot.0, c.plot.1, c.plot.2, c.plot.3, c.size.0, x_max, strip_namespace(&c.svg)
        ));
    }
    html.push_str("</section><section><h2>Verdict</h2>");
    if summary.verdict.checks.is_empty() {
        html.push_str("<p>No expectations were set (scenario <code>[expect]</code> or <code>--expect-*</code> flags).</p>");
    } else {
        html.push_str("<table><tr><th>expectation</th><th>wanted</th><th>measured</th><th>result</th><th>source</th></tr>");
        for c in &summary.verdict.checks {
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"result-{}\">{}</td><td>{}{}</td></tr>",
                escape(&c.name),
                escape(&c.wanted),
                escape(&c.measured),
                headline::state_class(c.state),
                c.state.label().to_lowercase(),
                escape(&c.source),
                c.note
                    .as_deref()
                    .map(|n| format!("<br><small>{}</small>", escape(n)))
                    .unwrap_or_default()
            ));
        }
        html.push_str("</table>");
        for caveat in &summary.verdict.caveats {
            html.push_str(&format!(
                "<p class=\"caveat\">caveat: {}</p>",
                escape(caveat)
            ));
        }
    }
    html.push_str("</section>");
    errors_section(&mut html, summary);
    super::pods_html::section(&mut html, summary, pod_chart);
    cluster_section(&mut html, summary, events);
    html.push_str(&format!(
        "<section><h2>Configuration (run.json)</h2><pre>{}</pre></section></main>",
        escape(run_json)
    ));
    html.push_str(&format!(
        "<script id=\"timeline\" type=\"application/json\">{}</script>",
        data_json(rows)
    ));
    html.push_str(&format!("<script>{SCRIPT}</script></body></html>\n"));
    html
}

/// The error catalogue: each distinct message with its count, seconds, hint and body sample.
fn errors_section(html: &mut String, summary: &Summary) {
    if summary.errors.is_empty() {
        if summary.totals.errors > 0 {
            html.push_str(&format!(
                "<section><h2>Errors</h2><p>{} failed requests; this run directory has no error catalogue (errors.csv).</p></section>",
                headline::thousands(summary.totals.errors)
            ));
        }
        return;
    }
    html.push_str("<section><h2>Errors</h2><table><tr><th>kind</th><th>message</th><th>count</th><th>seconds</th><th>likely cause and fix</th></tr>");
    for e in &summary.errors {
        let r = &e.row;
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}–{}</td><td>{}</td></tr>",
            escape(&r.kind),
            escape(&r.message),
            if r.sample.is_empty() {
                String::new()
            } else {
                format!(
                    "<details><summary>response body</summary><pre>{}</pre></details>",
                    escape(&r.sample)
                )
            },
            headline::thousands(r.count),
            r.first_s,
            r.last_s,
            escape(e.hint.as_deref().unwrap_or(""))
        ));
    }
    html.push_str(&format!(
        "</table><p><small>Messages are normalised (numbers of 4+ digits read N); at most {} distinct messages are kept, later ones count in “{}”.</small></p></section>",
        crate::timeline::MAX_MESSAGES,
        escape(crate::timeline::OTHER_MESSAGES)
    ));
}

/// An HPA's `spec.metrics` in words: `cpu 60% utilization, pods/http_requests 100 average`.
fn metric_targets(metrics: &serde_json::Value) -> String {
    let Some(list) = metrics.as_array().filter(|l| !l.is_empty()) else {
        return "none (80% CPU by default)".into();
    };
    let text: Vec<String> = list
        .iter()
        .map(|m| {
            let kind = m["type"].as_str().unwrap_or("?");
            let section = match kind {
                "Resource" => &m["resource"],
                "Pods" => &m["pods"],
                "Object" => &m["object"],
                "External" => &m["external"],
                "ContainerResource" => &m["containerResource"],
                _ => &serde_json::Value::Null,
            };
            let name = section["name"]
                .as_str()
                .or(section["metric"]["name"].as_str())
                .unwrap_or("?");
            let t = &section["target"];
            let target = if let Some(pct) = t["averageUtilization"].as_u64() {
                format!("{pct}% utilization")
            } else if let Some(v) = t["averageValue"].as_str() {
                format!("{v} average")
            } else if let Some(v) = t["value"].as_str() {
                format!("{v} value")
            } else {
                "?".into()
            };
            match kind {
                "Resource" => format!("{name} {target}"),
                other => format!("{}/{name} {target}", other.to_lowercase()),
            }
        })
        .collect();
    text.join(", ")
}

/// The watched workload (context, resources, HPA) and its scale events.
fn cluster_section(html: &mut String, summary: &Summary, events: &[EventRow]) {
    let local = summary.is_local();
    if local {
        html.push_str("<section><h2>Local replicas — simulated on this machine</h2><p class=\"local\">Not a cluster: the replicas were processes on the machine that generated the load, behind a local balancer, scaled by scaleproof's implementation of the HorizontalPodAutoscaler algorithm on their measured CPU. The columns and events below read like a Deployment's so that the same reports apply.</p>");
    } else {
        html.push_str("<section><h2>Cluster</h2>");
    }
    let Some(c) = &summary.cluster else {
        html.push_str("<p>No cluster was watched (no <code>--deployment</code>): replica counts are distinct serving endpoints.</p></section>");
        return;
    };
    let r = &c.record;
    let n = |v: Option<u64>| v.map_or("unknown".to_owned(), |v| v.to_string());
    let mut rows: Vec<(String, String)> = vec![
        (
            "Deployment".into(),
            format!("{} in namespace {}", r.deployment, r.namespace),
        ),
        (
            "context / server".into(),
            if local {
                "none: local processes on the machine that ran the load".to_owned()
            } else {
                format!(
                    "{} · {}",
                    r.kube_context.as_deref().unwrap_or("-"),
                    r.server.as_deref().unwrap_or("-")
                )
            },
        ),
        (
            "replicas at start".into(),
            format!(
                "{} ready of {} desired",
                n(r.at_start.deploy_ready),
                n(r.at_start.deploy_spec_replicas)
            ),
        ),
        (
            "HPA".into(),
            match &r.hpa {
                Some(h) => format!(
                    "{h}: {}–{} replicas; targets: {}",
                    n(r.hpa_min_replicas),
                    n(r.hpa_max_replicas),
                    metric_targets(&r.hpa_metric_targets)
                ),
                None => "none found".into(),
            },
        ),
    ];
    for ct in &r.containers {
        let q = |m: &std::collections::BTreeMap<String, String>| {
            if m.is_empty() {
                "none".to_owned()
            } else {
                m.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        rows.push((
            format!("container {}", ct.name),
            format!(
                "{} · requests {} · limits {}",
                ct.image,
                q(&ct.requests),
                q(&ct.limits)
            ),
        ));
    }
    if let Some(held) = &r.cpu_limit {
        rows.push(("CPU limit held".into(), held.clone()));
    }
    if let Some(c) = &r.calibration {
        rows.push((
            "work per request".into(),
            format!(
                "calibrated before the load: work factor {} ({:.3} ms of CPU per request; target {:.3} ms, for one replica at its limit to serve {:.0}% of the {:.0} rps peak); one replica serves ~{:.0} rps{}",
                c.work_factor,
                c.cpu_ms_per_request,
                c.target_cpu_ms_per_request,
                c.saturate_at_pct,
                c.peak_rps,
                c.replica_rps,
                c.shortfall
                    .as_ref()
                    .map(|s| format!(" — {s}"))
                    .unwrap_or_default()
            ),
        ));
    }
    html.push_str("<table>");
    for (k, v) in rows {
        html.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(&k),
            escape(&v)
        ));
    }
    html.push_str("</table>");
    if !r.warnings.is_empty() {
        html.push_str("<h3>Watcher warnings</h3><ul>");
        for w in &r.warnings {
            html.push_str(&format!("<li>{}</li>", escape(w)));
        }
        html.push_str("</ul>");
    }
    html.push_str(&format!("<h3>Events ({})</h3>", events.len()));
    if events.is_empty() {
        html.push_str("<p>No events about the Deployment, its HPA or its pods during the run.</p>");
    } else {
        html.push_str(
            "<table><tr><th>t (s)</th><th>object</th><th>reason</th><th>message</th></tr>",
        );
        for e in events {
            html.push_str(&format!(
                "<tr><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e.t_s,
                escape(&e.object),
                escape(&e.reason),
                escape(&e.message)
            ));
        }
        html.push_str("</table>");
    }
    html.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpa_targets_read_as_words() {
        let metrics = serde_json::json!([
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}},
            {"type": "Pods", "pods": {"metric": {"name": "http_requests"}, "target": {"type": "AverageValue", "averageValue": "100"}}}
        ]);
        assert_eq!(
            metric_targets(&metrics),
            "cpu 60% utilization, pods/http_requests 100 average"
        );
        assert_eq!(
            metric_targets(&serde_json::Value::Null),
            "none (80% CPU by default)"
        );
    }

    #[test]
    fn escaping_leaves_no_markup_and_no_url_scheme() {
        assert_eq!(
            escape("<a href=\"http://x\">&'"),
            "&lt;a href=&quot;http&#58;//x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            strip_namespace("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\">"),
            "<svg width=\"1\">"
        );
    }
}
