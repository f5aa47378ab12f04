"""Render a part of a page only on wide screens or only on phones (decided in the browser).

CSS `display` breakpoints (`rx.desktop_only`, `display=[...]`) build both layouts and hide one;
for long lists that doubles the work of every render. `MediaMatch` (our own few lines of React in
`media_match.jsx`) builds only the one that shows, and switches when the window crosses the
breakpoint.
"""

from __future__ import annotations

import reflex as rx

# The layout shows its sidebar (and tables) from 48em, Reflex's "md" breakpoint.
WIDE = "(min-width: 48em)"
NARROW = "(max-width: 47.99em)"


class MediaMatch(rx.Component):
    """Children are rendered only while `query` matches."""

    library = "$/public/" + rx.asset("media_match.jsx", shared=True)
    tag = "MediaMatch"

    query: rx.Var[str]


def wide_only(*children: rx.Component) -> rx.Component:
    return MediaMatch.create(*children, query=WIDE)


def narrow_only(*children: rx.Component) -> rx.Component:
    return MediaMatch.create(*children, query=NARROW)
