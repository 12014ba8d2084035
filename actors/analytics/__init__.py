"""Analysis of what the store kept: the history of a window (``history.py``), its figures
(``summary.py``), exports as JSON and CSV (``exports.py``), and the HTML report."""
