"""The results gallery (notebook 90): summary lines, the manifests table, the figure list."""
import json

import numpy as np
import pandas as pd

from mer_utils import results_gallery as gallery


def test_gallery_summary_counts_and_median_delta():
    t = pd.DataFrame({"row": ["a", "a", "b"], "metric": ["f1", "acc", "f1"],
                      "paper": [0.5, np.nan, 0.7], "reproduced": [0.4, 0.6, 0.9]})
    out = gallery.gallery_summary({"x_table": t}).set_index("table").loc["x_table"]
    assert (out["rows"], out["numbers"], out["with_paper_value"], out["reproduced"]) == (2, 3, 2, 3)
    assert np.isclose(out["median |delta|"], np.median([0.1, 0.2]))
    assert gallery.gallery_summary({}).empty


def _manifest(folder, name, **d):
    (folder / name).mkdir(parents=True)
    (folder / name / "manifest.json").write_text(json.dumps(d))


def test_manifest_table_has_no_empty_text_and_names_an_unreadable_file(tmp_path):
    m = tmp_path / "manifests"
    _manifest(m, "40_velankar_crnn", notebook="40_velankar_crnn", git_commit="abcdef1234567890",
              backend={"keras_backend": "torch"}, data_sources={"4q": "/data/4q"},
              substitutions=[{"what": "VGGish", "used": "musicnn_msd"}], skipped=[1, 2])
    _manifest(m, "90_results", notebook="90_results")
    (m / "broken").mkdir()
    (m / "broken" / "manifest.json").write_text("{not json")
    tab = gallery.manifest_table(tmp_path).set_index("notebook")
    assert tab.loc["40_velankar_crnn", "substitutions"] == "VGGish -> musicnn_msd"
    assert tab.loc["40_velankar_crnn", "backend"] == "torch"
    assert tab.loc["40_velankar_crnn", "skipped inputs"] == 2
    assert tab.loc["90_results", "data"] == gallery.EMPTY          # never an empty string (NaN on reread)
    assert "broken" in tab.loc["broken", "data"] and "unreadable" in tab.loc["broken", "data"]
    path = tmp_path / "t.csv"
    tab.reset_index().to_csv(path, index=False)
    assert not pd.read_csv(path)[["data", "substitutions", "backend"]].isna().any().any()


def test_figures_skip_the_gallery_own(tmp_path):
    for n in ("b.png", "a.png", "90_x.png", "c.txt"):
        (tmp_path / n).write_bytes(b"")
    assert [f.name for f in gallery.figures(tmp_path)] == ["a.png", "b.png"]
