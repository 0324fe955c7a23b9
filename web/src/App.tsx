// Which page a path shows, and who may see it.
import { Redirect, Route, Switch } from "wouter";
import type { ComponentType, ReactNode } from "react";
import { Layout } from "./components/Layout";
import { useT } from "./lib/prefs";
import { useSession } from "./lib/session";
import { Channels } from "./pages/Channels";
import { Dashboard } from "./pages/Dashboard";
import { Login } from "./pages/Login";
import { Logs } from "./pages/Logs";
import { Profile } from "./pages/Profile";
import { Redemptions } from "./pages/Redemptions";
import { Register } from "./pages/Register";
import { Settings } from "./pages/Settings";
import { Setup } from "./pages/Setup";
import { Tokens } from "./pages/Tokens";
import { Users } from "./pages/Users";

function Forbidden() {
  const t = useT();
  return (
    <section className="card narrow">
      <h1>{t("Not allowed")}</h1>
      <p>{t("This page is for administrators.")}</p>
    </section>
  );
}

function Guard({ level, children }: { level: "admin" | "root"; children: ReactNode }) {
  const { isAdmin, isRoot } = useSession();
  const allowed = level === "root" ? isRoot : isAdmin;
  return allowed ? <>{children}</> : <Forbidden />;
}

// Pages only staff may open: the path, who may, and the page.
const GUARDED: [string, "admin" | "root", ComponentType][] = [
  ["/channels", "admin", Channels],
  ["/users", "admin", Users],
  ["/redemptions", "admin", Redemptions],
  ["/settings", "root", Settings],
];

export function App() {
  const { ready, status, user } = useSession();
  const t = useT();
  if (!ready) return <p className="loading">{t("Loading…")}</p>;
  if (status && status.setup === false) return <Setup />;
  if (!user) {
    return (
      <Switch>
        <Route path="/register" component={Register} />
        <Route path="/login" component={Login} />
        <Route>
          <Redirect to="/login" />
        </Route>
      </Switch>
    );
  }
  return (
    <Layout>
      <Switch>
        <Route path="/" component={Dashboard} />
        <Route path="/tokens" component={Tokens} />
        <Route path="/logs" component={Logs} />
        <Route path="/profile" component={Profile} />
        {GUARDED.map(([path, level, Page]) => (
          <Route key={path} path={path}>
            <Guard level={level}>
              <Page />
            </Guard>
          </Route>
        ))}
        {["/login", "/register"].map((path) => (
          <Route key={path} path={path}>
            <Redirect to="/" />
          </Route>
        ))}
        <Route>
          <section className="card narrow">
            <h1>{t("Page not found")}</h1>
          </section>
        </Route>
      </Switch>
    </Layout>
  );
}
