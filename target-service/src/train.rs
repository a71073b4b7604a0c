//! Training: split the dataset, fit the forest, evaluate it on the held-out rows.

use crate::dataset::Dataset;
use crate::model::{Forest, Holdout, Model, ModelMeta, ReferencePrediction, TrainParams};
use smartcore::ensemble::random_forest_regressor::RandomForestRegressorParameters;
use smartcore::linalg::basic::matrix::DenseMatrix;

/// How many held-out rows are recorded with their predictions in the model file.
const REFERENCE_ROWS: usize = 8;

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("test fraction must be in (0, 0.5], got {0}")]
    TestFraction(f64),
    #[error("smartcore could not fit the forest: {0}")]
    Fit(String),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
}

/// The trained model and how it did.
#[derive(Debug)]
pub struct TrainReport {
    /// The model, ready to save or serve.
    pub model: Model,
}

/// Trains a random forest on `data` with a seeded, reproducible train/test split.
pub fn train(
    data: &Dataset,
    params: TrainParams,
    dataset_note: &str,
) -> Result<TrainReport, TrainError> {
    if !(params.test_fraction > 0.0 && params.test_fraction <= 0.5) {
        return Err(TrainError::TestFraction(params.test_fraction));
    }
    let order = shuffled_indices(data.len(), params.seed);
    let n_test = ((data.len() as f64) * params.test_fraction)
        .round()
        .max(1.0) as usize;
    let (test_idx, train_idx) = order.split_at(n_test);

    let pick_rows = |idx: &[usize]| {
        idx.iter()
            .map(|&i| data.rows[i].clone())
            .collect::<Vec<_>>()
    };
    let pick_y = |idx: &[usize]| idx.iter().map(|&i| data.y[i]).collect::<Vec<_>>();
    let (train_rows, train_y) = (pick_rows(train_idx), pick_y(train_idx));
    let (test_rows, test_y) = (pick_rows(test_idx), pick_y(test_idx));

    let x = DenseMatrix::from_2d_vec(&train_rows).map_err(|e| TrainError::Fit(e.to_string()))?;
    let forest_params = RandomForestRegressorParameters::default()
        .with_n_trees(params.n_trees)
        .with_max_depth(params.max_depth)
        .with_min_samples_leaf(params.min_samples_leaf)
        .with_seed(params.seed);
    let forest =
        Forest::fit(&x, &train_y, forest_params).map_err(|e| TrainError::Fit(e.to_string()))?;

    let mut meta = ModelMeta {
        name: "diabetes-progression-rf".to_owned(),
        algorithm: format!("random forest regressor (smartcore {})", SMARTCORE_VERSION),
        dataset: dataset_note.to_owned(),
        features: data.features.clone(),
        target: data.target.clone(),
        train_rows: train_rows.len(),
        params,
        holdout: Holdout {
            rows: 0,
            rmse: f64::NAN,
            mae: f64::NAN,
            r2: f64::NAN,
            baseline_rmse: f64::NAN,
        },
        reference: Vec::new(),
    };
    let mut model = Model::new(meta.clone(), forest)?;
    let predicted = model.predict(&test_rows, 0)?;
    let train_mean = train_y.iter().sum::<f64>() / train_y.len() as f64;
    meta.holdout = evaluate(&test_y, &predicted, train_mean);
    meta.reference = test_rows
        .iter()
        .zip(&predicted)
        .take(REFERENCE_ROWS)
        .map(|(features, &prediction)| ReferencePrediction {
            features: features.clone(),
            prediction,
        })
        .collect();
    model = Model::new(meta, model.into_forest())?;
    Ok(TrainReport { model })
}

const SMARTCORE_VERSION: &str = "0.7";

/// RMSE, MAE and R² of `predicted` against `truth`, with a predict-the-mean baseline.
fn evaluate(truth: &[f64], predicted: &[f64], train_mean: f64) -> Holdout {
    let n = truth.len() as f64;
    let sq: f64 = truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p).powi(2))
        .sum();
    let abs: f64 = truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p).abs())
        .sum();
    let mean = truth.iter().sum::<f64>() / n;
    let total: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
    let baseline: f64 = truth.iter().map(|t| (t - train_mean).powi(2)).sum();
    Holdout {
        rows: truth.len(),
        rmse: (sq / n).sqrt(),
        mae: abs / n,
        r2: 1.0 - sq / total,
        baseline_rmse: (baseline / n).sqrt(),
    }
}

/// A Fisher–Yates shuffle of `0..n` driven by a SplitMix64 stream: the same seed gives the same
/// split on every platform and every version of every crate.
fn shuffled_indices(n: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_is_a_permutation_and_depends_on_the_seed() {
        let a = shuffled_indices(100, 1);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(a, shuffled_indices(100, 2));
        assert_eq!(a, shuffled_indices(100, 1));
    }

    #[test]
    fn evaluate_matches_hand_computed_values() {
        let h = evaluate(&[1.0, 2.0, 3.0], &[1.0, 2.0, 5.0], 2.0);
        assert!((h.rmse - (4.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((h.mae - 2.0 / 3.0).abs() < 1e-12);
        assert!((h.r2 - (1.0 - 4.0 / 2.0)).abs() < 1e-12);
        assert!((h.baseline_rmse - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn retraining_with_the_committed_params_reproduces_the_bundled_model() {
        let bundled = Model::bundled().expect("bundled model loads");
        let data = Dataset::from_csv(crate::BUNDLED_DATASET_CSV).expect("dataset");
        let report = train(&data, bundled.meta().params, &bundled.meta().dataset).expect("train");
        assert_eq!(report.model.meta(), bundled.meta());
    }

    #[test]
    fn forest_beats_the_predict_the_mean_baseline() {
        let bundled = Model::bundled().expect("bundled model loads");
        let h = bundled.meta().holdout;
        assert!(h.rmse < h.baseline_rmse, "{h:?}");
        assert!(h.r2 > 0.2, "{h:?}");
    }
}
