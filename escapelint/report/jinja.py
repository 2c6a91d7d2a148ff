"""The one Jinja environment factory the HTML and Markdown reports share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from escapelint import __version__
from escapelint.report.categories import CATEGORIES, CATEGORY_BY_ID

if TYPE_CHECKING:
    import jinja2




def template_environment(folder: str, *, autoescape) -> jinja2.Environment:
    """The Jinja environment for escapelint/report/templates/FOLDER with what every report format shares:
    undefined names are errors, block tags leave no blank lines, the `thousands` filter, and the
    `version`, `categories` and `categories_by_id` globals. The format adds its own filters."""
    import jinja2  # here: the JSON-only path never renders a template

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("escapelint.report", f"templates/{folder}"),
        bytecode_cache=_compiled_templates(folder, jinja2),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["thousands"] = lambda n: f"{n:,}"
    env.globals["version"] = __version__
    env.globals["categories"] = CATEGORIES
    env.globals["categories_by_id"] = CATEGORY_BY_ID
    return env


def _compiled_templates(folder: str, jinja2):
    """Jinja's cache of compiled templates in the user's cache folder (issue 11: compiling the HTML
    templates took a tenth of a short audit). Jinja checks each template's source against its entry
    and replaces entries whole; the folder is per format and Jinja version, since the options of the
    environment are not part of its key."""
    from escapelint.user_cache import cache_directory

    directory = cache_directory("templates", f"{folder}-jinja{jinja2.__version__}")
    return None if directory is None else jinja2.FileSystemBytecodeCache(str(directory))
