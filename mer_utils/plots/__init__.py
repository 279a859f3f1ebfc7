"""Figure helpers, one sub-module per kind of figure (data, classification, multilabel)."""
