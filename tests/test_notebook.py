"""The tutorial notebook, executed top to bottom (nbclient) on the smoke-sized toy results that the
end-to-end workflow test builds (one shared run per session, tests/conftest.py::smoke_workflow)."""

from __future__ import annotations

import time

import pytest

from conftest import REPO

pytestmark = pytest.mark.workflow
NOTEBOOK = REPO / "notebooks" / "prompt_to_circuit.ipynb"


def _cell(nb, tag: str):
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"one cell tagged {tag!r} expected"
    return cells[0]


def _text(cell, mime: str) -> str:
    return "".join(o.get("data", {}).get(mime, "") for o in cell.outputs if o.output_type in ("display_data", "execute_result"))


@pytest.fixture(scope="module")
def executed(smoke_workflow, tmp_path_factory):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    mp = pytest.MonkeyPatch()
    mp.setenv("R1INTERP_RESULTS", str(smoke_workflow / "results"))
    mp.setenv("R1INTERP_CONFIGFILES", "smoke.yaml")
    mp.setenv("PYTHONPATH", str(REPO / "src"))
    mp.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    mp.delenv("ANTHROPIC_API_KEY", raising=False)
    try:
        t0 = time.time()
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(smoke_workflow)}}).execute()
        seconds = time.time() - t0
    finally:
        mp.undo()
    out = tmp_path_factory.mktemp("nb") / "executed.ipynb"
    nbformat.write(nb, out)
    return nbformat.read(out, as_version=4), seconds


def test_notebook_runs_in_under_five_minutes(executed):
    nb, seconds = executed
    assert seconds < 300, seconds
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


def test_graph_cell_produced_a_figure(executed):
    nb, _ = executed
    png = _text(_cell(nb, "graph-figure"), "image/png")
    assert len(png) > 5000  # base64 of a real plot, not an empty canvas


def test_feature_table_has_labels_or_summaries(executed):
    nb, _ = executed
    html = _text(_cell(nb, "feature-table"), "text/html")
    assert "<table" in html and "top_example" in html
    rows = html.count("<tr>")  # body rows (the header row carries a style attribute)
    assert rows >= 1
    # the toy run has no API key: every feature carries an automatic summary
    assert html.count("[auto] ") == rows, html[:2000]


def test_motif_cells_compare_signed_profiles_and_the_ffl_z(executed):
    """The triad SP of an attribution DAG has one degree of freedom under the layer null, so the
    notebook shows Z(030T) and compares the models on the signed profile."""
    nb, _ = executed
    html = _text(_cell(nb, "motif-profile"), "text/html")
    assert "030T" in html and "ffl_C1" in html and "amplification_chain" in html
    cell = _cell(nb, "motif-comparison")
    assert len(_text(cell, "image/png")) > 5000
    printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert "Z(030T):" in printed
