-- The control plane's own data (crates/store/src/admin): users, admin sessions, one-time login
-- links, sealed secrets. Times are microseconds since the Unix epoch (UTC), ids 16-byte UUIDs
-- (v7), token digests 32-byte SHA-256 values: no token is ever stored as it is.

-- The one users table (the teams issue extends it). Names are unique without regard to ASCII
-- case; `password_hash` is an Argon2id PHC string, NULL for a user who has no password.
CREATE TABLE users (
    id BLOB NOT NULL PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Looked up by the digest of the cookie; `id` is the public handle for listing and revoking.
CREATE TABLE admin_sessions (
    token_hash BLOB NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
    id BLOB NOT NULL UNIQUE,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_hash BLOB NOT NULL CHECK (length(csrf_hash) = 32),
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    client_addr TEXT,
    user_agent TEXT
);
CREATE INDEX admin_sessions_user ON admin_sessions (user_id);
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);

-- Redeemed by one conditional UPDATE (used_at IS NULL AND expires_at > now).
CREATE TABLE login_links (
    token_hash BLOB NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX login_links_user ON login_links (user_id);
CREATE INDEX login_links_expires ON login_links (expires_at);

-- The pool runs with foreign keys off (crates/store/src/sqlite/mod.rs), so the references above
-- are documentation; this trigger is what deletes a user's sessions and links with the user.
CREATE TRIGGER users_delete_cascade AFTER DELETE ON users
BEGIN
    DELETE FROM admin_sessions WHERE user_id = old.id;
    DELETE FROM login_links WHERE user_id = old.id;
END;

-- Secrets sealed with XChaCha20-Poly1305 under the master key `key_id` (a short hex of its
-- SHA-256); the secret's name is the associated data.
CREATE TABLE secrets (
    name TEXT NOT NULL PRIMARY KEY,
    key_id TEXT NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
