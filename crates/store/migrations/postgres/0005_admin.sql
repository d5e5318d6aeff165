-- The control plane's own data (crates/store/src/admin): users, admin sessions, one-time login
-- links, sealed secrets. Token digests are 32-byte SHA-256 values: no token is ever stored as it
-- is.

-- The one users table (the teams issue extends it). Names are unique without regard to case;
-- `password_hash` is an Argon2id PHC string, NULL for a user who has no password.
CREATE TABLE users (
    id UUID NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_name ON users (lower(name));

-- Looked up by the digest of the cookie; `id` is the public handle for listing and revoking.
CREATE TABLE admin_sessions (
    token_hash BYTEA NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
    id UUID NOT NULL UNIQUE,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_hash BYTEA NOT NULL CHECK (length(csrf_hash) = 32),
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    client_addr TEXT,
    user_agent TEXT
);
CREATE INDEX admin_sessions_user ON admin_sessions (user_id);
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);

-- Redeemed by one conditional UPDATE (used_at IS NULL AND expires_at > now).
CREATE TABLE login_links (
    token_hash BYTEA NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE INDEX login_links_user ON login_links (user_id);
CREATE INDEX login_links_expires ON login_links (expires_at);

-- Secrets sealed with XChaCha20-Poly1305 under the master key `key_id` (a short hex of its
-- SHA-256); the secret's name is the associated data.
CREATE TABLE secrets (
    name TEXT NOT NULL PRIMARY KEY,
    key_id TEXT NOT NULL,
    nonce BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
