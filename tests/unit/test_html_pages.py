"""Reading built HTML pages in the shapes four site generators write (tests/fixtures/sites):
only the main content, cut at headings with their anchors, at the page's canonical address;
code and tables readable; noindex, redirect and not-found pages skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat_api.retrieval.html_pages import page_passages, read_page

SITES = Path(__file__).resolve().parents[1] / "fixtures" / "sites"
# Words that appear only in the fixtures' navigation, sidebars, tables of contents, headers,
# footers, breadcrumbs, edit links, cookie banners and scripts.
BOILERPLATE_MARKERS = (
    "Sidebar",
    "sidebar",
    "TOC ",
    "Table of contents",
    "footer",
    "crumb",
    "navbar",
    "Falcon header",
    "Edit this page",
    "Edit on GitHub",
    "cookies",
    "Skip to",
    "Copy",
    "Previous",
    "On this page",
    "Search",
    "__md_scope",
    "jQuery",
    "--md-text-font",
    "Last update",
    "¶",
)
CONTENT_PAGES = {
    "mkdocs-material/install/index.html": (
        "Install",
        [("Install", ""), ("Requirements", "requirements"), ("Upgrading", "upgrading")],
    ),
    "docusaurus/docs/deploy/index.html": (
        "Deploying",
        [("Deploying", ""), ("Build the image", "build-the-image"), ("Environment", "environment")],
    ),
    "sphinx-rtd/usage.html": (
        "Usage",
        [("Installation", "installation"), ("Creating recipes", "creating-recipes")],
    ),
    "hugo/guide/configuration/index.html": (
        "Configuration",
        [
            ("Configuration", ""),
            ("The config file", "the-config-file"),
            ("Environment variables", "environment-variables"),
        ],
    ),
    "hugo/posts/hello/index.html": (
        "Hello, Falcon 2.0",
        [("Hello, Falcon 2.0", ""), ("What's new", "whats-new")],
    ),
}


def _read(relative: str, url: str = "https://site.example/page/"):
    return read_page((SITES / relative).read_text("utf-8"), url)


@pytest.mark.parametrize("relative", sorted(CONTENT_PAGES))
def test_only_the_main_content_is_kept(relative):
    passages = page_passages(_read(relative))

    text = "\n".join(f"{p.title}\n{p.text}" for p in passages)
    assert passages
    assert [marker for marker in BOILERPLATE_MARKERS if marker in text] == []


@pytest.mark.parametrize("relative", sorted(CONTENT_PAGES))
def test_pages_are_cut_at_their_headings_each_with_its_anchor(relative):
    title, sections = CONTENT_PAGES[relative]

    page = _read(relative)

    assert page.title == title
    assert [(s.heading, s.anchor) for s in page.sections] == sections


def test_sphinx_sections_take_their_anchor_from_the_enclosing_section():
    page = _read("sphinx-rtd/usage.html", "https://lumache.example.io/en/latest/usage.html")

    urls = {p.url for p in page_passages(page)}

    assert urls == {
        "https://lumache.example.io/en/latest/usage.html#installation",
        "https://lumache.example.io/en/latest/usage.html#creating-recipes",
    }


def test_a_citation_url_is_the_canonical_page_and_the_section_anchor():
    passages = page_passages(_read("mkdocs-material/install/index.html"))

    assert [p.url for p in passages] == [
        "https://docs.example.com/install/",
        "https://docs.example.com/install/#requirements",
        "https://docs.example.com/install/#upgrading",
    ]
    assert passages[1].title == "Install: Requirements"
    assert passages[1].source == passages[1].url


def test_a_canonical_link_wins_over_the_address_the_page_was_read_at():
    page = _read("docusaurus/docs/deploy/index.html", "https://elsewhere.example/docs/deploy/")

    assert page.url == "https://rocket.example.org/docs/deploy"


def test_without_a_canonical_link_the_page_keeps_its_own_address():
    page = _read("hugo/guide/configuration/index.html", "https://falcon.example/guide/config/")

    assert page.url == "https://falcon.example/guide/config/"


def test_code_written_line_by_line_with_breaks_stays_one_line_per_line():
    page = _read("docusaurus/docs/deploy/index.html")

    build = next(s for s in page.sections if s.anchor == "build-the-image")

    assert (
        "```bash\ndocker build -t rocket .\ndocker push registry.example.org/rocket\n```"
        in build.text
    )


def test_a_code_block_keeps_its_lines_and_language():
    page = _read("hugo/guide/configuration/index.html")

    config = next(s for s in page.sections if s.anchor == "the-config-file")

    assert config.text == "```toml\nport = 8080\nworkers = 4\n```"


def test_a_table_reads_as_rows_of_cells():
    page = _read("docusaurus/docs/deploy/index.html")

    environment = next(s for s in page.sections if s.anchor == "environment")

    assert environment.text == (
        "| Variable | Meaning |\n| --- | --- |\n"
        "| ROCKET_PORT | the port to listen on |\n| ROCKET_LOG | the log level |"
    )


def test_list_items_keep_their_markers():
    page = _read("hugo/guide/configuration/index.html")

    variables = next(s for s in page.sections if s.anchor == "environment-variables")

    assert "- FALCON_PORT overrides port" in variables.text


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("docusaurus/search/index.html", "marked noindex"),
        ("sphinx-rtd/search.html", "marked noindex"),
        ("mkdocs-material/old-install/index.html", "a redirect (meta refresh)"),
        ("mkdocs-material/404.html", "a not-found page"),
        ("docusaurus/404.html", "a not-found page"),
        ("hugo/404.html", "a not-found page"),
    ],
)
def test_pages_not_meant_for_readers_are_skipped_with_the_reason(relative, reason):
    page = _read(relative, f"https://site.example/{relative}")

    assert page.skip_reason == reason
    assert page_passages(page) == []


def test_a_redirect_keeps_its_own_address_not_its_target():
    relative = "mkdocs-material/old-install/index.html"

    page = _read(relative, "https://docs.example.com/old-install/")

    assert page.url == "https://docs.example.com/old-install/"


def test_a_page_about_not_found_errors_is_not_taken_for_a_not_found_page():
    html = (
        "<html><head><title>Handling 404 errors</title></head><body><main>"
        "<h1 id='handling'>Handling 404 errors</h1><p>Return a JSON body.</p></main></body></html>"
    )

    page = read_page(html, "https://site.example/errors/")

    assert page.skip_reason == ""
    assert page.sections[0].text == "Return a JSON body."
