/** @jsxImportSource hono/jsx */
// The page shell: one stylesheet and one script, both from /ui/assets (the Content-Security-Policy allows nothing
// else), a header with the way back to the list and, when signed in with a key, a sign-out button.
import type { Child } from "hono/jsx";

export interface Shell {
  title: string;
  /** Signed in through the login form (a cookie): offer to sign out. */
  signedIn: boolean;
}

export function Layout(props: Shell & { children?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${props.title} · fabra`}</title>
        <link rel="icon" href="/ui/favicon.ico" />
        <link rel="stylesheet" href="/ui/assets/app.css" />
        <script src="/ui/assets/app.js" defer />
      </head>
      <body>
        <header class="top">
          <a href="/ui">fabra · records</a>
          {props.signedIn ? (
            <form method="post" action="/ui/logout">
              <button type="submit">Sign out</button>
            </form>
          ) : null}
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

export function ErrorPage(props: Shell & { status: number; code: string; message: string; hint?: string }) {
  return (
    <Layout title={props.title} signedIn={props.signedIn}>
      <section class="card" id="error">
        <h1 class="bad">{`${props.status} ${props.code}`}</h1>
        <p>{props.message}</p>
        {props.hint ? <p class="muted">{props.hint}</p> : null}
        <p>
          <a href="/ui">Back to the records</a>
        </p>
      </section>
    </Layout>
  );
}

export function LoginPage(props: { next: string; error?: string; loopbackOnly: boolean }) {
  return (
    <Layout title="Sign in" signedIn={false}>
      <section class="card login" id="login">
        <h1>Sign in to the record viewer</h1>
        {props.loopbackOnly ? (
          <p class="bad">
            This server has no API keys configured, so it only accepts clients on its own host. Open the viewer from
            there, or set FABRA_API_KEYS on the server.
          </p>
        ) : (
          <form method="post" action="/ui/login">
            <input type="hidden" name="next" value={props.next} />
            <label for="key">API key (one of the server's FABRA_API_KEYS)</label>
            <input id="key" name="key" type="password" autocomplete="current-password" required />
            {props.error ? (
              <p class="bad" id="login-error">
                {props.error}
              </p>
            ) : null}
            <button class="primary" type="submit">
              Sign in
            </button>
          </form>
        )}
      </section>
    </Layout>
  );
}
