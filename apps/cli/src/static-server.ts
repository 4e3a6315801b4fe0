/*
 * A small static file server for a built page (the visualizer's dist/): GET and HEAD only, files
 * under the root only (no directory listings, nothing reached through `..` or a symlink out of
 * it), and each file with its content type. A `.gz` file is served as the bytes it holds
 * (`application/gzip`, no Content-Encoding), as the page expects for its bundled traces. Some
 * request paths may be answered from files elsewhere (`files`: the page's bundled traces).
 */
import { createReadStream, realpathSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, sep } from "node:path";

/** Content types by file extension; anything else is application/octet-stream. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".gz": "application/gzip",
  ".txt": "text/plain; charset=utf-8",
};

/** A server started by {@link serveDirectory}. */
export interface StaticServer {
  /** Where it answers: `http://HOST:PORT/`. */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Serves the files under `root` on `host`:`port` (port 0: any free port), and the request paths
 * of `files` (`/assets/x.gz`) from the files they map to, wherever those are.
 * @throws the listen error (`EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`, ...) as Node gives it
 */
export async function serveDirectory(root: string, host: string, port: number, files: ReadonlyMap<string, string> = new Map()): Promise<StaticServer> {
  const base = realpathSync(root);
  const server = createServer((request, response) => answer(base, files, request, response));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // a browser's kept-alive connections would hold the process open for seconds
        server.closeAllConnections();
      }),
  };
}

function answer(base: string, files: ReadonlyMap<string, string>, request: IncomingMessage, response: ServerResponse): void {
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" }).end("405 method not allowed\n");
    return;
  }
  const file = resolveFile(base, request.url ?? "/", files);
  if (file === null) {
    response.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("404 not found\n");
    return;
  }
  response.writeHead(200, {
    "Content-Type": CONTENT_TYPES[extname(file.path).toLowerCase()] ?? "application/octet-stream",
    "Content-Length": String(file.size),
    // the page itself may change with a rebuild; its assets carry a hash in their names
    "Cache-Control": file.path.endsWith(".html") ? "no-cache" : "max-age=3600",
  });
  if (request.method === "HEAD") {
    response.end();
    return;
  }
  createReadStream(file.path)
    .on("error", () => response.destroy())
    .pipe(response);
}

/**
 * The file a request path names: the one `files` maps it to, else the one under `base`; null when
 * there is none (outside `base`, missing, not a file, malformed).
 */
export function resolveFile(base: string, url: string, files: ReadonlyMap<string, string> = new Map()): { readonly path: string; readonly size: number } | null {
  let path: string;
  try {
    path = decodeURIComponent(new URL(url, "http://x").pathname);
  } catch {
    return null;
  }
  if (path.includes("\0")) return null;
  if (path.endsWith("/")) path += "index.html";
  const elsewhere = files.get(path);
  if (elsewhere !== undefined) return fileAt(elsewhere);
  let real: string;
  try {
    real = realpathSync(join(base, path));
  } catch {
    return null;
  }
  if (!real.startsWith(base + sep)) return null;
  return fileAt(real);
}

function fileAt(path: string): { readonly path: string; readonly size: number } | null {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat?.isFile() === true ? { path, size: stat.size } : null;
}
