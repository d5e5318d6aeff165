-- Client keys, teams and budgets (issue #17; crates/store/src/keys). Times are microseconds since
-- the Unix epoch (UTC), ids 16-byte UUIDs (v7). Limits and budgets are JSON in the syntax of
-- `switchboard-limits` (`{"rpm": 60, "budgets": ["5usd/day", "opus:10usd/week"]}`); the store
-- keeps them as text and never reads them.

-- A user's budgets cap all of the user's keys together.
ALTER TABLE users ADD COLUMN budgets TEXT NOT NULL DEFAULT '[]';

-- A team's budgets cap all the keys charged to the team. Names are unique ignoring ASCII case.
CREATE TABLE teams (
    id BLOB NOT NULL PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE UNIQUE,
    budgets TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE team_members (
    team_id BLOB NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- A key is stored as its keyed digest (HMAC-SHA256 under a key kept in the secret store), never
-- as it is; `hint` is its masked form for lists (`sb-AbCdEfGh…wxyz`). Names are unique ignoring
-- ASCII case, revoked keys included: the request log names keys, so a name is never reused.
CREATE TABLE client_keys (
    id BLOB NOT NULL PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE UNIQUE,
    key_hash BLOB NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    hint TEXT NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    team_id BLOB REFERENCES teams (id) ON DELETE SET NULL,
    limits TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    last_used_at INTEGER
);
CREATE INDEX client_keys_user ON client_keys (user_id);
CREATE INDEX client_keys_team ON client_keys (team_id);

-- The pool runs with foreign keys off (see 0009): these triggers do what the references say.
CREATE TRIGGER users_delete_keys AFTER DELETE ON users
BEGIN
    DELETE FROM team_members WHERE user_id = old.id;
    DELETE FROM client_keys WHERE user_id = old.id;
END;
CREATE TRIGGER teams_delete_cascade AFTER DELETE ON teams
BEGIN
    DELETE FROM team_members WHERE team_id = old.id;
    UPDATE client_keys SET team_id = NULL WHERE team_id = old.id;
END;

-- The request log names the user and team of each request's key (the key's name is
-- `client_key`). Not in the hourly rollups: filters and breakdowns by user or team read the
-- rows through these indexes.
ALTER TABLE requests ADD COLUMN client_user TEXT;
ALTER TABLE requests ADD COLUMN client_team TEXT;
CREATE INDEX requests_client_user ON requests (client_user, started_at) WHERE client_user IS NOT NULL;
CREATE INDEX requests_client_team ON requests (client_team, started_at) WHERE client_team IS NOT NULL;
