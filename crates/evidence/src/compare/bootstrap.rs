//! The moving-block bootstrap over a run's seconds: a resample is the run's length of seconds
//! drawn as blocks of consecutive seconds (so that seconds that move together are not counted
//! as independent evidence), each block starting at a random second; a figure is recomputed
//! on each resample, and the interval of the difference between two runs is the middle 95% of
//! the resampled differences. A small seeded generator (SplitMix64) makes every interval
//! reproducible from the runs alone.

/// SplitMix64 (Steele, Lea and Flood): a seeded generator of 64-bit words, statistically good
/// for resampling and a few lines long.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// The indices of one resample of `len` seconds in blocks of `block` (the last block cut to
/// fit); blocks wrap around the end (the circular block bootstrap), so every second is drawn
/// equally often.
pub fn resample(len: usize, block: usize, rng: &mut SplitMix64, out: &mut Vec<usize>) {
    out.clear();
    if len == 0 {
        return;
    }
    let block = block.clamp(1, len);
    while out.len() < len {
        let start = rng.below(len);
        for k in 0..block {
            if out.len() == len {
                break;
            }
            out.push((start + k) % len);
        }
    }
}

/// The 95% interval of `stat(candidate) − stat(base)` over `resamples` paired resamples of
/// two runs of `base_len` and `cand_len` seconds, blocks of `block` seconds; `None` when a
/// statistic is undefined in too many resamples (over 5%).
pub fn interval(
    (base_len, cand_len): (usize, usize),
    block: usize,
    resamples: usize,
    seed: u64,
    stat: &mut dyn FnMut(bool, &[usize]) -> Option<f64>,
) -> Option<(f64, f64)> {
    let mut rng = SplitMix64::new(seed);
    let (mut b, mut c) = (Vec::new(), Vec::new());
    let mut diffs = Vec::with_capacity(resamples);
    let mut undefined = 0;
    for _ in 0..resamples {
        resample(base_len, block, &mut rng, &mut b);
        resample(cand_len, block, &mut rng, &mut c);
        match (stat(false, &b), stat(true, &c)) {
            (Some(x), Some(y)) => diffs.push(y - x),
            _ => undefined += 1,
        }
    }
    if diffs.is_empty() || undefined * 20 > resamples {
        return None;
    }
    diffs.sort_by(f64::total_cmp);
    let at = |q: f64| diffs[((q * (diffs.len() - 1) as f64).round() as usize).min(diffs.len() - 1)];
    Some((at(0.025), at(0.975)))
}

/// One run's latency by second, as sparse counts over the values seen in the whole run,
/// so that a resample's quantiles cost one pass over its counts.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    /// Every distinct value (µs), ascending.
    values: Vec<u64>,
    /// Each second's (index into `values`, count).
    seconds: Vec<Vec<(u32, u64)>>,
}

impl Latencies {
    /// From each second's (value µs, count) pairs, in second order.
    pub fn new(seconds: &[Vec<(u64, u64)>]) -> Self {
        let mut values: Vec<u64> = seconds.iter().flatten().map(|v| v.0).collect();
        values.sort_unstable();
        values.dedup();
        let index = |v: u64| values.binary_search(&v).map_or(0, |i| i as u32);
        let seconds = seconds
            .iter()
            .map(|s| {
                s.iter()
                    .filter(|v| v.1 > 0)
                    .map(|&(v, c)| (index(v), c))
                    .collect()
            })
            .collect();
        Self { values, seconds }
    }

    pub fn len(&self) -> usize {
        self.seconds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seconds.is_empty()
    }

    /// The quantiles `qs` (ascending, each in (0, 1]) of the seconds `picked` (repeats
    /// count again), by the nearest-rank rule HdrHistogram uses, µs; `None` when they hold no
    /// value. `counts` is scratch space, reused between calls.
    pub fn quantiles(
        &self,
        picked: &[usize],
        qs: &[f64],
        counts: &mut Vec<u64>,
    ) -> Vec<Option<u64>> {
        counts.clear();
        counts.resize(self.values.len(), 0);
        let mut total = 0u64;
        for &s in picked {
            for &(i, c) in self.seconds.get(s).map_or(&[][..], |v| v.as_slice()) {
                counts[i as usize] += c;
                total += c;
            }
        }
        if total == 0 {
            return vec![None; qs.len()];
        }
        let ranks: Vec<u64> = qs
            .iter()
            .map(|q| ((q * total as f64).ceil() as u64).clamp(1, total))
            .collect();
        let mut out = vec![None; qs.len()];
        let (mut seen, mut next) = (0u64, 0usize);
        for (i, &c) in counts.iter().enumerate() {
            seen += c;
            while next < ranks.len() && seen >= ranks[next] {
                out[next] = Some(self.values[i]);
                next += 1;
            }
            if next == ranks.len() {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resamples_are_blocks_of_consecutive_seconds_that_wrap() {
        let mut rng = SplitMix64::new(7);
        let mut out = Vec::new();
        resample(10, 4, &mut rng, &mut out);
        assert_eq!(out.len(), 10);
        // Within a block each index follows the last, modulo the length.
        for chunk in out.chunks(4) {
            for w in chunk.windows(2) {
                assert_eq!(w[1], (w[0] + 1) % 10, "{out:?}");
            }
        }
        // Every second is drawn about equally often over many resamples.
        let mut seen = [0u32; 10];
        for _ in 0..2000 {
            resample(10, 4, &mut rng, &mut out);
            for &i in &out {
                seen[i] += 1;
            }
        }
        assert!(seen.iter().all(|&n| (1800..2200).contains(&n)), "{seen:?}");
    }

    #[test]
    fn quantiles_are_the_nearest_rank_over_the_picked_seconds_repeats_included() {
        let l = Latencies::new(&[vec![(10, 50), (20, 40)], vec![(30, 9), (100, 1)], vec![]]);
        let mut c = Vec::new();
        let qs = [0.5, 0.9, 0.95, 1.0];
        assert_eq!(
            l.quantiles(&[0, 1], &qs, &mut c),
            [Some(10), Some(20), Some(30), Some(100)]
        );
        // Second 1 twice: 10×50, 20×40, 30×18, 100×2 (110): p50 rank 55 → 20.
        assert_eq!(l.quantiles(&[0, 1, 1], &[0.5], &mut c), [Some(20)]);
        assert_eq!(l.quantiles(&[2], &[0.5], &mut c), [None]);
    }
}
