"""Progress bars: `tqdm.auto` (a widget in Jupyter, text elsewhere).

In a notebook without ipywidgets, `tqdm.auto` falls back to the text bar, which works, but warns
"IProgress not found" when it is imported; the fallback is what we want, so the import is quiet.
Install the `notebooks` extra for widget bars.
"""

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="IProgress not found")
    from tqdm.auto import tqdm

__all__ = ["tqdm"]
