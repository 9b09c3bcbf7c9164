"""`nsm report`: one self-contained HTML file, checked as text and in a real browser."""

from __future__ import annotations

import html
import json
import os
import re
import stat
import statistics

import pytest
from conftest import ROOT, TREES

ARTEFACTS = ROOT / "tests" / "artefacts"
# the root's value in the file's period, by hand (trees/README.md)
ROOT_VALUES = {"arpu": "4,200 元", "mau": "7,980 人", "funnel": "499,500 元",
               "journey": "77.22%", "orders": "700 元",
               "regions": "27 件"}
BUNDLED = sorted(p.stem for p in TREES.glob("*.yaml"))


def names(nsm, tree) -> list[str]:
    result = json.loads(nsm("eval", tree, "--format", "json").stdout)
    return [n["name"] for n in result["nodes"]] + [g["name"] for g in result["guardrails"]]


def test_the_bundled_trees_are_the_ones_with_known_root_values():
    assert sorted(ROOT_VALUES) == BUNDLED


def test_report_is_one_self_contained_file(nsm, tmp_path):
    out = tmp_path / "mau.html"
    run = nsm("report", TREES / "mau.yaml", "-o", out)
    assert run.code == 0, run.stderr
    assert run.stdout == ""
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for loading in ("http:", "https:", "<script", " src=", "@import", "url(", "<link", "<img"):
        assert loading not in page, loading
    assert "@page { size: A4 landscape" in page
    assert "7,980 人" in page and "MAU(月活跃客户数)" in page
    # the target's gap with its mark: 7,980 − 8,400 = −420, below an upward target
    assert "target 8,400 人 · ✗ −420 人" in page
    # why it moved: 7,696 → 7,980 (+284), largest contribution 上月活跃客户 +91.5
    assert "+284 人" in page and "+91.5" in page
    # the guardrail 投诉率 3.4% breaches max 3%; two alerts fire on it
    assert "✗ breached" in page and "2 fired of 6 checked" in page
    assert [p.name for p in tmp_path.iterdir()] == ["mau.html"]


def test_every_name_is_escaped(nsm, write, tmp_path):
    write("t.csv", "period,a,b\n2025-01,1,2\n2025-02,3,4\n")
    write("t.yaml", """
        version: 1
        name: "<b>tree</b>"
        data: {t: t.csv}
        root:
          id: r
          name: "Revenue <script>alert(1)</script> & \\"more\\""
          formula: a + b
          children:
            - {id: a, name: "A's <i>", source: t.a}
            - {id: b, name: B, source: t.b}
        """)
    run = nsm("report", "t.yaml", "-o", "out.html")
    assert run.code == 0, run.stderr
    page = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<i>" not in page and "<b>tree" not in page
    assert "Revenue &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;" in page
    assert "A&#x27;s &lt;i&gt;" in page


def test_a_warning_is_shown_and_the_report_still_written(nsm, write, tmp_path):
    """b is 0 in 2025-05, so a / b has no value there (W201): a warning, not a crash."""
    write("w.csv", "period,a,b\n2025-05,1,0\n2025-06,3,2\n")
    write("w.yaml", """
        name: w
        data: {d: w.csv}
        root:
          id: r
          formula: a / b
          children:
            - {id: a, source: d.a}
            - {id: b, source: d.b}
        """)
    run = nsm("report", "w.yaml", "-o", "out.html")
    assert (run.code, run.stdout) == (0, "")
    assert run.stderr == ("w.yaml:5:12: warning: formula of 'r' (a / b) gives no finite value "
                          "for period 2025-05: a division by zero, an overflow, or log/sqrt of "
                          "a negative number; the value is shown as missing [W201]\n"
                          "wrote out.html\n")
    page = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert '<div class="value">1.50</div>' in page   # 3 / 2 in 2025-06


def test_nothing_is_written_when_the_tree_is_invalid(nsm, write, tmp_path):
    write("bad.yaml", "version: 1\nroot: [1, 2\n")
    (tmp_path / "old.html").write_text("the previous report", encoding="utf-8")
    run = nsm("report", "bad.yaml", "-o", "old.html")
    assert run.code == 1
    assert run.stderr.startswith("bad.yaml:") and "Traceback" not in run.stderr
    assert (tmp_path / "old.html").read_text(encoding="utf-8") == "the previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "old.html"]


def test_a_missing_output_folder_is_a_usage_error(nsm, tmp_path):
    run = nsm("report", TREES / "mau.yaml", "-o", tmp_path / "no" / "r.html")
    assert run.code == 2 and run.stdout == ""
    assert "does not exist" in run.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_an_output_that_is_no_regular_file_is_refused_not_replaced(nsm, tmp_path):
    # `-o /dev/null` (or /dev/full) renamed the report over the device: as root, that
    # replaced the machine's /dev/null with an HTML file. A FIFO stands in for the device.
    pipe = tmp_path / "pipe.html"
    os.mkfifo(pipe)
    run = nsm("report", TREES / "mau.yaml", "-o", pipe)
    assert run.code == 2 and run.stdout == ""
    assert run.stderr == (f"nsm: error: --output {pipe}: is not a regular file (a device or a "
                          "FIFO, such as /dev/null); give a file name such as report.html\n")
    assert stat.S_ISFIFO(pipe.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.html"]


def test_a_scenario_report_says_so_and_explains_the_data(nsm, tmp_path):
    out = tmp_path / "r.html"
    run = nsm("report", TREES / "mau.yaml", "-o", out, "--scenario", "retention_first")
    assert run.code == 0, run.stderr
    page = out.read_text(encoding="utf-8")
    # 6,500 × 95% + 1,200 + 800 = 8,175; +195 against the base 7,980
    assert "8,175 人" in page and "scenario retention_first" in page
    assert "vs base: +195 人" in page
    assert "(the data, without the scenario)" in page


def test_the_first_period_has_nothing_to_explain(nsm, tmp_path):
    out = tmp_path / "r.html"
    run = nsm("report", TREES / "mau.yaml", "-o", out, "--period", "2025-04")
    assert run.code == 0, run.stderr
    assert "2025-04 is the first period in the data" in out.read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("tree", BUNDLED)
def test_report_in_headless_chromium(nsm, tmp_path, tree):
    from chromium import chromium, open_page, png_pixels

    if chromium() is None:
        pytest.fail("Chromium is missing: .ci/run installs it (apt-get install chromium)")
    out = tmp_path / f"{tree}.html"
    assert nsm("report", TREES / f"{tree}.yaml", "-o", out).code == 0
    page = open_page(str(out))
    ARTEFACTS.mkdir(exist_ok=True)
    (ARTEFACTS / f"report-{tree}.png").write_bytes(page.screenshot)
    (ARTEFACTS / f"report-{tree}.pdf").write_bytes(page.pdf)
    assert page.errors == []
    assert page.requests and all(url.startswith(("file:", "data:", "about:"))
                                 for url in page.requests), page.requests
    assert ROOT_VALUES[tree] in page.text
    dom = html.unescape(page.dom)
    for name in names(nsm, TREES / f"{tree}.yaml"):
        assert name in dom, name
    width, height, grey = png_pixels(page.thumbnail)
    assert width >= 200 and height >= 100
    assert statistics.pvariance(grey) > 200, "the page looks blank"
    # printed on A4 landscape (842 × 595 pt): the tree on one page, the tables on a second
    assert page.pdf.startswith(b"%PDF")
    assert re.findall(rb"/MediaBox \[0 0 (\d+)\.?\d* (\d+)", page.pdf)[0] == (b"841", b"594")
    assert int(re.search(rb"/Type /Pages\s*/Count (\d+)", page.pdf).group(1)) <= 2


def _levers_rows(page: str) -> list[str]:
    """The lever section's rows as `# | lever | value → stepped | Δ` text."""
    import re

    section = page[page.index("<h2>Levers"):]
    section = section[:section.index("</section>")]
    rows = re.findall(r"<tr>(.*?)</tr>", section)[1:]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]
    return [" | ".join(re.sub(r"<[^>]+>", "", cell) for cell in (c[0], c[1], c[3], c[4]))
            for c in cells]


@pytest.mark.parametrize(("args", "heading", "first"), [
    # retention 92% × 1.01 of 6,500 → +59.8 (tied with the 6,500 customers at +1%)
    ([], "one step (+1%) better", "1 | 上月活跃客户 | 6,500 → 6,565 | +59.8"),
    # --points: 92% → 93% of 6,500 customers = +65
    (["--points"], "one step (+1 pt for rates, +1% for others) better",
     "1 | 月留存率 | 92% → 93% | +65.0"),
    # 2pp turns points on: 6,500 × 2% = +130
    (["--step", "2pp"], "one step (+2 pt for rates, +2% for others) better",
     "1 | 月留存率 | 92% → 94% | +130.0"),
    # 2 is 2%: 6,500 × 2% = 130 customers × 92% = +119.6
    (["--step", "2"], "one step (+2%) better", "1 | 上月活跃客户 | 6,500 → 6,630 | +119.6"),
])
def test_report_ranks_levers_with_step_and_points_as_rank_levers(nsm, tmp_path, args, heading,
                                                                  first):
    out = tmp_path / "r.html"
    run = nsm("report", TREES / "mau.yaml", "-o", out, *args)
    assert (run.code, run.stdout, run.stderr) == (0, "", f"wrote {out}\n")
    page = out.read_text(encoding="utf-8")
    assert f"<h2>Levers: each leaf alone {heading}</h2>" in page
    assert _levers_rows(page)[0] == first


def test_report_refuses_a_bad_step_like_rank_levers(nsm, tmp_path):
    out = tmp_path / "r.html"
    run = nsm("report", TREES / "mau.yaml", "-o", out, "--step", "-1%")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr.startswith("nsm: error: --step -1%: ")
    assert not out.exists()


def test_report_by_segment_steps_the_segment_levers_too(nsm, tmp_path):
    import re

    def where_to_act(*args: str) -> list[str]:
        out = tmp_path / "r.html"
        run = nsm("report", TREES / "regions.yaml", "-o", out, "--by", "region", *args)
        assert (run.code, run.stdout) == (0, ""), run.stderr
        page = out.read_text(encoding="utf-8")
        section = page[page.index("Where to act"):]
        section = section[:section.index("</section>")]
        return re.findall(r'<td class="n">([+−-][0-9.]+)</td>', section)

    # a product of the leaves: a 2% step of one leaf moves its region's items by 2%, twice 1%
    one, two = where_to_act(), where_to_act("--step", "2")
    assert one[:2] == ["+0.15", "+0.13"] and two[:2] == ["+0.30", "+0.26"]
