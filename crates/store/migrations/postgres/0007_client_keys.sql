-- Client keys, teams and budgets (issue #17); see sqlite/0011_client_keys.sql for the meaning of
-- each column.

ALTER TABLE users ADD COLUMN budgets TEXT NOT NULL DEFAULT '[]';

CREATE TABLE teams (
    id UUID NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    budgets TEXT NOT NULL DEFAULT '[]',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX teams_name ON teams (lower(name));

CREATE TABLE team_members (
    team_id UUID NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE client_keys (
    id UUID NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash BYTEA NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    hint TEXT NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    team_id UUID REFERENCES teams (id) ON DELETE SET NULL,
    limits TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX client_keys_name ON client_keys (lower(name));
CREATE INDEX client_keys_user ON client_keys (user_id);
CREATE INDEX client_keys_team ON client_keys (team_id);

ALTER TABLE requests ADD COLUMN client_user TEXT;
ALTER TABLE requests ADD COLUMN client_team TEXT;
CREATE INDEX requests_client_user ON requests (client_user, started_at, id) WHERE client_user IS NOT NULL;
CREATE INDEX requests_client_team ON requests (client_team, started_at, id) WHERE client_team IS NOT NULL;
