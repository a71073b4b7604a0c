//! The served model: a smartcore random forest plus the metadata that describes it.

use crate::forest::FlatForest;
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_regressor::RandomForestRegressor;
use smartcore::linalg::basic::matrix::DenseMatrix;
use std::path::{Path, PathBuf};

/// The concrete smartcore forest type the service serves.
pub type Forest = RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>;

/// Version of the model file layout; bumped when [`Model`]'s serialized form changes.
pub const MODEL_FORMAT: u32 = 1;

/// Why a model could not be loaded, saved or evaluated.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read model file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write model file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("model file is not valid")]
    Parse(#[source] serde_json::Error),
    #[error("model file format {found} is not supported (expected {MODEL_FORMAT})")]
    Format { found: u32 },
    #[error("prediction failed: {0}")]
    Predict(String),
    #[error("cannot prepare the forest for serving")]
    Flatten(#[from] crate::forest::FlatForestError),
}

/// Hyper-parameters used for training; stored in the model file.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    /// Trees in the forest.
    pub n_trees: usize,
    /// Maximum tree depth.
    pub max_depth: u16,
    /// Minimum samples in a leaf.
    pub min_samples_leaf: usize,
    /// Fraction of rows held out for evaluation.
    pub test_fraction: f64,
    /// Seed for the train/test split and the forest's bootstrap.
    pub seed: u64,
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            n_trees: 100,
            max_depth: 8,
            min_samples_leaf: 3,
            test_fraction: 0.2,
            seed: 42,
        }
    }
}

/// Error of the model on rows it never saw during training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Holdout {
    /// Rows in the held-out set.
    pub rows: usize,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination.
    pub r2: f64,
    /// RMSE of always predicting the training mean, for scale.
    pub baseline_rmse: f64,
}

/// A fixed input and the prediction recorded for it at training time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferencePrediction {
    /// Feature values in the model's feature order.
    pub features: Vec<f64>,
    /// The model's output for them when it was trained.
    pub prediction: f64,
}

/// Everything about the model except the trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Short model name.
    pub name: String,
    /// Algorithm and library.
    pub algorithm: String,
    /// Dataset description, source and licence.
    pub dataset: String,
    /// Feature names in input order.
    pub features: Vec<String>,
    /// Name of the predicted quantity.
    pub target: String,
    /// Rows used for training.
    pub train_rows: usize,
    /// Hyper-parameters.
    pub params: TrainParams,
    /// Held-out evaluation.
    pub holdout: Holdout,
    /// Inputs and outputs recorded at training time; a loaded model must reproduce them.
    pub reference: Vec<ReferencePrediction>,
}

/// The serialized model file.
#[derive(Debug, Serialize, Deserialize)]
struct ModelFile {
    format: u32,
    meta: ModelMeta,
    forest: Forest,
}

/// A loaded model ready to predict.
#[derive(Debug)]
pub struct Model {
    meta: ModelMeta,
    /// smartcore's forest: the reference implementation.
    forest: Forest,
    /// The same trees laid out flat for serving.
    flat: FlatForest,
}

impl Model {
    /// Wraps a freshly trained forest.
    pub fn new(meta: ModelMeta, forest: Forest) -> Result<Self, ModelError> {
        let value = serde_json::to_value(&forest).map_err(ModelError::Parse)?;
        let flat = FlatForest::from_serialized(value, meta.features.len())?;
        Ok(Self { meta, forest, flat })
    }

    /// The model compiled into the binary (see [`crate::BUNDLED_MODEL_JSON`]).
    pub fn bundled() -> Result<Self, ModelError> {
        Self::from_json(crate::BUNDLED_MODEL_JSON)
    }

    /// Loads a model file written by `target-service train`.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Parses a model file's contents.
    pub fn from_json(text: &str) -> Result<Self, ModelError> {
        let file: ModelFile = serde_json::from_str(text).map_err(ModelError::Parse)?;
        if file.format != MODEL_FORMAT {
            return Err(ModelError::Format { found: file.format });
        }
        Self::new(file.meta, file.forest)
    }

    /// Writes the model file (pretty-printed metadata first, then the trees).
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let file = ModelFileRef {
            format: MODEL_FORMAT,
            meta: &self.meta,
            forest: &self.forest,
        };
        let text = serde_json::to_string(&file).map_err(ModelError::Parse)?;
        std::fs::write(path, text + "\n").map_err(|source| ModelError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Gives back the trees (used when training replaces the metadata).
    pub(crate) fn into_forest(self) -> Forest {
        self.forest
    }

    /// The model's description.
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// Feature names in input order.
    pub fn features(&self) -> &[String] {
        &self.meta.features
    }

    /// Checks that the model reproduces the predictions recorded when it was trained.
    pub fn self_check(&self) -> Result<(), ModelError> {
        for reference in &self.meta.reference {
            let got = self.predict(std::slice::from_ref(&reference.features), 0)?;
            if got.first().map(|g| g.to_bits()) != Some(reference.prediction.to_bits()) {
                return Err(ModelError::Predict(format!(
                    "reference input gave {got:?}, recorded {}",
                    reference.prediction
                )));
            }
        }
        Ok(())
    }

    /// Predicts one value per row. Every row must have `features().len()` values.
    ///
    /// `extra_work` evaluates the forest that many more times and discards the result: a
    /// deterministic CPU cost per request, so that an autoscaler has something to react to.
    pub fn predict(&self, rows: &[Vec<f64>], extra_work: u32) -> Result<Vec<f64>, ModelError> {
        let n = self.flat.n_features();
        if let Some(bad) = rows.iter().find(|r| r.len() != n) {
            return Err(ModelError::Predict(format!(
                "a row has {} values, the model takes {n}",
                bad.len()
            )));
        }
        let y: Vec<f64> = rows.iter().map(|row| self.flat.predict_row(row)).collect();
        for _ in 0..extra_work {
            for row in rows {
                std::hint::black_box(self.flat.predict_row(std::hint::black_box(row)));
            }
        }
        Ok(y)
    }

    /// Predicts with smartcore's own implementation (the reference the served path must match).
    pub fn predict_reference(&self, rows: &[Vec<f64>]) -> Result<Vec<f64>, ModelError> {
        let flat: Vec<f64> = rows.iter().flatten().copied().collect();
        let x = DenseMatrix::new(rows.len(), self.meta.features.len(), flat, false)
            .map_err(|e| ModelError::Predict(e.to_string()))?;
        self.forest
            .predict(&x)
            .map_err(|e| ModelError::Predict(e.to_string()))
    }
}

#[derive(Serialize)]
struct ModelFileRef<'a> {
    format: u32,
    meta: &'a ModelMeta,
    forest: &'a Forest,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_model_reproduces_predictions_recorded_at_training_time() {
        let model = Model::bundled().expect("bundled model loads");
        assert!(model.meta().reference.len() >= 5);
        let rows: Vec<Vec<f64>> = model
            .meta()
            .reference
            .iter()
            .map(|r| r.features.clone())
            .collect();
        let got = model.predict(&rows, 0).expect("predict");
        for (reference, got) in model.meta().reference.iter().zip(got) {
            assert_eq!(
                reference.prediction.to_bits(),
                got.to_bits(),
                "{reference:?}"
            );
        }
    }

    #[test]
    fn served_predictions_match_smartcore_bit_for_bit_on_every_dataset_row() {
        let model = Model::bundled().expect("bundled model loads");
        let data = crate::Dataset::from_csv(crate::BUNDLED_DATASET_CSV).expect("dataset");
        let served = model.predict(&data.rows, 0).expect("served");
        let reference = model.predict_reference(&data.rows).expect("smartcore");
        assert_eq!(served.len(), 442);
        for (i, (s, r)) in served.iter().zip(&reference).enumerate() {
            assert_eq!(
                s.to_bits(),
                r.to_bits(),
                "row {i}: served {s}, smartcore {r}"
            );
        }
    }

    #[test]
    fn rows_of_the_wrong_length_are_an_error_not_a_panic() {
        let model = Model::bundled().expect("bundled model loads");
        assert!(model.predict(&[vec![0.0; 3]], 0).is_err());
    }

    #[test]
    fn extra_work_does_not_change_the_answer() {
        let model = Model::bundled().expect("bundled model loads");
        let row = model.meta().reference[0].features.clone();
        let plain = model
            .predict(std::slice::from_ref(&row), 0)
            .expect("predict");
        let worked = model.predict(&[row], 7).expect("predict");
        assert_eq!(plain, worked);
    }

    #[test]
    fn unknown_format_is_rejected() {
        let text = crate::BUNDLED_MODEL_JSON.replacen("\"format\":1", "\"format\":99", 1);
        let err = Model::from_json(&text).expect_err("format 99 must be refused");
        assert!(matches!(err, ModelError::Format { found: 99 }), "{err}");
    }
}
