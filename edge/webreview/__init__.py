"""`edge review serve`: the review queue as a local web page.

    app.py       the Starlette app: the token guard, the routes, serving on loopback
    pages.py     what the pages show: the queue, one file's fields with their boxes, reasons and
                 candidates, and a submitted form turned into corrections
    images.py    the page images: PDF pages, TIFF frames, pictures, video keyframes
    templates/   Jinja2 pages; static/ the CSS and JS (served from the package: no CDN, works offline)

Saving goes through edge.review.accept, the same code path as `edge review accept`.
"""
