-- Who took a prekey of which device, and when: one user may take only a
-- few of one device's prekeys a day, so nobody can drain another user's
-- supply. Rows older than a day are deleted as claims come in.
CREATE TABLE prekey_claims (
    claimer     TEXT NOT NULL,
    device_id   INTEGER NOT NULL,
    claimed_at  INTEGER NOT NULL
);
CREATE INDEX prekey_claims_by_claimer
    ON prekey_claims (claimer, device_id, claimed_at);
CREATE INDEX prekey_claims_by_time ON prekey_claims (claimed_at);
