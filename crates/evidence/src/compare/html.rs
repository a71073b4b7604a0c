//! `compare.html`: one offline page — both runs named, the rule, every figure side by side
//! with its difference, interval and judgement, the warnings, and the picture inline (SVG).

use super::{CompareDoc, Figure, Judgement};
use crate::report::markup::escape;

/// A value in its unit, for a person.
pub fn value(v: Option<f64>, unit: &str) -> String {
    match v {
        None => "unknown".to_owned(),
        Some(v) if unit == "share" => format!("{:.3}%", 100.0 * v),
        Some(v) if unit == "ms" => format!("{v:.2} ms"),
        Some(v) if unit == "rps" => format!("{v:.1} rps"),
        Some(v) if unit == "s" => format!("{v:.0} s"),
        Some(v) => {
            let n = v.round();
            let unit = if n == 1.0 {
                unit.strip_suffix('s').unwrap_or(unit)
            } else {
                unit
            };
            format!("{} {unit}", crate::spec::values::thousands(n as u64))
        }
    }
}

/// The difference and its interval, for a person.
pub fn difference(f: &Figure) -> (String, String) {
    let diff = match (f.diff, f.diff_pct) {
        (Some(d), Some(p)) => format!(
            "{} ({}{:.1}%)",
            signed(d, &f.unit),
            if p < 0.0 { "−" } else { "+" },
            p.abs()
        ),
        (Some(d), None) => signed(d, &f.unit),
        _ => "–".to_owned(),
    };
    let ci = match (f.ci_low, f.ci_high) {
        (Some(lo), Some(hi)) => format!("[{}, {}]", signed(lo, &f.unit), signed(hi, &f.unit)),
        _ => "–".to_owned(),
    };
    (diff, ci)
}

fn signed(v: f64, unit: &str) -> String {
    let text = value(Some(v.abs()), unit);
    if v < 0.0 {
        format!("−{text}")
    } else {
        format!("+{text}")
    }
}

/// The page, with `svg` (the picture) inline.
pub fn page(doc: &CompareDoc, svg: &str) -> String {
    let mut rows = String::new();
    for f in &doc.figures {
        let (diff, ci) = difference(f);
        let class = match f.judgement {
            Judgement::Worse => "worse",
            Judgement::Better => "better",
            Judgement::Inconclusive => "inconclusive",
            _ => "",
        };
        rows.push_str(&format!(
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{}</td></tr>\n",
            escape(&f.label),
            if f.gates { " <small>(gates)</small>" } else { "" },
            escape(&value(f.base, &f.unit)),
            escape(&value(f.candidate, &f.unit)),
            escape(&diff),
            escape(&ci),
            f.judgement.label()
        ));
    }
    let list = |items: &[String]| {
        items
            .iter()
            .map(|w| format!("<li>{}</li>", escape(w)))
            .collect::<String>()
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>compare: {base} vs {cand}</title>\n<style>body{{font-family:sans-serif;margin:2em;color:#1f2933}}table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:.3em .8em;text-align:left}}.worse{{color:#b00020;font-weight:bold}}.better{{color:#00703c;font-weight:bold}}.inconclusive{{color:#8a6d00}}svg{{max-width:100%;height:auto}}.local{{background:#fff4ce;padding:.5em}}</style></head><body>\n<h1>{base} vs {cand}</h1>\n<p><b>{outcome}</b> at a threshold of {threshold:.1}% (latency floor {floor} ms).</p>\n{local}<p>Rule: {rule}</p>\n<p>Picture: {alignment}.</p>\n<table><tr><th>figure</th><th>base</th><th>candidate</th><th>difference</th><th>95% interval</th><th>judgement</th></tr>\n{rows}</table>\n{warnings}{forced}<div>{svg}</div>\n</body></html>\n",
        base = escape(&doc.base),
        cand = escape(&doc.candidate),
        outcome = escape(&doc.outcome),
        threshold = 100.0 * doc.threshold,
        floor = doc.latency_floor_ms,
        local = if doc.local {
            "<p class=\"local\">LOCAL replicas in at least one run: simulated on one machine, not a cluster.</p>\n"
        } else {
            ""
        },
        rule = escape(&doc.rule),
        alignment = escape(&doc.alignment),
        warnings = if doc.warnings.is_empty() {
            String::new()
        } else {
            format!("<h2>Warnings</h2><ul>{}</ul>\n", list(&doc.warnings))
        },
        forced = if doc.forced.is_empty() {
            String::new()
        } else {
            format!(
                "<h2>Compared with --force, though they measured different things</h2><ul>{}</ul>\n",
                list(&doc.forced)
            )
        },
    )
}
