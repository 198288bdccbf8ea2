// GET /console (the page), its files, and GET /console/data (the snapshot every viewer polls).
// With ADMIN_TOKEN set, all of them require the token: the X-Admin-Token header, or a cookie
// that `/console?token=…` sets once so the page and its requests carry it from then on.
import type { Sql } from "../db/connect.ts";
import { HttpError, jsonResponse } from "../http/errors.ts";
import { ConsoleFeed, defaultFeedOptions, type FeedOptions } from "./console_feed.ts";
import { isAssetPath, loadAsset, MissingPackageError } from "./static_assets.ts";

export const consolePrefix = "/console";
const cookieName = "console_token";

export interface ConsoleDeps {
  sql: Sql;
  adminToken?: string;
  feed?: Partial<FeedOptions>;
}

export type ConsoleHandler = (req: Request, url: URL) => Promise<Response>;

export function isConsolePath(path: string): boolean {
  return path === consolePrefix || path.startsWith(`${consolePrefix}/`);
}

/** One per API instance: the feed it holds is what makes viewers share reads. */
export function createConsoleHandler(deps: ConsoleDeps): ConsoleHandler & { feed: ConsoleFeed } {
  const feed = new ConsoleFeed(deps.sql, { ...defaultFeedOptions, ...deps.feed });
  const handler = async (req: Request, url: URL): Promise<Response> => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      throw new HttpError(405, `${req.method} not allowed on ${url.pathname}`, { allow: "GET" });
    }
    const setCookie = authorize(req, url, deps.adminToken);
    const res = url.pathname === `${consolePrefix}/data`
      ? jsonResponse(200, await feed.snapshot(), { "cache-control": "no-store" })
      : await serveAsset(url.pathname);
    if (setCookie) res.headers.append("set-cookie", setCookie);
    return res;
  };
  return Object.assign(handler, { feed });
}

async function serveAsset(path: string): Promise<Response> {
  if (!isAssetPath(path)) throw new HttpError(404, `no route for ${path}`);
  try {
    const asset = await loadAsset(path);
    return new Response(asset.body, {
      headers: {
        "content-type": asset.contentType,
        "cache-control": asset.immutable ? "public, max-age=86400" : "no-cache",
      },
    });
  } catch (err) {
    if (err instanceof MissingPackageError) throw new HttpError(503, err.message);
    throw err;
  }
}

/** Throws 401 unless the request carries the token; returns a Set-Cookie to send, if any. */
function authorize(req: Request, url: URL, token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  const fromQuery = url.searchParams.get("token");
  const presented = req.headers.get("x-admin-token") ?? fromQuery ?? readCookie(req, cookieName);
  if (presented === null || !sameText(presented, token)) {
    throw new HttpError(401, "the console needs the admin token: open /console?token=…");
  }
  if (fromQuery === null) return undefined;
  return `${cookieName}=${encodeURIComponent(token)}; Path=${consolePrefix}; HttpOnly; ` +
    "SameSite=Strict";
}

function readCookie(req: Request, name: string): string | null {
  for (const part of (req.headers.get("cookie") ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) {
      try {
        return decodeURIComponent(value.join("="));
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** Compares in time independent of where the texts differ (the token is a secret). */
function sameText(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
