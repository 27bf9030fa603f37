"""Tests of the ``julei image`` command, run as subprocesses."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

# Plain English messages whatever the machine's locale; no colour codes.
ENV = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"}
ENV.pop("LC_MESSAGES", None)
IMAGE_FILES = {"segmented.png", "labels.png", "palette.png", "palette.json", "boundaries.png"}


def julei(*args, cwd=None, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", "julei", "image", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=ENV,
        timeout=timeout,
    )


class Completed:
    """What `julei_here` returns: the fields of ``subprocess.CompletedProcess`` that tests read."""

    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def julei_here(capsys, monkeypatch):
    """Run ``julei image`` in this process: the same code path as the command, minus start-up."""
    from julei.cli import main

    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")

    def run(*args):
        capsys.readouterr()
        code = main(["image", *map(str, args)])
        captured = capsys.readouterr()
        return Completed(code, captured.out, captured.err)

    return run


def assert_one_error_line(process, *fragments):
    assert process.returncode == 1, process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def save_blobs(path, seed=0, size=(40, 60)):
    rng = np.random.default_rng(seed)
    height, width = size
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[: height // 2] = (200, 40, 40)
    pixels[height // 2 :, : width // 2] = (40, 180, 60)
    pixels[height // 2 :, width // 2 :] = (30, 60, 210)
    noisy = pixels.astype(int) + rng.integers(-5, 6, pixels.shape)
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path)
    return path


def test_single_image_writes_every_file(tmp_path):
    photo = save_blobs(tmp_path / "blobs.png")
    out = tmp_path / "out"
    process = julei(photo, "-k", "3", "--out", out)
    assert process.returncode == 0, process.stderr
    assert {path.name for path in out.iterdir()} == IMAGE_FILES | {"report.html", "summary.json", ".julei-results"}

    palette = json.loads((out / "palette.json").read_text(encoding="utf-8"))
    assert palette["n_colors"] == 3
    assert palette["source"] == "blobs.png"
    assert [color["share"] for color in palette["colors"]] == pytest.approx([0.5, 0.25, 0.25])
    assert palette["colors"][0]["hex"] in ("#c82828", "#c72828", "#c82829", "#c82728")

    with Image.open(out / "labels.png") as labels:
        assert labels.mode == "P"
        assert sorted(np.unique(np.asarray(labels))) == [0, 1, 2]
    with Image.open(out / "segmented.png") as segmented:
        assert segmented.size == (60, 40)
        assert len(segmented.getcolors()) == 3

    html = (out / "report.html").read_text(encoding="utf-8")
    assert "blobs.png" in html
    assert 'id="image-1"' in html
    assert "data:image/png;base64," in html
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["images"][0]["n_colors"] == 3
    assert summary["failed"] == []
    assert str(out) in process.stdout


def test_batch_folder_with_broken_file(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    save_blobs(folder / "one.png", seed=1)
    save_blobs(folder / "two.png", seed=2)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "readme.txt").write_text("not an image, not picked up")
    out = tmp_path / "out"

    process = julei(folder, "-k", "3", "--out", out)
    assert process.returncode == 1
    assert {path.name for path in out.iterdir()} == {"one", "two", "report.html", "summary.json", ".julei-results"}
    assert {path.name for path in (out / "one").iterdir()} == IMAGE_FILES
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [image["source"] for image in summary["images"]] == ["one.png", "two.png"]
    assert summary["failed"][0]["file"] == "broken.jpg"
    assert "broken.jpg" in process.stderr
    assert "1 image(s) failed: broken.jpg" in process.stderr
    assert 'id="failed"' in (out / "report.html").read_text(encoding="utf-8")


def test_batch_of_files_with_same_stem(tmp_path, julei_here):
    save_blobs(tmp_path / "shot.png")
    Image.open(tmp_path / "shot.png").save(tmp_path / "shot.bmp")
    out = tmp_path / "out"
    process = julei_here(tmp_path / "shot.png", tmp_path / "shot.bmp", "-k", "2", "--out", out, "--quiet")
    assert process.returncode == 0, process.stderr
    assert process.stdout == ""
    assert {path.name for path in out.iterdir()} == {"shot_png", "shot_bmp", "report.html", "summary.json", ".julei-results"}


def test_non_image_file_error(tmp_path):
    fake = tmp_path / "holiday.jpg"
    fake.write_text("definitely text")
    out = tmp_path / "out"
    process = julei(fake, "--out", out)
    assert_one_error_line(process, "'holiday.jpg' is not an image file")
    assert not out.exists()


def test_missing_file(tmp_path, julei_here):
    process = julei_here(tmp_path / "nowhere.png", "--out", tmp_path / "out")
    assert_one_error_line(process, "not found")
    assert not (tmp_path / "out").exists()


def test_all_images_failing_is_an_error(tmp_path, julei_here):
    (tmp_path / "a.png").write_text("x")
    (tmp_path / "b.png").write_text("y")
    out = tmp_path / "out"
    process = julei_here(tmp_path / "a.png", tmp_path / "b.png", "--out", out)
    assert process.returncode == 1
    assert "none of the 2 images could be processed" in process.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "args, fragment",
    [(["-k", "0"], "-k 0 is invalid"), (["-k", "lots"], "-k lots is invalid"), (["-k", "9..3"], "-k 9..3 is invalid")],
    ids=["zero", "word", "reversed-range"],
)
def test_invalid_k(tmp_path, args, fragment, julei_here):
    photo = save_blobs(tmp_path / "blobs.png")
    process = julei_here(photo, *args, "--out", tmp_path / "out")
    assert_one_error_line(process, fragment)


def test_existing_output_needs_force(tmp_path, julei_here):
    photo = save_blobs(tmp_path / "blobs.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("earlier results")
    process = julei_here(photo, "-k", "2", "--out", out)
    assert_one_error_line(process, "pass --force")
    process = julei_here(photo, "-k", "2", "--out", out, "--force", "--space", "lab")
    assert process.returncode == 0, process.stderr
    assert json.loads((out / "palette.json").read_text(encoding="utf-8"))["space"] == "lab"


def test_chinese_report_and_auto_k(tmp_path):
    photo = save_blobs(tmp_path / "blobs.png", size=(60, 60))
    out = tmp_path / "out"
    process = julei(photo, "-k", "2..5", "--lang", "zh", "--out", out)
    assert process.returncode == 0, process.stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in html
    assert "图像分割" in html
    assert "调色板" in html
    assert json.loads((out / "palette.json").read_text(encoding="utf-8"))["n_colors"] == 3
    assert "已分割 1 张图像" in process.stdout


def test_animated_gif_notice_and_transparency(tmp_path, julei_here):
    frames = [Image.new("RGBA", (12, 12), (255, 0, 0, 255)), Image.new("RGBA", (12, 12), (0, 0, 255, 255))]
    frames[0].paste((0, 0, 0, 0), (0, 0, 6, 12))
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0, disposal=2)
    out = tmp_path / "out"
    process = julei_here(gif, "-k", "2", "--out", out)
    assert process.returncode == 0, process.stderr
    assert "only the first one is used" in process.stderr
    with Image.open(out / "segmented.png") as segmented:
        alpha = np.asarray(segmented.convert("RGBA"))[:, :, 3]
    assert (alpha[:, :6] == 0).all()
    assert (alpha[:, 6:] == 255).all()


def test_help_lists_options(julei_here):
    process = julei_here("--help")
    assert process.returncode == 0
    for option in ("-k", "--space", "--spatial", "--out", "--force", "--quiet", "--seed", "--lang", "--max-megapixels"):
        assert option in process.stdout


def test_demo_image_job(tmp_path):
    from julei.cli.demo import DEMO_JOBS, data_file, run

    jobs = [job for job in DEMO_JOBS if job.command == "image"]
    assert len(jobs) == 1
    assert data_file(jobs[0].data).stat().st_size < 150_000
    [(job, output)] = run(out=tmp_path / "demo", lang="en", quiet=True, jobs=jobs)
    assert output.folder == (tmp_path / "demo" / "image").resolve()
    palette = json.loads((output.folder / "palette.json").read_text(encoding="utf-8"))
    assert palette["source"] == "coffee.jpg"
    assert palette["n_colors"] == 8
    assert (output.folder / "report.html").is_file()
