"""Check that every internal link of the built site resolves: each relative ``href`` or
``src`` of every HTML page names a file of the build, and each ``#fragment`` an ``id`` (or a
``name``) on the page it points to. External links (with a scheme) are not followed.

Usage: ``python docs/check_links.py docs/_build/html`` (``scripts/docs.sh`` runs it); exits 1
and lists every broken link.
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.anchors: set[str] = set()

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for key in ("id", "name"):
            if values.get(key):
                self.anchors.add(values[key])
        for key in ("href", "src"):
            if values.get(key) and not (tag == "link" and values.get("rel") in {"canonical"}):
                self.links.append(values[key])


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def broken_links(root: Path) -> list[str]:
    """Every internal link of the site under ``root`` that does not resolve, as text."""
    root = root.resolve()
    # the theme's _static/ holds Jinja templates (webpack-macros.html), not pages
    pages = {path: _parse(path) for path in root.rglob("*.html") if "_static" not in path.relative_to(root).parts}
    problems = []
    for path, page in pages.items():
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{path.relative_to(root)}: {link} (no file {target})")
                continue
            if parts.fragment and target.suffix == ".html":
                anchors = (pages.get(target) or _parse(target)).anchors
                if unquote(parts.fragment) not in anchors:
                    problems.append(f"{path.relative_to(root)}: {link} (no id {parts.fragment!r})")
    return problems


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "docs/_build/html")
    if not (root / "index.html").is_file():
        print(f"check_links: {root} holds no built site (index.html); run scripts/docs.sh", file=sys.stderr)
        return 2
    problems = broken_links(root)
    for line in problems:
        print(line, file=sys.stderr)
    n_pages = sum(1 for p in root.rglob("*.html") if "_static" not in p.relative_to(root).parts)
    print(f"check_links: {n_pages} pages, {len(problems)} broken internal links")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
