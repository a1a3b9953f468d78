-- Users, their device tokens, conversations, members and the message log.
-- Times are milliseconds since the Unix epoch.

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    -- 'service' accounts (the bridge) are privileged and never chat.
    kind        TEXT NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'service')),
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per device token. Only a keyed hash of the token is stored.
CREATE TABLE devices (
    id          INTEGER PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    token_hash  BLOB NOT NULL UNIQUE,
    label       TEXT,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX devices_by_user ON devices (user_id);
-- The plugin polls for fresh revocations to disconnect revoked devices.
CREATE INDEX devices_by_revocation ON devices (revoked_at)
    WHERE revoked_at IS NOT NULL;

CREATE TABLE conversations (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('direct', 'group', 'channel')),
    title       TEXT,
    -- For direct conversations: the two user ids, sorted, joined by '/'.
    -- Unique, so a pair of users has at most one direct conversation.
    direct_key  TEXT UNIQUE,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE members (
    convo_id       TEXT NOT NULL REFERENCES conversations (id),
    user_id        TEXT NOT NULL REFERENCES users (id),
    role           TEXT NOT NULL DEFAULT 'member'
                   CHECK (role IN ('member', 'admin')),
    -- The member sees messages with seq > joined_seq only.
    joined_seq     INTEGER NOT NULL DEFAULT 0,
    delivered_seq  INTEGER NOT NULL DEFAULT 0,
    read_seq       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (convo_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_by_user ON members (user_id, convo_id);

-- The durable log. seq is assigned by the bridge inside the transaction
-- that stores the message, so it is gap-free per conversation.
CREATE TABLE messages (
    convo_id  TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    id        INTEGER NOT NULL UNIQUE,
    sender    TEXT NOT NULL,
    cmid      TEXT NOT NULL,
    ts        INTEGER NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (convo_id, seq)
) WITHOUT ROWID;
-- Deduplication: one message per (conversation, sender, client message id).
CREATE UNIQUE INDEX messages_by_cmid ON messages (convo_id, sender, cmid);
