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
    -- The file ids the message refers to, as the JSON array the sender
    -- gave; NULL when it gave none. Indexed in message_attachments.
    attachments  TEXT,
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

-- Which messages refer to which file: a file some message refers to is
-- kept for good; the others go 24 hours after their upload.
CREATE TABLE message_attachments (
    blob      TEXT NOT NULL,
    convo_id  TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (blob, convo_id, seq)
) WITHOUT ROWID;

-- The key directory (docs/E2E.md), written by the bridge. One identity
-- key per user; a new one (a reinstall) drops the user's bundles and
-- device list, which the old key signed.
CREATE TABLE identity_keys (
    user_id       TEXT PRIMARY KEY REFERENCES users (id),
    identity      TEXT NOT NULL,  -- Ed25519 public key, base64
    -- The signed device list as the bridge writes it out, NULL until one
    -- is published; a new list needs a larger version.
    device_list   TEXT,
    list_version  INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL
) WITHOUT ROWID;

-- One bundle per device, signed by its user's identity key.
CREATE TABLE device_bundles (
    user_id     TEXT NOT NULL REFERENCES users (id),
    device_id   INTEGER NOT NULL REFERENCES devices (id),
    device_key  TEXT NOT NULL,  -- X25519 public key, base64, as signed
    created     INTEGER NOT NULL,
    signature   TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;

-- One-time prekeys, at most 1,000 per device, each handed out once.
-- prekey_id is what the device called it: a number or a string.
CREATE TABLE prekeys (
    device_id   INTEGER NOT NULL REFERENCES devices (id),
    prekey_id   NOT NULL,  -- no type: kept as given
    public_key  TEXT NOT NULL,
    PRIMARY KEY (device_id, prekey_id)
);

-- Encrypted files, stored in blobs/ next to the database under their
-- BLAKE2b-256 in hex. uploaded_at is renewed by every finished upload of
-- the same content; kept is set once a message was found to refer to the
-- file, which then outlives the retention period.
CREATE TABLE blobs (
    hash         TEXT PRIMARY KEY,
    size         INTEGER NOT NULL,
    uploaded_at  INTEGER NOT NULL,
    kept         INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX blobs_unkept ON blobs (uploaded_at) WHERE kept = 0;

-- The conversations a file was uploaded for: their current members may
-- download it.
CREATE TABLE blob_conversations (
    blob      TEXT NOT NULL,
    convo_id  TEXT NOT NULL REFERENCES conversations (id),
    PRIMARY KEY (blob, convo_id)
) WITHOUT ROWID;

-- Uploads, from blob_begin until their file is deleted: they count
-- against their user's quota. blob is set by blob_end; until then the
-- chunks received are in blobs/partial/<id>.
CREATE TABLE uploads (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    convo_id     TEXT NOT NULL REFERENCES conversations (id),
    size         INTEGER NOT NULL,
    hash         TEXT NOT NULL,  -- expected BLAKE2b-256, hex
    type         TEXT,
    created_at   INTEGER NOT NULL,
    blob         TEXT,
    finished_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX uploads_by_user ON uploads (user_id);
CREATE INDEX uploads_by_blob ON uploads (blob) WHERE blob IS NOT NULL;
CREATE INDEX uploads_unfinished ON uploads (created_at) WHERE blob IS NULL;
