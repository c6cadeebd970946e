"""The live expected-wait forecaster: a worker process runs the predictor, the views read its answers."""
