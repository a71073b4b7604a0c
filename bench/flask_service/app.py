"""The usual course-project service, for comparison: Flask + scikit-learn + pandas.

A RandomForestRegressor of the same size as target-service's (100 trees, depth <= 8, min 3
samples per leaf) on the same diabetes dataset, which scikit-learn ships, trained at import.
POST /predict takes the pandas column form (or {"instances": [...]}) and answers
{"prediction": [...]}, as Flask course projects do. Run under gunicorn:

    gunicorn --workers 1 --bind 127.0.0.1:8082 app:app
"""

import os

import pandas as pd
from flask import Flask, jsonify, request
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor

_data = load_diabetes()
FEATURES = list(_data.feature_names)
MODEL = RandomForestRegressor(
    n_estimators=100, max_depth=8, min_samples_leaf=3, random_state=42, n_jobs=1
).fit(pd.DataFrame(_data.data, columns=FEATURES), _data.target)

app = Flask(__name__)
# Which replica answered (scaleproof's local replicas set POD_NAME), as a pod would say it.
SERVED_BY = os.environ.get("POD_NAME", "")


@app.after_request
def served_by(response):
    if SERVED_BY:
        response.headers["X-Served-By"] = SERVED_BY
    return response


@app.route("/predict", methods=["POST"])
def predict():
    payload = request.get_json(force=True)
    frame = pd.DataFrame(payload["instances"] if "instances" in payload else payload)
    prediction = MODEL.predict(frame[FEATURES])
    return jsonify({"prediction": [float(p) for p in prediction]})


@app.route("/health")
def health():
    return jsonify({"status": "ok"})
