"""The web console: the built single-page app (`web/dist`) served by the admin process at `/`.

Hashed files under `assets/` never change, so browsers may keep them for a year; `index.html`
names the current hashes, so it is revalidated on every load. Any other non-`/api` path is a
client-side route and gets `index.html` (the SPA fallback)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

log = logging.getLogger("relay.admin")

ASSET_CACHE = "public, max-age=31536000, immutable"
PAGE_CACHE = "no-cache"
NOT_BUILT = "The web console is not built: run `cd web && npm ci && npm run build`.\n"


def console_dirs() -> tuple[Path, ...]:
    """Where a built console may be: the checkout of an editable install, the checkout `relay
    serve` runs in (the README's set-up), or an installed relay's data files
    (`<prefix>/share/relay/web`, where the Docker image puts it)."""
    checkout = Path(__file__).resolve().parents[2] / "web" / "dist"
    return (checkout, Path.cwd() / "web" / "dist", Path(sys.prefix) / "share" / "relay" / "web")


def find_console() -> Path | None:
    return next((d for d in console_dirs() if (d / "index.html").is_file()), None)


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def console_handler(root: Path | None) -> Handler:
    """GET handler for every path the API routes did not take."""
    base = root.resolve() if root is not None else None

    async def serve(request: web.Request) -> web.StreamResponse:
        if _is_api(request.path):
            return web.json_response({"success": False, "message": "not found"}, status=404)
        if base is None:
            return web.Response(status=404, text=NOT_BUILT)
        relative = request.match_info["path"]
        target = (base / relative).resolve()
        if relative and target.is_relative_to(base) and target.is_file():
            cache = ASSET_CACHE if target.parent == base / "assets" else PAGE_CACHE
            return web.FileResponse(target, headers={"Cache-Control": cache})
        if relative.startswith("assets/"):
            return web.Response(status=404, text="not found\n")
        return web.FileResponse(base / "index.html", headers={"Cache-Control": PAGE_CACHE})

    return serve


def add_console(app: web.Application, root: Path | None = None) -> None:
    """Register the console after every API route (aiohttp matches routes in order)."""
    found = root if root is not None else find_console()
    if found is None:
        log.warning("web console not found in %s", ", ".join(map(str, console_dirs())))
    app.router.add_get("/{path:.*}", console_handler(found))
