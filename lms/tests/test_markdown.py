from lms.markdown import render_markdown


def test_markdown_renders_headings_emphasis_lists_and_code():
    html = render_markdown(
        "## Steps\n\n1. *Listen*\n2. **Count**\n\n```\nfive six seven eight\n```"
    )

    assert '<h2 id="steps">Steps</h2>' in html
    assert "<li><em>Listen</em></li>" in html
    assert "<strong>Count</strong>" in html
    assert "<pre><code>five six seven eight\n</code></pre>" in html


def test_script_tags_and_event_handlers_are_removed():
    html = render_markdown(
        'Hello <script>alert("x")</script><img src="/a.png" onerror="alert(1)">'
        '<a href="#" onclick="steal()">link</a><iframe src="https://evil.test"></iframe>'
    )

    assert "<script" not in html and "alert(" not in html
    assert "onerror" not in html and "onclick" not in html and "<iframe" not in html
    assert '<img src="/a.png">' in html


def test_javascript_links_lose_their_href_and_links_get_a_safe_rel():
    html = render_markdown("[bad](javascript:alert(1)) and [good](https://example.com)")

    assert "javascript:" not in html
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">good</a>' in html


def test_style_attributes_and_tags_are_removed():
    html = render_markdown('<p style="position:fixed">x</p><style>body{display:none}</style>')

    assert "style" not in html
    assert "<p>x</p>" in html


def test_empty_text_renders_nothing():
    assert render_markdown("") == ""
