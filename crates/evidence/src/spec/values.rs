//! The typed values that flags and scenario files share — durations, rates, fractions, counts,
//! Kubernetes names — each with one parser, one rule and one error message, used
//! by clap's `value_parser` and by the scenario reader alike. Every error reads as the end of
//! a sentence that names the flag or field. And the other way: how a number is written for
//! a person ([`number`], [`thousands`]).

use std::time::Duration;

/// Most users (closed model) or pool users (open model) one run may start.
pub const MAX_USERS: usize = 100_000;
/// Highest request rate one stage of a rate plan may ask for.
pub const MAX_RATE: f64 = 1_000_000.0;
/// Longest load one run may plan.
pub const MAX_RUN_TIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// Highest weight of one request of a scenario (weights are relative: 1000:1 is plenty).
pub const MAX_WEIGHT: u32 = 1000;
/// Shortest connection-recycling period: reopening more often measures handshakes, not the
/// service.
pub const MIN_RECYCLE: Duration = Duration::from_millis(100);

/// `v` with `decimals` decimals and thousands separators: `number(1187.26, 1)` is `1,187.3`.
pub fn number(v: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, v.abs());
    let (whole, fraction) = text.split_at(text.find('.').unwrap_or(text.len()));
    let sign = if v < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        "-"
    } else {
        ""
    };
    format!("{sign}{}{fraction}", grouped(whole))
}

/// `1615` → `1,615` (exact for every u64, unlike going through [`number`]'s f64).
pub fn thousands(n: u64) -> String {
    grouped(&n.to_string())
}

/// A run of ASCII digits with a comma before each group of three from the right.
fn grouped(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration like `30s`, `2m`, `1h30m`, `250ms`; longer than 0 and at most a week.
pub fn duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{text:?} is not a duration like 30s, 2m or 250ms ({e})"))?;
    if d.is_zero() {
        return Err(format!("{text:?} must be longer than 0s"));
    }
    if d > MAX_RUN_TIME {
        return Err(format!("{text:?} is longer than a week"));
    }
    Ok(d)
}

/// A duration like [`duration`], or zero (`0`, `0s`: not at all).
pub fn duration_or_zero(text: &str) -> Result<Duration, String> {
    if matches!(text.trim(), "0" | "0s") {
        return Ok(Duration::ZERO);
    }
    duration(text)
}

/// A duration of at least `min`.
pub fn duration_at_least(text: &str, min: Duration) -> Result<Duration, String> {
    let d = duration(text)?;
    if d < min {
        return Err(format!(
            "{text:?} is shorter than {}",
            humantime::format_duration(min)
        ));
    }
    Ok(d)
}

/// Connection recycling: `off` (also `never`, `0`, `0s`), or a period of at least
/// [`MIN_RECYCLE`].
pub fn recycle(text: &str) -> Result<Option<Duration>, String> {
    match text.trim() {
        "off" | "never" | "0" | "0s" => Ok(None),
        t => duration_at_least(t, MIN_RECYCLE).map(Some),
    }
}

/// A latency limit like `250ms`, `1.5s`, `2m`, in milliseconds: finite and above 0.
pub fn millis(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let bad = || format!("{text:?} is not a duration like 250ms, 1.5s or 2m");
    let number = |s: &str| s.trim().parse::<f64>().map_err(|_| bad());
    let ms = if let Some(ms) = t.strip_suffix("ms") {
        number(ms)?
    } else if let Some(Ok(secs)) = t.strip_suffix('s').map(number) {
        secs * 1000.0
    } else {
        humantime::parse_duration(t)
            .map(|d| d.as_secs_f64() * 1000.0)
            .map_err(|_| bad())?
    };
    if !(ms.is_finite() && ms > 0.0) {
        return Err(format!("{text:?} must be a positive, finite duration"));
    }
    Ok(ms)
}

/// A rate like `1%`, `0.5%` or the fraction `0.01`, as a fraction in 0..=1.
pub fn fraction(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let value = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("{text:?} is not a rate like 1% or 0.01"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{text:?} is outside 0%..100%"))
    }
}

/// Most local replicas one run may start (each is a process on this machine).
pub const MAX_LOCAL_REPLICAS: u32 = 16;

/// A CPU quantity as Kubernetes writes it — `250m`, `0.5`, `1` — in millicores, 1m..=1000m
/// (a local replica uses at most one core).
pub fn millicores(text: &str) -> Result<u32, String> {
    cpu_quantity(text, 1000, "1m..1000m (one core)")
}

/// A pod's CPU request as Kubernetes writes it — `1500m`, `2` — in millicores, 1m..=64 cores
/// (a generator pod may use several).
pub fn pod_millicores(text: &str) -> Result<u32, String> {
    cpu_quantity(text, 64_000, "1m..64 cores")
}

/// A CPU quantity in millicores, 1m..=`max_m`; `range` says the range in the error.
fn cpu_quantity(text: &str, max_m: u32, range: &str) -> Result<u32, String> {
    let t = text.trim();
    let m = match t.strip_suffix('m') {
        Some(m) => m.parse::<f64>(),
        None => t.parse::<f64>().map(|cores| cores * 1000.0),
    }
    .map_err(|_| format!("{text:?} is not a CPU quantity like 250m or 0.5"))?;
    if !(m.is_finite() && (1.0..=f64::from(max_m)).contains(&m.round())) {
        return Err(format!("{text:?} is outside {range}"));
    }
    Ok(m.round() as u32)
}

/// `MIN..MAX` local replicas (or `N`: exactly N), 1..=[`MAX_LOCAL_REPLICAS`].
pub fn replica_range(text: &str) -> Result<(u32, u32), String> {
    let t = text.trim();
    let bad = || format!("{text:?} is not a replica range like 1..4 (or a count like 2)");
    let n = |s: &str| s.trim().parse::<u32>().map_err(|_| bad());
    let (min, max) = match t.split_once("..") {
        Some((a, b)) => (n(a)?, n(b)?),
        None => (n(t)?, n(t)?),
    };
    if min == 0 || min > max || max > MAX_LOCAL_REPLICAS {
        return Err(format!(
            "{text:?} must be 1 ≤ MIN ≤ MAX ≤ {MAX_LOCAL_REPLICAS}"
        ));
    }
    Ok((min, max))
}

/// A target utilisation like `70%` (or `70`): whole percent, as an HPA's
/// `averageUtilization` is, from 1 to 1000.
pub fn utilization(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let v = t
        .strip_suffix('%')
        .unwrap_or(t)
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("{text:?} is not a whole percentage like 70%"))?;
    if (1..=1000).contains(&v) {
        Ok(f64::from(v))
    } else {
        Err(format!("{text:?} must be from 1% to 1000%"))
    }
}

/// A positive, finite number (requests or users per second).
pub fn positive(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{text:?} is not a positive number")),
    }
}

/// A count of users from 1 to [`MAX_USERS`].
pub fn users(text: &str) -> Result<usize, String> {
    let n: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number"))?;
    check_users(n)
}

/// The same rule for a count already parsed (scenario files).
pub fn check_users(n: usize) -> Result<usize, String> {
    match n {
        0 => Err("must be at least 1".into()),
        n if n > MAX_USERS => Err(format!("{n} is more than {MAX_USERS}")),
        n => Ok(n),
    }
}

/// A count from 1 up (threads, replicas).
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{text:?} is not a whole number")),
    }
}

/// A request's weight, 1 to [`MAX_WEIGHT`].
pub fn check_weight(w: i64) -> Result<u32, String> {
    match u32::try_from(w) {
        Ok(w @ 1..=MAX_WEIGHT) => Ok(w),
        _ => Err(format!("{w} is outside 1..={MAX_WEIGHT}")),
    }
}

/// A Kubernetes object name (DNS-1123 subdomain: lowercase letters, digits, '-' and '.').
pub fn k8s_name(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 253
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && text
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && text
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not a Kubernetes object name (lowercase letters, digits and '-')"
        ))
    }
}

/// An address to serve on: an IP address (`127.0.0.1`, `::1`, `0.0.0.0` for every interface).
pub fn bind_address(text: &str) -> Result<std::net::IpAddr, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{text:?} is not an IP address, e.g. 127.0.0.1 or 0.0.0.0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people_group_thousands_and_keep_their_decimals() {
        assert_eq!(number(1187.26, 1), "1,187.3");
        assert_eq!(number(999.96, 1), "1,000.0");
        assert_eq!(number(1_234_567.0, 0), "1,234,567");
        assert_eq!(number(100.0, 0), "100");
        assert_eq!(number(0.123, 2), "0.12");
        assert_eq!(number(-4321.5, 1), "-4,321.5");
        assert_eq!(number(-0.01, 1), "0.0");
        assert_eq!(thousands(u64::from(u32::MAX)), "4,294,967,295");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(thousands(0), "0");
    }

    #[test]
    fn local_replica_values_read_as_kubernetes_writes_them() {
        assert_eq!(millicores("250m"), Ok(250));
        assert_eq!(millicores("0.5"), Ok(500));
        assert_eq!(millicores("1"), Ok(1000));
        assert!(millicores("2").expect_err("too much").contains("one core"));
        assert!(millicores("lots").expect_err("text").contains("250m"));
        assert_eq!(pod_millicores("2"), Ok(2000));
        assert_eq!(pod_millicores("1500m"), Ok(1500));
        assert!(
            pod_millicores("65")
                .expect_err("too much")
                .contains("64 cores")
        );
        assert_eq!(replica_range("1..4"), Ok((1, 4)));
        assert_eq!(replica_range("3"), Ok((3, 3)));
        assert!(replica_range("4..1").is_err());
        assert!(replica_range("0..2").is_err());
        assert!(replica_range("1..99").expect_err("too many").contains("16"));
        assert_eq!(utilization("70%"), Ok(70.0));
        assert_eq!(utilization("55"), Ok(55.0));
        assert!(utilization("0%").is_err());
        assert!(
            utilization("62.5%")
                .expect_err("fraction")
                .contains("whole")
        );
    }

    #[test]
    fn durations_are_positive_and_bounded() {
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert!(duration("0s").is_err());
        assert!(duration("forever").is_err());
        assert!(duration("8days").is_err());
        assert_eq!(recycle("off"), Ok(None));
        assert_eq!(recycle("2s"), Ok(Some(Duration::from_secs(2))));
        let e = recycle("1ns").expect_err("too short");
        assert!(e.contains("shorter than 100ms"), "{e}");
    }

    #[test]
    fn millis_refuse_negative_nan_and_infinite() {
        assert_eq!(millis("250ms"), Ok(250.0));
        assert_eq!(millis("1.5s"), Ok(1500.0));
        assert_eq!(millis("2m"), Ok(120_000.0));
        for bad in ["-5ms", "NaNms", "nan", "infs", "0ms", "-1s", "fast"] {
            assert!(millis(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fractions_and_counts() {
        assert_eq!(fraction("2.5%"), Ok(0.025));
        assert_eq!(fraction("0.1"), Ok(0.1));
        assert!(fraction("150%").is_err());
        assert!(fraction("NaN").is_err());
        assert!(users("0").is_err());
        assert!(users("100001").is_err());
        assert_eq!(users("500"), Ok(500));
        assert!(positive("-1").is_err() && positive("inf").is_err());
        assert_eq!(check_weight(3), Ok(3));
        assert!(check_weight(4_294_967_295).is_err());
        assert!(check_weight(0).is_err());
    }

    #[test]
    fn kubernetes_names() {
        assert!(k8s_name("target-service").is_ok());
        for bad in ["-x", "", "a b", "Web_App"] {
            assert!(k8s_name(bad).is_err(), "{bad:?}");
        }
    }
}
