"""Peak memory of ``datasets.validate(decode=True)`` on one long file (issue: a 2-hour 44.1 kHz
stereo WAV peaked at 3.75 GB when the whole file was decoded; the check now streams it).

    python benchmarks/bench_validate_memory.py [--minutes 120]

Writes the WAV to a temporary folder (16-bit PCM: ~1.3 GB for 2 hours), then validates it in
a child process and prints the child's peak RSS and the seconds it took.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

CHILD = """
import json, resource, sys, time
import pandas as pd
from mer_utils import datasets as D
t0 = time.perf_counter()
rep = D.validate(pd.DataFrame({"track_id": ["long"], "path": [sys.argv[1]]}), decode=True, raise_on_error=False)
print(json.dumps({"seconds": round(time.perf_counter() - t0, 1), "problems": len(rep),
                  "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)}))
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=120.0)
    args = ap.parse_args(argv)
    sr = 44100
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        with sf.SoundFile(str(path), "w", samplerate=sr, channels=2, subtype="PCM_16") as f:
            t = np.arange(60 * sr) / sr
            minute = (0.2 * np.sin(2 * np.pi * 220 * t))[:, None].repeat(2, axis=1)
            for _ in range(int(args.minutes)):
                f.write(minute)
        size = path.stat().st_size / 2**30
        out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
        res = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{args.minutes:.0f}-min 44.1 kHz stereo WAV ({size:.2f} GiB): validate(decode=True) "
          f"{res['seconds']} s, peak RSS {res['peak_rss_gib']} GiB, problems found {res['problems']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
