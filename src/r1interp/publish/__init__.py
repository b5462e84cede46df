"""Release of a model's artefacts: the folder exactly as on the Hub, and its uploads."""
