"""One package per upstream kind; `registry` maps channel types to them."""
