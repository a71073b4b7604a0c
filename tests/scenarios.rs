//! Every shipped scenario file loads, and its corpora hold real rows of the dataset.

use scaleproof::scenario::BodySpec;
use scaleproof::scenario::Scenario;
use std::path::Path;

#[test]
fn every_file_in_scenarios_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("scenarios/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(!scenario.requests.is_empty());
            names.push(scenario.name);
        }
    }
    names.sort();
    assert_eq!(
        names,
        [
            "flask-boston",
            "flask-reference",
            "predict",
            "ramp-1k",
            "smoke"
        ]
    );
}

#[test]
fn the_boston_scenario_sends_exactly_the_course_apps_columns() {
    let s =
        Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/flask-boston.toml"))
            .expect("loads");
    assert_eq!(
        (s.requests[0].method.as_str(), s.requests[0].path.as_str()),
        ("POST", "/predict")
    );
    let BodySpec::Corpus { bodies, .. } = &s.requests[0].body else {
        panic!("a corpus")
    };
    assert_eq!(bodies.len(), 5);
    // pd.DataFrame(request.json) of each body is one row with the model's six columns.
    for body in bodies.iter() {
        let json: serde_json::Value = serde_json::from_slice(body).expect("json");
        let columns = json.as_object().expect("column form");
        let mut names: Vec<&str> = columns.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, ["B", "CHAS", "LSTAT", "PTRATIO", "RM", "TAX"]);
        for values in columns.values() {
            let rows = values.as_object().expect("index → value");
            assert_eq!(rows.keys().collect::<Vec<_>>(), ["0"]);
            assert!(rows["0"].is_number());
        }
    }
    // The README example of the app is the first row.
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&bodies[0]).expect("json"),
        serde_json::json!({"CHAS":{"0":0},"RM":{"0":6.575},"TAX":{"0":296.0},
                           "PTRATIO":{"0":15.3},"B":{"0":396.9},"LSTAT":{"0":4.98}})
    );
}

#[test]
fn the_builtin_scenario_is_scenarios_predict_toml() {
    let builtin = Scenario::builtin();
    let file =
        Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/predict.toml"))
            .expect("loads");
    assert_eq!(builtin.name, file.name);
    assert_eq!(builtin.requests, file.requests);
}

#[test]
fn corpora_rotate_real_dataset_rows_in_both_payload_forms() {
    let data =
        target_service::Dataset::from_csv(target_service::BUNDLED_DATASET_CSV).expect("dataset");
    let model = target_service::Model::bundled().expect("model");
    for (scenario, columns) in [("predict.toml", false), ("flask-reference.toml", true)] {
        let s = Scenario::load(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("scenarios")
                .join(scenario),
        )
        .expect("loads");
        let BodySpec::Corpus { bodies, .. } = &s.requests[0].body else {
            panic!("{scenario} rotates a corpus")
        };
        assert_eq!(
            bodies.len(),
            data.len(),
            "{scenario}: one body per dataset row"
        );
        for (body, row) in bodies.iter().zip(&data.rows).step_by(37) {
            let parsed =
                target_service::parse_rows(body, model.features()).expect("the service accepts it");
            assert_eq!(parsed, vec![row.clone()], "{scenario}");
            let json: serde_json::Value = serde_json::from_slice(body).expect("json");
            assert_eq!(
                json.get("instances").is_none(),
                columns,
                "{scenario}: payload form"
            );
        }
    }
}
