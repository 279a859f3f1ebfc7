"""``python -m mer_utils.embeddings [DIR]``: fetch and convert the pretrained weights (where online)."""
import sys

from mer_utils.embeddings import setup_weights

for k, v in setup_weights(sys.argv[1] if len(sys.argv) > 1 else None).items():
    print(f"{k:16s} {v}")
