-- Browsers that signed in to an account: the sign-in limit per account spares them, so guessing
-- from many addresses cannot lock the owner out. The id is the SHA-256 of the cookie's token,
-- as for sessions, so a leaked table holds no usable cookie.
CREATE TABLE device_cookies (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX device_cookies_user_id_idx ON device_cookies (user_id, created_at);
