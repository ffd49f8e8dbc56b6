"""HTML pages and the text on them: one Jinja2 layout (templates/base.html) shared by the
evaluation report and the sweep report, with every value escaped on the way in."""
