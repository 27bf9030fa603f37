"""Tests of julei.output: atomic writes and the record of a run's result files."""

from julei.output import RESULTS_RECORD, atomic_write_text, replace_results_record


def test_record_removes_files_not_rewritten(tmp_path):
    for name in ("labels.csv", "report.html", "notes.txt"):
        (tmp_path / name).write_text("old")
    (tmp_path / RESULTS_RECORD).write_text("labels.csv\nreport.html\n")

    replace_results_record(tmp_path, ["report.html", "palette.png"])

    assert not (tmp_path / "labels.csv").exists()
    assert (tmp_path / "report.html").exists()
    # A file no julei run recorded is the user's and stays.
    assert (tmp_path / "notes.txt").exists()
    assert (tmp_path / RESULTS_RECORD).read_text() == "palette.png\nreport.html\n"


def test_record_removes_emptied_subfolders(tmp_path):
    (tmp_path / "photo").mkdir()
    (tmp_path / "photo" / "segmented.png").write_text("old")
    (tmp_path / RESULTS_RECORD).write_text("photo/segmented.png\n")

    replace_results_record(tmp_path, ["report.html"])

    assert not (tmp_path / "photo").exists()


def test_record_ignores_paths_outside_folder(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    outside = tmp_path / "precious.csv"
    outside.write_text("keep me")
    (folder / RESULTS_RECORD).write_text("../precious.csv\n")

    replace_results_record(folder, ["report.html"])

    assert outside.read_text() == "keep me"


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    atomic_write_text(tmp_path / "summary.json", "{}\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["summary.json"]
