"""Sphinx extension: drop repeated <script> entries from every page.

sphinx-thebe 0.3.1 registers its inline configuration (``const THEBE_JS_URL = ...``) both with
the application and with the builder, once with ``filename=None`` and once with ``''``, so every
page declared the constant twice and the browser raised "Identifier 'THEBE_JS_URL' has already
been declared". Two entries with the same file and attributes are the same script.
"""


def _dedupe(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (getattr(script, "filename", None) or "", tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # in place: the list is the builder's own, to which later handlers (MathJax) still add
    context["script_files"][:] = unique


def setup(app):
    # html-page-context is emitted with emit_firstresult: a handler that returns a value stops
    # the later ones, so run early (the duplicates are already in the context by then).
    app.connect("html-page-context", _dedupe, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
