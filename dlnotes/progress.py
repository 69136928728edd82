"""The progress bar every training loop in dlnotes uses.

``tqdm.auto`` draws a notebook widget where ipywidgets is installed and a text bar elsewhere; on
import it warns ("IProgress not found") when ipywidgets is missing. The text bar works, so the
warning is silenced here, once, instead of in every module and notebook.
"""
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from tqdm.auto import tqdm

__all__ = ["tqdm"]
