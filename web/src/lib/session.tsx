// Who is signed in, and the public status (setup done, sign-in switches, quota display).
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import type { ReactNode } from "react";
import { api, rememberUser, storedUserId } from "./api";
import { displayFromStatus } from "./quota";
import type { QuotaDisplay } from "./quota";

export interface Self {
  id: number;
  username: string;
  display_name: string;
  role: number;
  status: number;
  group: string;
  quota: number;
  used_quota: number;
  request_count: number;
  /** The user's settings: a JSON object as text (notifications, preferences). */
  setting?: string;
}

export type Status = Record<string, unknown> & { setup?: boolean };

interface Session {
  ready: boolean;
  status: Status | null;
  user: Self | null;
  display: QuotaDisplay;
  isAdmin: boolean;
  isRoot: boolean;
  signedIn: (id: number) => Promise<void>;
  signOut: () => Promise<void>;
  refresh: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export const ROLE_ADMIN = 10;
export const ROLE_ROOT = 100;

export function SessionProvider({ children }: { children: ReactNode }) {
  const [ready, setReady] = useState(false);
  const [status, setStatus] = useState<Status | null>(null);
  const [user, setUser] = useState<Self | null>(null);

  const loadSelf = useCallback(async () => {
    if (storedUserId() === null) {
      setUser(null);
      return;
    }
    try {
      setUser(await api.get<Self>("/api/user/self"));
    } catch {
      rememberUser(null);
      setUser(null);
    }
  }, []);

  const refresh = useCallback(async () => {
    const [st] = await Promise.all([api.get<Status>("/api/status").catch(() => null), loadSelf()]);
    setStatus(st);
  }, [loadSelf]);

  useEffect(() => {
    refresh().finally(() => setReady(true));
    const drop = () => {
      rememberUser(null);
      setUser(null);
    };
    window.addEventListener("relay:unauthorized", drop);
    return () => window.removeEventListener("relay:unauthorized", drop);
  }, [refresh]);

  const signedIn = useCallback(
    async (id: number) => {
      rememberUser(id);
      await refresh();
    },
    [refresh],
  );

  const signOut = useCallback(async () => {
    await api.get("/api/user/logout").catch(() => undefined);
    rememberUser(null);
    setUser(null);
  }, []);

  const value = useMemo<Session>(
    () => ({
      ready,
      status,
      user,
      display: displayFromStatus(status),
      isAdmin: (user?.role ?? 0) >= ROLE_ADMIN,
      isRoot: (user?.role ?? 0) >= ROLE_ROOT,
      signedIn,
      signOut,
      refresh,
    }),
    [ready, status, user, signedIn, signOut, refresh],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}
