"""The deterministic synthetic data set (`lig demo load`, `lig serve --demo`)."""
