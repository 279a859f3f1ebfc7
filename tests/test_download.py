import hashlib

import pytest

from mer_utils.download import DownloadError, fetch


def test_fetch_local_file_with_checksum_and_cache(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 5000)
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    dest = tmp_path / "cache" / "f.bin"
    assert fetch(src.as_uri(), dest, sha256=sha, what="test file") == dest
    assert dest.read_bytes() == src.read_bytes()
    src.unlink()  # cached: no access to the source any more
    assert fetch(src.as_uri(), dest, sha256=sha, what="test file") == dest


def test_fetch_resumes_partial_download(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(bytes(range(256)) * 40)
    dest = tmp_path / "f.bin"
    dest.with_name("f.bin.part").write_bytes(src.read_bytes()[:3000])
    fetch(src.as_uri(), dest, sha256=hashlib.sha256(src.read_bytes()).hexdigest(), what="t")
    assert dest.read_bytes() == src.read_bytes()


def test_checksum_mismatch_is_reported_and_nothing_kept(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"abc")
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        fetch(src.as_uri(), dest, sha256="0" * 64, what="t")
    assert not dest.exists() and not dest.with_name("f.bin.part").exists()


def test_offline_error_names_url_and_destination(tmp_path, monkeypatch):
    monkeypatch.setenv("MER_OFFLINE", "1")
    dest = tmp_path / "w.ckpt"
    with pytest.raises(DownloadError) as e:
        fetch("https://example.org/w.ckpt", dest, sha256=None, what="VGGish weights")
    msg = str(e.value)
    assert "VGGish weights" in msg and "https://example.org/w.ckpt" in msg and str(dest) in msg


def test_unreachable_url_gives_actionable_error(tmp_path):
    with pytest.raises(DownloadError, match="place it at"):
        fetch((tmp_path / "missing.bin").as_uri(), tmp_path / "d.bin", sha256=None, what="t")
