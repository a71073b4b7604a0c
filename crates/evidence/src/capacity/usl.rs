//! Gunther's Universal Scalability Law, fitted to the knee measured at several replica counts:
//! X(N) = λN / (1 + σ(N−1) + κN(N−1)) — λ the throughput of one, σ the share serialised
//! (contention), κ the cost of keeping N in step (coherency). Fitted by least squares on X
//! itself, σ, κ ≥ 0: for given σ and κ the best λ is closed-form, and σ, κ are searched on a
//! grid, then refined by a shrinking pattern search.

use serde::{Deserialize, Serialize};

/// A fitted USL and how well it fits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Usl {
    pub lambda: f64,
    pub sigma: f64,
    pub kappa: f64,
    /// Coefficient of determination of the fit on the points (1: exact; with three points
    /// and three parameters a fit is nearly always close: κ is then only rough).
    pub r_squared: f64,
    pub points: usize,
}

impl Usl {
    /// Predicted throughput at `n` replicas.
    pub fn at(&self, n: f64) -> f64 {
        self.lambda * shape(n, self.sigma, self.kappa)
    }

    /// Where throughput peaks, N* = √((1 − σ)/κ), replicas (`None`: κ = 0, throughput only
    /// levels off, towards λ/σ).
    pub fn peak_replicas(&self) -> Option<f64> {
        (self.kappa > 0.0 && self.sigma < 1.0).then(|| ((1.0 - self.sigma) / self.kappa).sqrt())
    }
}

fn shape(n: f64, sigma: f64, kappa: f64) -> f64 {
    n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))
}

/// The best λ for `sigma`, `kappa` on `points` (N, X), and the squared error it leaves.
fn best_lambda(points: &[(f64, f64)], sigma: f64, kappa: f64) -> (f64, f64) {
    let (mut xg, mut gg) = (0.0, 0.0);
    for &(n, x) in points {
        let g = shape(n, sigma, kappa);
        xg += x * g;
        gg += g * g;
    }
    let lambda = if gg > 0.0 { xg / gg } else { 0.0 };
    let sse = points
        .iter()
        .map(|&(n, x)| (x - lambda * shape(n, sigma, kappa)).powi(2))
        .sum();
    (lambda, sse)
}

/// Fits the USL to `points` (replicas, throughput); `None` with fewer than 2 distinct counts.
pub fn fit(points: &[(f64, f64)]) -> Option<Usl> {
    let mut counts: Vec<f64> = points.iter().map(|p| p.0).collect();
    counts.sort_by(f64::total_cmp);
    counts.dedup();
    if counts.len() < 2 || points.iter().any(|p| p.0 < 1.0 || !p.1.is_finite()) {
        return None;
    }
    // A grid over σ in [0, 1] and κ in [0, 0.5], with zero and a log scale for each.
    let axis = |top: f64| -> Vec<f64> {
        let mut v = vec![0.0];
        v.extend((0..=40).map(|i| top * 10f64.powf(-6.0 + 6.0 * f64::from(i) / 40.0)));
        v
    };
    let (mut sigma, mut kappa, mut sse) = (0.0, 0.0, f64::INFINITY);
    for &s in &axis(1.0) {
        for &k in &axis(0.5) {
            let (_, e) = best_lambda(points, s, k);
            if e < sse {
                (sigma, kappa, sse) = (s, k, e);
            }
        }
    }
    // Pattern search around the best grid point, steps shrinking to 1e-9.
    let (mut ds, mut dk) = (sigma.max(1e-3) / 2.0, kappa.max(1e-4) / 2.0);
    while ds > 1e-9 || dk > 1e-9 {
        let mut moved = false;
        for (s, k) in [
            (sigma + ds, kappa),
            (sigma - ds, kappa),
            (sigma, kappa + dk),
            (sigma, kappa - dk),
        ] {
            if s < 0.0 || k < 0.0 {
                continue;
            }
            let (_, e) = best_lambda(points, s, k);
            if e < sse {
                (sigma, kappa, sse, moved) = (s, k, e, true);
            }
        }
        if !moved {
            ds /= 2.0;
            dk /= 2.0;
        }
    }
    let (lambda, sse) = best_lambda(points, sigma, kappa);
    let mean = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
    let sst: f64 = points.iter().map(|p| (p.1 - mean).powi(2)).sum();
    Some(Usl {
        lambda,
        sigma,
        kappa,
        r_squared: if sst > 0.0 { 1.0 - sse / sst } else { 1.0 },
        points: points.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_recovers_sigma_and_kappa_from_points_of_a_known_law() {
        let truth = Usl {
            lambda: 180.0,
            sigma: 0.06,
            kappa: 0.004,
            r_squared: 1.0,
            points: 0,
        };
        let points: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0]
            .iter()
            .map(|&n| (n, truth.at(n)))
            .collect();
        let f = fit(&points).expect("fit");
        assert!((f.lambda - 180.0).abs() < 0.01, "{f:?}");
        assert!((f.sigma - 0.06).abs() < 1e-4, "{f:?}");
        assert!((f.kappa - 0.004).abs() < 1e-5, "{f:?}");
        assert!(f.r_squared > 0.999_999, "{f:?}");
        let peak = f.peak_replicas().expect("κ > 0");
        assert!((peak - (0.94f64 / 0.004).sqrt()).abs() < 0.05, "{peak}");
    }

    #[test]
    fn noisy_points_fit_near_the_law_and_linear_scaling_has_no_peak() {
        // ±2% alternating noise on a law with contention only.
        let points: Vec<(f64, f64)> = [1.0, 2.0, 3.0, 4.0, 6.0, 8.0]
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let x = 100.0 * n / (1.0 + 0.1 * (n - 1.0));
                (n, x * if i % 2 == 0 { 1.02 } else { 0.98 })
            })
            .collect();
        let f = fit(&points).expect("fit");
        assert!((f.sigma - 0.1).abs() < 0.04, "{f:?}");
        assert!(f.kappa < 0.005, "{f:?}");
        assert!(f.r_squared > 0.98 && f.r_squared < 1.0, "{f:?}");
        let linear = fit(&[(1.0, 100.0), (2.0, 200.0), (4.0, 400.0)]).expect("fit");
        assert!(linear.sigma < 1e-6 && linear.kappa < 1e-7, "{linear:?}");
        assert_eq!(linear.peak_replicas(), None);
    }

    #[test]
    fn one_replica_count_is_not_enough_to_fit() {
        assert_eq!(fit(&[(1.0, 100.0), (1.0, 104.0)]), None);
        assert_eq!(fit(&[]), None);
    }
}
