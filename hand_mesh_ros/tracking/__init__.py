"""Per-track logic: confidence of a fitted hand, hold-on-doubt state machine, temporal filtering."""
