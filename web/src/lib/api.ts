// The admin API client: new-api's envelope {success, message, data}, the session cookie, and
// the New-Api-User header every signed-in call must carry.

export class ApiError extends Error {}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  page_size: number;
}

const USER_KEY = "relay.user";

export function storedUserId(): number | null {
  const raw = localStorage.getItem(USER_KEY);
  return raw ? Number(raw) : null;
}

export function rememberUser(id: number | null): void {
  if (id === null) localStorage.removeItem(USER_KEY);
  else localStorage.setItem(USER_KEY, String(id));
}

type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** One call; resolves to the whole JSON body (some routes answer without the envelope). */
export async function raw<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = {};
  const uid = storedUserId();
  if (uid !== null) headers["New-Api-User"] = String(uid);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp: Response;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError("Network error: the admin API did not answer");
  }
  if (resp.status === 429) throw new ApiError("Too many requests, try again shortly");
  let json: unknown;
  try {
    json = await resp.json();
  } catch {
    throw new ApiError(`HTTP ${resp.status}`);
  }
  if (resp.status === 401) {
    window.dispatchEvent(new Event("relay:unauthorized"));
  }
  return json as T;
}

/** One enveloped call: the data, or an ApiError carrying the API's message. */
export async function call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const json = await raw<{ success?: boolean; message?: string; data?: T }>(method, path, body);
  if (!json || json.success !== true) {
    throw new ApiError(json?.message || "Request failed");
  }
  return json.data as T;
}

export const api = {
  get: <T>(path: string, query?: Query) => call<T>("GET", withQuery(path, query)),
  post: <T>(path: string, body?: unknown) => call<T>("POST", path, body ?? {}),
  put: <T>(path: string, body?: unknown) => call<T>("PUT", path, body ?? {}),
  del: <T>(path: string) => call<T>("DELETE", path),
};

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
