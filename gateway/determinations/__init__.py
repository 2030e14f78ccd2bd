"""Determinations on stored households: assessing them from their recorded economic situation,
recording the decision, and the yearly review."""
