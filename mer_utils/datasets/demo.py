"""The embedded demo corpus: seeded, music-like clips whose emotion is set by musical cues.

Why: the real data sets are gated or large, yet every pipeline of the compendium must have
something *learnable* on a fresh, offline machine. Each clip is synthesised from a latent
(valence, arousal) point in [-1, 1]^2:

* arousal  -> tempo, note density, loudness, percussion level, brightness (harmonics)
* valence  -> mode (major/minor, probabilistic), consonance vs dissonant intervals, register

Nuisance factors vary *within* a class so that it is not trivial: per-"artist" timbre
(harmonic profile, attack/decay), key, tempo jitter, background noise, a little reverb,
and the annotations themselves are the latent point plus annotator noise, so clips near
the axes can carry the "wrong" quadrant, as in real data.

Four *sources* mimic the real data sets of the multi-source paper: ``4q`` (quadrant only,
~30 s), ``pmemo`` (V/A in [0, 1], choruses 10-90 s), ``deam`` (V/A on 1-9, 45 s) and
``bimodal`` (V/A in [-4, 4] with rating std, ~30 s). Labels are converted to quadrants
with the same rules as the real data (mer_utils.labels), so the merge has work to do.

The corpus is written once per (profile size, seed, generator version) under
``data/cache/demo/`` and reused.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from mer_utils import labels as L

GENERATOR_VERSION = 3

# Tag pools: mood tags tied to a quadrant (weights ~ real frequency ordering) and theme tags
# independent of V/A. All are real MTG-Jamendo mood/theme tags.
_MOOD_TAGS = {
    "Q1": {"happy": 6, "energetic": 6, "upbeat": 3, "fun": 3, "positive": 3, "party": 2,
           "uplifting": 3, "groovy": 2, "summer": 2, "funny": 1, "sport": 1, "fast": 2},
    "Q2": {"powerful": 4, "dark": 3, "action": 3, "dramatic": 3, "epic": 4, "heavy": 2,
           "horror": 1, "trailer": 2, "fast": 2, "sport": 1, "energetic": 2},
    "Q3": {"sad": 5, "melancholic": 4, "emotional": 5, "dark": 2, "deep": 3, "drama": 2,
           "slow": 2, "ballad": 2, "dramatic": 1},
    "Q4": {"calm": 6, "relaxing": 5, "soft": 3, "meditative": 3, "mellow": 1, "romantic": 3,
           "dream": 2, "hopeful": 2, "love": 3, "nature": 1, "slow": 2},
}
_THEME_TAGS = {"film": 8, "background": 5, "corporate": 3, "advertising": 2, "documentary": 2,
               "children": 2, "christmas": 1, "game": 2, "travel": 1, "space": 1, "retro": 1,
               "commercial": 2, "movie": 3, "holiday": 1, "soundscape": 1, "ambiental": 1,
               "adventure": 2, "motivational": 2, "inspiring": 3, "sexy": 1, "cool": 1,
               "melodic": 3}

_GENRES = ("rock", "electronic", "classical", "pop", "ambient", "folk")

_SOURCES = {
    # name: (duration sampler, label kind)
    "4q": "quadrant",
    "pmemo": "va01",
    "deam": "va19",
    "bimodal": "va44",
}


def _duration(source: str, rng: np.random.Generator) -> float:
    if source == "4q":        # 30-s previews, a few shorter (down to ~10 s)
        return float(30.0 if rng.random() < 0.85 else rng.uniform(10, 30))
    if source == "pmemo":     # choruses of varying length
        return float(rng.uniform(10, 90))
    if source == "deam":      # 45-s clips
        return 45.0
    if source == "bimodal":
        return float(rng.uniform(20, 35))
    raise KeyError(source)


# --------------------------------------------------------------------------- synthesis
_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
_MINOR = np.array([0, 2, 3, 5, 7, 8, 10])


def _artist_timbre(artist_rng: np.random.Generator) -> dict:
    n_h = 12
    tilt = artist_rng.uniform(0.6, 1.6)
    amps = (1.0 / np.arange(1, n_h + 1) ** tilt) * artist_rng.uniform(0.4, 1.0, n_h)
    if artist_rng.random() < 0.4:            # clarinet-like: odd harmonics
        amps[1::2] *= 0.2
    return {"amps": amps, "attack": artist_rng.uniform(0.003, 0.06),
            "decay": artist_rng.uniform(1.5, 6.0), "genre": _GENRES[artist_rng.integers(len(_GENRES))],
            "pad": artist_rng.uniform(0.1, 0.5), "detune": artist_rng.uniform(0.0, 0.004)}


def _tone(freq: float, dur: float, sr: int, amps: np.ndarray, n_harm: int, attack: float,
          decay: float, detune: float, rng: np.random.Generator) -> np.ndarray:
    # Wavetable synthesis: one period with the harmonics below Nyquist, read at the note's
    # phase increment (an order of magnitude faster than summing sines per sample).
    n = max(int(dur * sr), 16)
    t = np.arange(n) / sr
    k = np.arange(1, n_harm + 1)
    k = k[freq * k < sr / 2 * 0.9]
    if len(k) == 0:
        return np.zeros(n)
    size = 2048
    grid = np.arange(size) / size
    ph = rng.uniform(0, 2 * np.pi, len(k))
    table = (amps[k - 1, None] * np.sin(2 * np.pi * k[:, None] * grid + ph[:, None])).sum(0)
    idx = (np.arange(n) * (freq * (1 + detune) * size / sr)).astype(np.int64) % size
    sig = table[idx]
    env = np.minimum(1.0, t / attack) * np.exp(-t * decay / max(dur, 0.05))
    return sig * env


def synth_clip(valence: float, arousal: float, duration: float, sr: int, timbre: dict,
               rng: np.random.Generator) -> np.ndarray:
    """Synthesise one clip from latent valence/arousal in [-1, 1] and an artist timbre."""
    n = int(duration * sr)
    y = np.zeros(n + sr)
    # --- arousal cues (with jitter)
    tempo = float(np.clip(92 + 38 * arousal + rng.normal(0, 10), 50, 190))
    beat = 60.0 / tempo
    density = int(np.clip(np.round(2 ** (1 + arousal + rng.normal(0, 0.45))), 1, 4))  # notes per beat
    loud = 10 ** ((-14 + 8 * arousal + rng.normal(0, 2)) / 20)
    n_harm = int(np.clip(round(6 + 5 * arousal + rng.normal(0, 1.5)), 2, 12))
    perc = float(np.clip(0.55 + 0.5 * arousal + rng.normal(0, 0.15), 0, 1.0))
    # --- valence cues
    major = rng.random() < 1 / (1 + np.exp(-4 * valence))
    scale = _MAJOR if major else _MINOR
    dissonance = float(np.clip(-0.8 * valence + rng.normal(0, 0.15), 0, 1))
    register = 57 + int(round(7 * valence + rng.normal(0, 3)))        # MIDI of tonic
    key = int(rng.integers(0, 12))
    tonic = register + key - 6

    def midi_hz(m):
        return 440.0 * 2 ** ((m - 69) / 12)

    # chord progression (pads): I-VI-IV-V (major) / i-VI-iv-v (minor) shuffled a little
    degrees = [0, 5, 3, 4] if rng.random() < 0.5 else [0, 3, 4, 0]
    bar = 4 * beat
    n_bars = int(np.ceil(duration / bar))
    amps = timbre["amps"]
    pads: dict[tuple, np.ndarray] = {}
    for b in range(n_bars):
        deg = degrees[b % len(degrees)]
        root = tonic - 12 + scale[deg % 7]
        chord = [root, root + (scale[(deg + 2) % 7] - scale[deg % 7]) % 12,
                 root + (scale[(deg + 4) % 7] - scale[deg % 7]) % 12]
        if rng.random() < dissonance:     # dissonant cluster: minor second / tritone
            chord.append(root + rng.choice([1, 6, 11]))
        start = int(b * bar * sr)
        key_ = tuple(chord)
        if key_ not in pads:   # a progression repeats: render each distinct chord once
            pads[key_] = sum(_tone(midi_hz(m), bar, sr, amps, max(2, n_harm // 2), 0.05, 1.0,
                                   timbre["detune"], rng) for m in chord)
        seg = pads[key_]
        y[start:start + len(seg)] += timbre["pad"] * 0.35 * seg[: len(y) - start]
    # melody
    t = 0.0
    step = beat / density
    deg = 0
    while t < duration:
        deg = int(np.clip(deg + rng.choice([-2, -1, -1, 0, 1, 1, 2]), -3, 10))
        m = tonic + 12 * (deg // 7) + scale[deg % 7]
        if dissonance > 0.3 and rng.random() < 0.35 * dissonance:
            m += rng.choice([1, -1, 6])
        dur = step * rng.choice([1, 1, 1, 2])
        seg = _tone(midi_hz(m), dur * 1.2, sr, amps, n_harm, timbre["attack"], timbre["decay"],
                    timbre["detune"], rng)
        s = int(t * sr)
        y[s:s + len(seg)] += rng.uniform(0.6, 1.0) * seg[: len(y) - s]
        t += dur
    y /= np.max(np.abs(y)) + 1e-9
    # percussion: kick on beats, noise hats on off-beats, level from arousal
    if perc > 0.05:
        kick_len = int(0.12 * sr)
        tk = np.arange(kick_len) / sr
        kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-tk * 30)) * tk) * np.exp(-tk * 25)
        hat_len = int(0.04 * sr)
        for i in range(int(duration / beat)):
            s = int(i * beat * sr)
            y[s:s + kick_len] += perc * 0.8 * kick[: len(y) - s]
            if density >= 2:
                h = s + int(beat * sr / 2)
                noise = rng.normal(0, 1, hat_len) * np.exp(-np.arange(hat_len) / (0.008 * sr))
                y[h:h + hat_len] += perc * 0.25 * noise[: max(0, len(y) - h)]
    # room: one short feedback echo, then background noise
    d = int(rng.uniform(0.03, 0.09) * sr)
    y[d:] += rng.uniform(0.1, 0.3) * y[:-d]
    y = y[:n]
    y = y / (np.max(np.abs(y)) + 1e-9) * loud
    y += rng.normal(0, 10 ** (rng.uniform(-62, -45) / 20), n)
    return np.clip(y, -1, 1).astype(np.float32)


# --------------------------------------------------------------------------- annotations
def _latent_in_quadrant(q: str, rng: np.random.Generator) -> tuple[float, float]:
    sv, sa = L.quadrant_to_va_signs(q)
    # mostly clearly inside the quadrant, sometimes close to an axis
    v = sv * float(np.clip(rng.beta(1.6, 1.6), 0.03, 1.0))
    a = sa * float(np.clip(rng.beta(1.6, 1.6), 0.03, 1.0))
    return v, a


def _annotate(source: str, v: float, a: float, rng: np.random.Generator) -> dict:
    """Native-scale annotations = latent + annotator noise (quadrant derived like the real sets)."""
    noise = 0.15
    va_obs = np.clip([v + rng.normal(0, noise), a + rng.normal(0, noise)], -1, 1)
    if source == "4q":
        # 4Q has categorical labels (majority of AllMusic tag mapping), no numeric V/A
        q = L.quadrant_from_va([va_obs[0]], [va_obs[1]], 0.0)[0]
        return {"valence": np.nan, "arousal": np.nan, "valence_std": np.nan,
                "arousal_std": np.nan, "quadrant": q}
    ds = {"pmemo": "pmemo", "deam": "deam", "bimodal": "bimodal"}[source]
    val, aro = L.from_unit_scale(va_obs, ds)
    lo, hi = L.VA_RANGES[ds]
    spread = (hi - lo) * rng.uniform(0.06, 0.22, 2)
    q = L.quadrant_for_dataset(ds, [val], [aro])[0]
    return {"valence": float(val), "arousal": float(aro), "valence_std": float(spread[0]),
            "arousal_std": float(spread[1]), "quadrant": q}


def _tags(q: str, rng: np.random.Generator) -> list[str]:
    moods = _MOOD_TAGS[q]
    names, w = list(moods), np.array(list(moods.values()), float)
    k_mood = int(rng.choice([1, 1, 2, 2, 3]))
    picked = list(rng.choice(names, size=min(k_mood, len(names)), replace=False, p=w / w.sum()))
    if rng.random() < 0.6:    # theme-like tags, independent of V/A
        tn, tw = list(_THEME_TAGS), np.array(list(_THEME_TAGS.values()), float)
        k_theme = int(rng.choice([1, 1, 2]))
        picked += list(rng.choice(tn, size=k_theme, replace=False, p=tw / tw.sum()))
    out = list(dict.fromkeys(picked))[:4]
    return out


# --------------------------------------------------------------------------- corpus
def _plan(clips_per_quadrant: int, sources: tuple[str, ...], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 7])
    n_artists = max(6, int(round(clips_per_quadrant * len(sources) * 4 / 5)))
    rows = []
    for source in sources:
        for q in L.QUADRANTS:
            for i in range(clips_per_quadrant):
                v, a = _latent_in_quadrant(q, rng)
                ann = _annotate(source, v, a, rng)
                artist = int(rng.integers(n_artists))
                tid = f"demo_{source}_{q}_{i:03d}"
                rows.append({"track_id": tid, "source": source, "latent_quadrant": q,
                             "valence_latent": v, "arousal_latent": a, **ann,
                             "artist": f"demo_artist_{artist:03d}",
                             "duration": round(_duration(source, rng), 2),
                             "tags": _tags(q, rng), "clip_seed": int(rng.integers(2**31))})
    df = pd.DataFrame(rows)
    df["label3"] = df["quadrant"].map(L.LABEL3_FROM_QUADRANT)
    return df


def _render(row: dict, path: Path, sr: int, seed: int) -> None:
    artist_rng = np.random.default_rng([seed, int(row["artist"].rsplit("_", 1)[1])])
    timbre = _artist_timbre(artist_rng)
    rng = np.random.default_rng(row["clip_seed"])
    y = synth_clip(row["valence_latent"], row["arousal_latent"], row["duration"], sr, timbre, rng)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.wav")
    sf.write(tmp, y, sr, subtype="PCM_16")
    os.replace(tmp, path)


def _genre(artist: str, seed: int) -> str:
    return _artist_timbre(np.random.default_rng([seed, int(artist.rsplit("_", 1)[1])]))["genre"]


def demo_dir(clips_per_quadrant: int, sources: tuple[str, ...], sr: int, seed: int,
             cache_dir: Path) -> Path:
    key = json.dumps([GENERATOR_VERSION, clips_per_quadrant, list(sources), sr, seed])
    h = hashlib.sha256(key.encode()).hexdigest()[:10]
    return Path(cache_dir) / "demo" / f"n{clips_per_quadrant}-sr{sr}-seed{seed}-{h}"


def generate_demo(clips_per_quadrant: int, sources: tuple[str, ...] = tuple(_SOURCES), *,
                  sr: int = 16000, seed: int = 0, cache_dir: Path | None = None,
                  n_jobs: int = 2) -> pd.DataFrame:
    """Generate (or reuse) the demo corpus and return its tidy table."""
    from mer_utils.config import CACHE_DIR

    unknown = set(sources) - set(_SOURCES)
    if unknown:
        raise ValueError(f"unknown demo sources {sorted(unknown)}; choose from {sorted(_SOURCES)}")
    out = demo_dir(clips_per_quadrant, tuple(sources), sr, seed, Path(cache_dir or CACHE_DIR))
    meta_path = out / "metadata.json"
    if meta_path.exists():
        return _read_table(out)
    plan = _plan(clips_per_quadrant, tuple(sources), seed)
    tmp_dir = out.with_name(out.name + f".tmp{os.getpid()}")
    if tmp_dir.exists():
        shutil.rmtree(tmp_dir)
    (tmp_dir / "audio").mkdir(parents=True)
    records = plan.to_dict("records")
    from joblib import Parallel, delayed

    Parallel(n_jobs=n_jobs)(
        delayed(_render)(r, tmp_dir / "audio" / f"{r['track_id']}.wav", sr, seed) for r in records)
    plan["genre"] = [_genre(a, seed) for a in plan["artist"]]
    plan["path"] = [f"audio/{t}.wav" for t in plan["track_id"]]
    (tmp_dir / "metadata.json").write_text(plan.to_json(orient="records", indent=1))
    if out.exists():           # another process finished first; keep theirs
        shutil.rmtree(tmp_dir)
    else:
        os.replace(tmp_dir, out)
    return _read_table(out)


def _read_table(folder: Path) -> pd.DataFrame:
    df = pd.read_json(folder / "metadata.json", orient="records")
    df["path"] = [str((folder / p).resolve()) for p in df["path"]]
    df["dataset"] = "demo"
    df["tags"] = [list(t) for t in df["tags"]]
    df["sr"] = int(sf.info(df["path"].iloc[0]).samplerate) if len(df) else 0
    for c in ("valence", "arousal", "valence_std", "arousal_std"):
        df[c] = df[c].astype(float)
    norm_v, norm_a = [], []
    for s, v, a in zip(df["source"], df["valence"], df["arousal"]):
        if s == "4q":
            norm_v.append(np.nan)
            norm_a.append(np.nan)
        else:
            norm_v.append(float(L.to_unit_scale([v], s)[0]))
            norm_a.append(float(L.to_unit_scale([a], s)[0]))
    df["valence_norm"], df["arousal_norm"] = norm_v, norm_a
    cols = ["track_id", "path", "dataset", "duration", "source", "sr", "quadrant", "valence",
            "arousal", "valence_std", "arousal_std", "valence_norm", "arousal_norm", "tags",
            "label3", "genre", "artist", "valence_latent", "arousal_latent", "latent_quadrant"]
    return df[cols]


def load_demo(profile="demo", seed: int = 0, *, cache_dir: Path | None = None) -> pd.DataFrame:
    """The demo corpus sized by ``profile`` (name or Profile)."""
    from mer_utils.config import Profile, get_profile

    p = profile if isinstance(profile, Profile) else get_profile(profile)
    return generate_demo(p.demo_clips_per_quadrant, tuple(p.demo_sources), sr=p.demo_sr,
                         seed=seed, cache_dir=cache_dir, n_jobs=p.n_jobs)
