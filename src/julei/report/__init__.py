"""Reports: a job's result object to one self-contained HTML page, and its figures.

`julei.report.render.render_html` renders a template of ``templates/`` in a language;
`julei.report.figures` embeds matplotlib figures (as inline SVG, text kept as text) and
images; `julei.report.plots` builds the figures themselves.
"""
