-- Users, their device tokens, conversations, members and the message log.
-- Times are milliseconds since the Unix epoch.

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    -- 'service' accounts (the bridge) are privileged and never chat.
    kind        TEXT NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'service')),
    created_at  INTEGER NOT NULL,
    -- Presence, written by the bridge from the plugin's hand-offs: shown
    -- online, and when the user was last seen going offline.
    online      INTEGER NOT NULL DEFAULT 0,
    last_seen   INTEGER,
    -- 1: nobody sees this user's presence, and it sees nobody's.
    hide_presence  INTEGER NOT NULL DEFAULT 0
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
CREATE INDEX users_online ON users (online) WHERE online = 1;
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
    -- 1 once messages go out once on {prefix}/c/{id} instead of to each
    -- member's inbox: always for channels, for groups past the fan-out cap.
    broadcast   INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    -- Written by the bridge: the broker has acknowledged the announcement
    -- (the live fan-out) of every message up to this seq. At start-up the
    -- bridge announces again the messages above it.
    announced_seq  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE members (
    convo_id       TEXT NOT NULL REFERENCES conversations (id),
    user_id        TEXT NOT NULL REFERENCES users (id),
    role           TEXT NOT NULL DEFAULT 'member'
                   CHECK (role IN ('member', 'admin')),
    -- The member sees messages with seq > joined_seq only, and, once it
    -- was removed or left, none after left_seq (the system message that
    -- records it). NULL while a member.
    joined_seq     INTEGER NOT NULL DEFAULT 0,
    left_seq       INTEGER,
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
    -- Stamped by the plugin with its node id, or made by the bridge (system
    -- messages) with node id 1023, which is reserved for it.
    id        INTEGER NOT NULL UNIQUE,
    sender    TEXT NOT NULL,
    cmid      TEXT NOT NULL,
    ts        INTEGER NOT NULL,
    -- NULL for what a member wrote; for system messages (membership
    -- changes) their type, with the event's JSON object as body.
    type      TEXT,
    body      TEXT NOT NULL,
    PRIMARY KEY (convo_id, seq)
) WITHOUT ROWID;
-- Deduplication: one message per (conversation, sender, client message id).
CREATE UNIQUE INDEX messages_by_cmid ON messages (convo_id, sender, cmid);
-- Receipts: a sender's newest message within a range of seqs.
CREATE INDEX messages_by_sender ON messages (convo_id, sender, seq);
-- System messages by who made them and their cmid ("op " and the request
-- id): a retried create_group finds the group it made, whose id it does
-- not know. Only system messages are indexed.
CREATE INDEX messages_by_operation ON messages (sender, cmid)
    WHERE type IS NOT NULL;

-- Requests from the admin CLI, run by the bridge (the only writer of
-- messages) so that group changes get their system messages like any
-- other. The CLI inserts a row and waits for the response.
CREATE TABLE admin_requests (
    id          INTEGER PRIMARY KEY,
    actor       TEXT NOT NULL,
    request     TEXT NOT NULL,
    response    TEXT,
    created_at  INTEGER NOT NULL,
    done_at     INTEGER
);
CREATE INDEX admin_requests_waiting ON admin_requests (id)
    WHERE done_at IS NULL;
